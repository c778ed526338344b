package master

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/kubemesos/kubemesos/mesos-sim/allocator"
	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

// subscribe serves a SUBSCRIBE call: it answers 200 at once with a
// Mesos-Stream-Id and keeps the response open as the framework's event
// stream. Refusals that pass HTTP validation are a 200 with one ERROR event,
// as in Mesos.
func (m *Master) subscribe(w http.ResponseWriter, r *http.Request, call *scheduler.Call, principal string) {
	codec, herr := wire.ResponseCodec(r)
	if herr == nil && r.Header.Get(StreamIDHeader) != "" {
		herr = wire.Errorf(http.StatusBadRequest, "Subscribe calls should not include the '%s' header", StreamIDHeader)
	}
	info := clone(call.Subscribe.FrameworkInfo)
	if herr == nil && principal != "" && info.GetPrincipal() != principal {
		herr = wire.Errorf(http.StatusBadRequest,
			"Authenticated principal '%s' does not match principal '%s' set in `FrameworkInfo`", principal, info.GetPrincipal())
	}
	if herr != nil {
		herr.Write(w)
		return
	}

	stream := wire.NewStream(codec)
	stream.Split = splitOffers
	streamID := newUUID()

	m.mu.Lock()
	fw, err := m.subscribeLocked(stream, streamID, info, call.Subscribe.SuppressedRoles, principal)
	m.mu.Unlock()
	header := http.Header{StreamIDHeader: {streamID}}
	if err != nil {
		m.log.Info("refused framework subscription", "framework", info.GetName(), "reason", err.Error())
		stream.Close(errorEvent(err.Error()))
		_ = stream.Serve(r.Context(), w, header)
		return
	}
	_ = stream.Serve(r.Context(), w, header)

	m.mu.Lock()
	defer m.mu.Unlock()
	if fw.stream == stream {
		m.disconnectFramework(fw)
	}
}

// validateFrameworkInfo is Mesos' framework::validate.
func validateFrameworkInfo(info *mesos.FrameworkInfo, suppressed []string) error {
	caps := capsOf(info)
	if caps.multiRole {
		if info.Role != nil {
			return errors.New("'FrameworkInfo.role' must not be set when the framework has the MULTI_ROLE capability")
		}
	} else if len(info.Roles) > 0 {
		return errors.New("'FrameworkInfo.roles' must not be set without the MULTI_ROLE capability")
	}
	roles := frameworkRoles(info)
	seen := map[string]bool{}
	for _, role := range roles {
		if err := ValidateRole(role); err != nil {
			return fmt.Errorf("invalid role: %w", err)
		}
		if seen[role] {
			return fmt.Errorf("'FrameworkInfo.roles' contains duplicate role '%s'", role)
		}
		seen[role] = true
	}
	if t := info.FailoverTimeout; t != nil && (*t < 0 || math.IsNaN(*t) || math.IsInf(*t, 0)) {
		return fmt.Errorf("invalid 'FrameworkInfo.failover_timeout': %v", *t)
	}
	for _, role := range suppressed {
		if !seen[role] {
			return fmt.Errorf("suppressed role '%s' is not contained in the list of roles", role)
		}
	}
	for role := range info.OfferFilters {
		if !seen[role] {
			return fmt.Errorf("offer filters are set for role '%s' the framework is not subscribed to", role)
		}
	}
	return nil
}

