package master

import (
	"net/http"

	opapi "github.com/mesos/mesos-go/api/v1/lib/master"

	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

// serveAPI is POST /api/v1, the v1 operator API. The checks run in the
// order Apache Mesos runs them (src/master/http.cpp, Master::Http::api):
// method, Content-Type, body, validation, then Accept. Synchronous calls
// answer 200 with a typed Response; mutations answer 200 with no body (and
// so no Content-Type, which mesos-go requires of them); SUBSCRIBE answers
// with an event stream.
func (op *operator) serveAPI(w http.ResponseWriter, r *http.Request) {
	herr := wire.RequirePOST(r)
	var codec wire.Codec
	if herr == nil {
		codec, herr = wire.RequestCodec(r)
	}
	call := &opapi.Call{}
	if herr == nil {
		herr = wire.ReadCall(r, codec, call, "Call")
	}
	if herr == nil {
		herr = validateOperatorCall(call)
	}
	var accept wire.Codec
	if herr == nil {
		accept, herr = wire.ResponseCodec(r)
	}
	if herr != nil {
		herr.Write(w)
		return
	}
	if call.Type == opapi.Call_SUBSCRIBE {
		op.subscribe(w, r, accept)
		return
	}
	resp, herr := op.call(call)
	switch {
	case herr != nil:
		herr.Write(w)
	case resp == nil:
		w.WriteHeader(http.StatusOK)
	default:
		wire.WriteMessage(w, accept, resp)
	}
}

// validateOperatorCall is Mesos' master::call::validate: a known type and,
// for calls that carry arguments, their message.
func validateOperatorCall(call *opapi.Call) *wire.Error {
	bad := func(format string, args ...any) *wire.Error {
		return wire.Errorf(http.StatusBadRequest, "Failed to validate master::Call: "+format, args...)
	}
	if _, known := opapi.Call_Type_name[int32(call.Type)]; !known || call.Type == opapi.Call_UNKNOWN {
		// Mesos sees an absent or unknown type as no type at all.
		return bad("Expecting 'type' to be present")
	}
	var missing string
	switch call.Type {
	case opapi.Call_GET_METRICS:
		if call.GetMetrics == nil {
			missing = "get_metrics"
		}
	case opapi.Call_SET_LOGGING_LEVEL:
		if call.SetLoggingLevel == nil {
			missing = "set_logging_level"
		}
	case opapi.Call_LIST_FILES:
		if call.ListFiles == nil {
			missing = "list_files"
		}
	case opapi.Call_READ_FILE:
		if call.ReadFile == nil {
			missing = "read_file"
		}
	case opapi.Call_UPDATE_WEIGHTS:
		if call.UpdateWeights == nil {
			missing = "update_weights"
		}
	case opapi.Call_RESERVE_RESOURCES:
		if call.ReserveResources == nil {
			missing = "reserve_resources"
		}
	case opapi.Call_UNRESERVE_RESOURCES:
		if call.UnreserveResources == nil {
			missing = "unreserve_resources"
		}
	case opapi.Call_CREATE_VOLUMES:
		if call.CreateVolumes == nil {
			missing = "create_volumes"
		}
	case opapi.Call_DESTROY_VOLUMES:
		if call.DestroyVolumes == nil {
			missing = "destroy_volumes"
		}
	case opapi.Call_GROW_VOLUME:
		if call.GrowVolume == nil {
			missing = "grow_volume"
		}
	case opapi.Call_SHRINK_VOLUME:
		if call.ShrinkVolume == nil {
			missing = "shrink_volume"
		}
	case opapi.Call_UPDATE_MAINTENANCE_SCHEDULE:
		if call.UpdateMaintenanceSchedule == nil {
			missing = "update_maintenance_schedule"
		}
	case opapi.Call_START_MAINTENANCE:
		if call.StartMaintenance == nil {
			missing = "start_maintenance"
		}
	case opapi.Call_STOP_MAINTENANCE:
		if call.StopMaintenance == nil {
			missing = "stop_maintenance"
		}
	case opapi.Call_DRAIN_AGENT:
		if call.DrainAgent == nil {
			missing = "drain_agent"
		}
	case opapi.Call_DEACTIVATE_AGENT:
		if call.DeactivateAgent == nil {
			missing = "deactivate_agent"
		}
	case opapi.Call_REACTIVATE_AGENT:
		if call.ReactivateAgent == nil {
			missing = "reactivate_agent"
		}
	case opapi.Call_UPDATE_QUOTA:
		if call.UpdateQuota == nil {
			missing = "update_quota"
		}
	case opapi.Call_SET_QUOTA:
		if call.SetQuota == nil {
			missing = "set_quota"
		}
	case opapi.Call_REMOVE_QUOTA:
		if call.RemoveQuota == nil {
			missing = "remove_quota"
		}
	case opapi.Call_TEARDOWN:
		if call.Teardown == nil {
			missing = "teardown"
		}
	case opapi.Call_MARK_AGENT_GONE:
		if call.MarkAgentGone == nil {
			missing = "mark_agent_gone"
		}
	}
	if missing != "" {
		return bad("Expecting '%s' to be present", missing)
	}
	return nil
}

// call carries out a validated call other than SUBSCRIBE. It returns the
// response of a synchronous call, or nil for a mutation that succeeded.
func (op *operator) call(call *opapi.Call) (*opapi.Response, *wire.Error) {
	m := op.m
	switch call.Type {
	case opapi.Call_GET_HEALTH:
		return &opapi.Response{Type: opapi.Response_GET_HEALTH, GetHealth: &opapi.Response_GetHealth{Healthy: true}}, nil
	case opapi.Call_GET_FLAGS:
		return &opapi.Response{Type: opapi.Response_GET_FLAGS, GetFlags: &opapi.Response_GetFlags{Flags: op.flags}}, nil
	case opapi.Call_GET_VERSION:
		return &opapi.Response{Type: opapi.Response_GET_VERSION, GetVersion: &opapi.Response_GetVersion{VersionInfo: op.build}}, nil
	case opapi.Call_GET_METRICS:
		return &opapi.Response{Type: opapi.Response_GET_METRICS, GetMetrics: &opapi.Response_GetMetrics{Metrics: op.metrics().protos()}}, nil
	case opapi.Call_GET_MASTER:
		return &opapi.Response{Type: opapi.Response_GET_MASTER, GetMaster: op.getMaster()}, nil
	case opapi.Call_GET_STATE, opapi.Call_GET_AGENTS, opapi.Call_GET_FRAMEWORKS, opapi.Call_GET_EXECUTORS, opapi.Call_GET_TASKS:
		v := op.takeView()
		defer op.releaseView(v)
		switch call.Type {
		case opapi.Call_GET_STATE:
			return &opapi.Response{Type: opapi.Response_GET_STATE, GetState: v1State(v)}, nil
		case opapi.Call_GET_AGENTS:
			return &opapi.Response{Type: opapi.Response_GET_AGENTS, GetAgents: v1Agents(v)}, nil
		case opapi.Call_GET_FRAMEWORKS:
			return &opapi.Response{Type: opapi.Response_GET_FRAMEWORKS, GetFrameworks: v1Frameworks(v)}, nil
		case opapi.Call_GET_EXECUTORS:
			return &opapi.Response{Type: opapi.Response_GET_EXECUTORS, GetExecutors: v1Executors(v)}, nil
		default:
			return &opapi.Response{Type: opapi.Response_GET_TASKS, GetTasks: v1Tasks(v)}, nil
		}
	case opapi.Call_GET_OPERATIONS:
		// Offer operations never get feedback ids in mesos-sim, so the
		// master knows of no operations.
		return &opapi.Response{Type: opapi.Response_GET_OPERATIONS, GetOperations: &opapi.Response_GetOperations{}}, nil
	case opapi.Call_GET_ROLES:
		m.mu.Lock()
		defer m.mu.Unlock()
		return &opapi.Response{Type: opapi.Response_GET_ROLES, GetRoles: &opapi.Response_GetRoles{Roles: m.rolesLocked()}}, nil
	case opapi.Call_GET_WEIGHTS:
		m.mu.Lock()
		defer m.mu.Unlock()
		return &opapi.Response{Type: opapi.Response_GET_WEIGHTS, GetWeights: &opapi.Response_GetWeights{WeightInfos: m.weightInfosLocked()}}, nil
	case opapi.Call_UPDATE_WEIGHTS:
		return nil, m.updateWeights(call.UpdateWeights.WeightInfos)
	case opapi.Call_GET_QUOTA:
		m.mu.Lock()
		defer m.mu.Unlock()
		return &opapi.Response{Type: opapi.Response_GET_QUOTA, GetQuota: &opapi.Response_GetQuota{Status: m.quotaStatusLocked()}}, nil
	case opapi.Call_UPDATE_QUOTA:
		return nil, m.updateQuota(call.UpdateQuota.QuotaConfigs, call.UpdateQuota.GetForce())
	case opapi.Call_SET_QUOTA:
		return nil, m.setQuota(&call.SetQuota.QuotaRequest)
	case opapi.Call_REMOVE_QUOTA:
		return nil, m.removeQuota(call.RemoveQuota.Role)
	case opapi.Call_GET_MAINTENANCE_STATUS:
		// mesos-sim has no maintenance schedule: no machine is draining or
		// down.
		return &opapi.Response{Type: opapi.Response_GET_MAINTENANCE_STATUS, GetMaintenanceStatus: &opapi.Response_GetMaintenanceStatus{}}, nil
	case opapi.Call_GET_MAINTENANCE_SCHEDULE:
		return &opapi.Response{Type: opapi.Response_GET_MAINTENANCE_SCHEDULE, GetMaintenanceSchedule: &opapi.Response_GetMaintenanceSchedule{}}, nil
	case opapi.Call_TEARDOWN:
		return nil, m.teardown(call.Teardown.FrameworkID.Value)
	case opapi.Call_MARK_AGENT_GONE:
		return nil, m.markAgentGone(call.MarkAgentGone.AgentID.Value)
	case opapi.Call_DEACTIVATE_AGENT:
		return nil, m.deactivateAgent(call.DeactivateAgent.AgentID.Value)
	case opapi.Call_REACTIVATE_AGENT:
		return nil, m.reactivateAgent(call.ReactivateAgent.AgentID.Value)
	}
	return nil, wire.Errorf(http.StatusNotImplemented, "mesos-sim does not implement the operator call %s", call.Type)
}

// teardown is TEARDOWN: the framework is removed as if it had torn itself
// down (tasks killed, executors shut down, moved to the completed ones).
func (m *Master) teardown(frameworkID string) *wire.Error {
	m.mu.Lock()
	defer m.mu.Unlock()
	fw := m.frameworks[frameworkID]
	if fw == nil {
		return wire.Errorf(http.StatusBadRequest, "No framework found with specified ID")
	}
	m.log.Info("operator tore down framework", "framework_id", frameworkID)
	if fw.stream != nil {
		// The framework's stream just ends, with no ERROR event.
		fw.stream.Close(nil)
		fw.stream = nil
	}
	m.removeFramework(fw, "")
	return nil
}

// markAgentGone is MARK_AGENT_GONE: 404 for an agent the master never knew
// (Mesos' answer), 200 otherwise, also when it was marked gone before.
func (m *Master) markAgentGone(agentID string) *wire.Error {
	if err := m.MarkGone(agentID); err != nil {
		return wire.Errorf(http.StatusNotFound, "Agent '%s' not found", agentID)
	}
	m.log.Info("operator marked agent gone", "agent_id", agentID)
	return nil
}

// deactivateAgent is DEACTIVATE_AGENT. Mesos also remembers deactivations
// of unreachable agents for when they come back; mesos-sim deactivates
// registered agents only and says so with a 409.
func (m *Master) deactivateAgent(agentID string) *wire.Error {
	m.mu.Lock()
	_, registered := m.agents[agentID]
	_, unreachable := m.unreachableAgents[agentID]
	m.mu.Unlock()
	switch {
	case unreachable && !registered:
		return wire.Errorf(http.StatusConflict, "Agent '%s' is unreachable; mesos-sim can only deactivate registered agents", agentID)
	case !registered:
		return wire.Errorf(http.StatusBadRequest, "Unknown agent")
	}
	if err := m.DeactivateAgent(agentID); err != nil {
		return wire.Errorf(http.StatusConflict, "Agent removed while processing the call: %v", err)
	}
	m.log.Info("operator deactivated agent", "agent_id", agentID)
	return nil
}

// reactivateAgent is REACTIVATE_AGENT: the agent must be deactivated.
func (m *Master) reactivateAgent(agentID string) *wire.Error {
	m.mu.Lock()
	ag := m.agents[agentID]
	deactivated := ag != nil && !ag.active
	m.mu.Unlock()
	if !deactivated {
		return wire.Errorf(http.StatusBadRequest, "Agent is not deactivated")
	}
	if err := m.ReactivateAgent(agentID); err != nil {
		return wire.Errorf(http.StatusConflict, "Agent removed while processing the call: %v", err)
	}
	m.log.Info("operator reactivated agent", "agent_id", agentID)
	return nil
}

// serveTeardown is the pre-v1 POST /master/teardown with a form body
// frameworkId=<id>.
func (op *operator) serveTeardown(w http.ResponseWriter, r *http.Request) {
	if herr := wire.RequirePOST(r); herr != nil {
		herr.Write(w)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		wire.Errorf(http.StatusBadRequest, "Unable to decode query string: %v", err).Write(w)
		return
	}
	id := r.PostForm.Get("frameworkId")
	if id == "" {
		wire.Errorf(http.StatusBadRequest, "Missing 'frameworkId' query parameter in the request body").Write(w)
		return
	}
	if herr := op.m.teardown(id); herr != nil {
		herr.Write(w)
		return
	}
	w.WriteHeader(http.StatusOK)
}