func (m *Master) subscribeLocked(stream *wire.Stream, streamID string, info *mesos.FrameworkInfo, suppressed []string, principal string) (*framework, error) {
	if err := validateFrameworkInfo(info, suppressed); err != nil {
		return nil, err
	}
	now := m.clock.Now()
	id := info.GetID().GetValue()
	if id != "" && m.removedFrameworks[id] {
		return nil, errors.New("Framework has been removed")
	}
	fw := m.frameworks[id]
	if fw != nil {
		if fw.info.GetPrincipal() != info.GetPrincipal() {
			return nil, fmt.Errorf("Changing framework's principal is not allowed (from '%s' to '%s')",
				fw.info.GetPrincipal(), info.GetPrincipal())
		}
		// user and checkpoint are silently kept on re-subscription.
		info.User = fw.info.User
		info.Checkpoint = fw.info.Checkpoint
		if fw.stream != nil {
			m.log.Info("framework failed over", "framework_id", id)
			fw.stream.Close(errorEvent("Framework failed over"))
		}
		for _, o := range fw.offers {
			m.rescindOffer(o, false)
		}
		if fw.failoverTimer != nil {
			fw.failoverTimer.Stop()
			fw.failoverTimer = nil
		}
		fw.info = *info
		fw.roles = frameworkRoles(info)
		fw.caps = capsOf(info)
		fw.suppressed = toSet(suppressed)
		fw.reregisteredTime = now
		m.alloc.UpdateFramework(fw.id, allocatorFramework(fw))
		m.alloc.ActivateFramework(fw.id)
		m.emit(frameworkEvent(eventFrameworkUpdated, fw))
	} else {
		if id == "" {
			id = fmt.Sprintf("%s-%04d", m.info.ID, m.nextFramework)
			m.nextFramework++
			info.ID = &mesos.FrameworkID{Value: id}
		}
		fw = &framework{
			id:               id,
			info:             *info,
			principal:        principal,
			roles:            frameworkRoles(info),
			caps:             capsOf(info),
			suppressed:       toSet(suppressed),
			registeredTime:   now,
			tasks:            map[string]*task{},
			unreachableTasks: map[string]*task{},
			offers:           map[string]*offer{},
			executors:        map[string]map[string]*mesos.ExecutorInfo{},
		}
		m.frameworks[id] = fw
		used := map[string]mesos.Resources{}
		for agentID, ag := range m.agents {
			if r := m.usedOnAgent(fw, ag); len(r) > 0 {
				used[agentID] = r
			}
		}
		m.alloc.AddFramework(id, allocatorFramework(fw), used, true)
		m.emit(frameworkEvent(eventFrameworkAdded, fw))
		m.log.Info("framework subscribed", "framework_id", id, "name", info.Name, "roles", fw.roles)
	}
	fw.stream = stream
	fw.streamID = streamID
	fw.connected = true
	fw.active = true

	hb := m.cfg.HeartbeatInterval.Seconds()
	_ = stream.Send(&scheduler.Event{
		Type: scheduler.Event_SUBSCRIBED,
		Subscribed: &scheduler.Event_Subscribed{
			FrameworkID:              &mesos.FrameworkID{Value: fw.id},
			HeartbeatIntervalSeconds: &hb,
			MasterInfo:               &m.info,
		},
	})
	_ = stream.Send(heartbeatEvent())
	m.scheduleHeartbeat(fw, stream)
	m.requestAllocation()
	return fw, nil
}

func (m *Master) scheduleHeartbeat(fw *framework, stream *wire.Stream) {
	if fw.heartbeatTimer != nil {
		fw.heartbeatTimer.Stop()
	}
	fw.heartbeatTimer = m.clock.AfterFunc(m.cfg.HeartbeatInterval, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if fw.stream == stream {
			m.sendEvent(fw, heartbeatEvent())
			m.scheduleHeartbeat(fw, stream)
		}
	})
}

func toSet(xs []string) map[string]bool {
	s := make(map[string]bool, len(xs))
	for _, x := range xs {
		s[x] = true
	}
	return s
}

func allocatorFramework(fw *framework) allocator.Framework {
	var suppressed []string
	for _, role := range fw.roles {
		if fw.suppressed[role] {
			suppressed = append(suppressed, role)
		}
	}
	var minAlloc map[string][]map[string]float64
	for role, f := range fw.info.OfferFilters {
		if f.MinAllocatableResources == nil {
			continue
		}
		if minAlloc == nil {
			minAlloc = map[string][]map[string]float64{}
		}
		sets := []map[string]float64{}
		for _, q := range f.MinAllocatableResources.Quantities {
			set := map[string]float64{}
			for name, v := range q.Quantities {
				set[name] = v.Value
			}
			sets = append(sets, set)
		}
		minAlloc[role] = sets
	}
	return allocator.Framework{
		Roles:           fw.roles,
		SuppressedRoles: suppressed,
		MultiRole:       fw.caps.multiRole,
		GPUResources:    fw.caps.gpu,
		MinAllocatable:  minAlloc,
	}
}

// disconnectFramework handles a broken subscription stream: the framework
// stops getting offers and is removed when its failover timeout expires.
func (m *Master) disconnectFramework(fw *framework) {
	m.log.Info("framework disconnected", "framework_id", fw.id)
	fw.stream = nil
	fw.streamID = ""
	fw.connected = false
	fw.active = false
	fw.unregisteredTime = m.clock.Now()
	if fw.heartbeatTimer != nil {
		fw.heartbeatTimer.Stop()
		fw.heartbeatTimer = nil
	}
	m.alloc.DeactivateFramework(fw.id)
	for _, o := range fw.offers {
		m.rescindOffer(o, false)
	}
	timeout := time.Duration(fw.info.GetFailoverTimeout() * float64(time.Second))
	if timeout <= 0 {
		m.removeFramework(fw, "")
		return
	}
	fw.failoverTimer = m.clock.AfterFunc(timeout, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if cur := m.frameworks[fw.id]; cur == fw && !fw.connected {
			m.log.Info("framework failover timeout expired", "framework_id", fw.id, "timeout", timeout)
			m.removeFramework(fw, "")
		}
	})
	m.emit(frameworkEvent(eventFrameworkUpdated, fw))
}

// removeFramework tears a framework down: its offers are recovered, its tasks
// killed and its executors shut down, and it moves to the completed
// frameworks. errMsg, if set, is sent as an ERROR event before the stream is
// closed.
func (m *Master) removeFramework(fw *framework, errMsg string) {
	if fw.stream != nil {
		var last *scheduler.Event
		if errMsg != "" {
			last = errorEvent(errMsg)
		}
		fw.stream.Close(last)
		fw.stream = nil
	}
	fw.connected = false
	fw.active = false
	if fw.failoverTimer != nil {
		fw.failoverTimer.Stop()
	}
	if fw.heartbeatTimer != nil {
		fw.heartbeatTimer.Stop()
	}
	for _, o := range fw.offers {
		m.rescindOffer(o, false)
	}
	agentsWithWork := map[string]bool{}
	for _, t := range fw.tasks {
		agentsWithWork[t.agentID] = true
		if !isTerminal(t.state()) {
			st := m.masterStatus(t, mesos.TASK_KILLED, mesos.REASON_FRAMEWORK_REMOVED, "Framework "+fw.id+" removed")
			m.applyStatus(t, st)
		}
		m.removeTask(t)
	}
	for _, t := range fw.unreachableTasks {
		m.archiveTask(fw, &t.t)
	}
	fw.unreachableTasks = map[string]*task{}
	fw.unreachableOrder = nil
	for agentID, execs := range fw.executors {
		agentsWithWork[agentID] = true
		for execID := range execs {
			m.removeExecutor(fw, agentID, execID)
		}
	}
	for agentID := range agentsWithWork {
		if ag := m.agents[agentID]; ag != nil {
			ag.link.ShutdownFramework(fw.id)
		}
	}
	m.alloc.RemoveFramework(fw.id)
	delete(m.frameworks, fw.id)
	m.removedFrameworks[fw.id] = true
	fw.unregisteredTime = m.clock.Now()
	m.completedFrameworks = append(m.completedFrameworks, fw)
	if n := len(m.completedFrameworks) - m.cfg.MaxCompletedFrameworks; n > 0 {
		m.completedFrameworks = append([]*framework(nil), m.completedFrameworks[n:]...)
	}
	m.emit(frameworkEvent(eventFrameworkRemoved, fw))
	m.log.Info("framework removed", "framework_id", fw.id)
	m.requestAllocation()
}

// updateFramework is UPDATE_FRAMEWORK: all or nothing.
func (m *Master) updateFramework(fw *framework, u *scheduler.Call_UpdateFramework) *wire.Error {
	info := clone(&u.FrameworkInfo)
	if info.GetID().GetValue() != fw.id {
		return wire.Errorf(http.StatusBadRequest, "Updating 'FrameworkInfo.id' is not allowed")
	}
	if err := validateFrameworkInfo(info, u.SuppressedRoles); err != nil {
		return wire.Errorf(http.StatusBadRequest, "%v", err)
	}
	switch {
	case info.GetPrincipal() != fw.info.GetPrincipal():
		return wire.Errorf(http.StatusBadRequest, "Updating 'FrameworkInfo.principal' is unsupported")
	case info.User != fw.info.User:
		return wire.Errorf(http.StatusBadRequest, "Updating 'FrameworkInfo.user' is unsupported")
	case info.GetCheckpoint() != fw.info.GetCheckpoint():
		return wire.Errorf(http.StatusBadRequest, "Updating 'FrameworkInfo.checkpoint' is unsupported")
	}
	newRoles := toSet(frameworkRoles(info))
	for _, o := range fw.offers {
		if !newRoles[o.role] {
			m.rescindOffer(o, true)
		}
	}
	fw.info = *info
	fw.roles = frameworkRoles(info)
	fw.caps = capsOf(info)
	oldSuppressed := fw.suppressed
	fw.suppressed = toSet(u.SuppressedRoles)
	m.alloc.UpdateFramework(fw.id, allocatorFramework(fw))
	var unsuppressed []string
	for role := range oldSuppressed {
		if !fw.suppressed[role] && newRoles[role] {
			unsuppressed = append(unsuppressed, role)
		}
	}
	if len(unsuppressed) > 0 {
		m.alloc.Revive(fw.id, unsuppressed)
	}
	m.emit(frameworkEvent(eventFrameworkUpdated, fw))
	m.requestAllocation()
	return nil
}

// revive is REVIVE: unsuppress the roles and clear their filters. A role the
// framework is not subscribed to drops the whole call (still 202).
func (m *Master) revive(fw *framework, roles []string) (int, *wire.Error) {
	if !m.subscribedRoles(fw, roles) {
		m.log.Warn("dropping REVIVE naming a role the framework is not subscribed to", "framework_id", fw.id, "roles", roles)
		return http.StatusAccepted, nil
	}
	if len(roles) == 0 {
		roles = fw.roles
	}
	for _, role := range roles {
		delete(fw.suppressed, role)
	}
	m.alloc.Revive(fw.id, roles)
	m.requestAllocation()
	return http.StatusAccepted, nil
}

// suppress is SUPPRESS: no more offers for the roles until REVIVE.
func (m *Master) suppress(fw *framework, roles []string) (int, *wire.Error) {
	if !m.subscribedRoles(fw, roles) {
		m.log.Warn("dropping SUPPRESS naming a role the framework is not subscribed to", "framework_id", fw.id, "roles", roles)
		return http.StatusAccepted, nil
	}
	if len(roles) == 0 {
		roles = fw.roles
	}
	for _, role := range roles {
		fw.suppressed[role] = true
	}
	m.alloc.Suppress(fw.id, roles)
	return http.StatusAccepted, nil
}

func (m *Master) subscribedRoles(fw *framework, roles []string) bool {
	subscribed := toSet(fw.roles)
	for _, r := range roles {
		if !subscribed[r] {
			return false
		}
	}
	return true
}
