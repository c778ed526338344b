package master

import (
	"net/http"
	"runtime"
	"sort"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// The state endpoints copy what they show under the master's lock into a
// stateView, release the lock, and render the view as JSON. Copies are
// shallow: a task's value is copied, while what its fields point to
// (resources, statuses, labels) is never modified in place by the master —
// it only replaces or appends — so reading it without the lock is safe.

// stateView is the part of the master's state that the state endpoints
// render.
type stateView struct {
	info              mesos.MasterInfo
	start             time.Time
	agents            []agentView
	unreachableAgents int
	frameworks        []frameworkView
	completed         []frameworkView
	// tasks backs every frameworkView's tasks and unreachable slices; it is
	// pooled between requests.
	tasks *[]mesos.Task
}

// agentView is a registered agent.
type agentView struct {
	info         mesos.AgentInfo
	endpoint     string
	active       bool
	version      string
	caps         []mesos.AgentInfo_Capability
	registered   time.Time
	reregistered time.Time
	used         resourceSummary
	offered      resourceSummary
}

// executorView is an executor of a framework on an agent.
type executorView struct {
	agentID string
	info    *mesos.ExecutorInfo
}

// frameworkView is a registered or completed framework.
type frameworkView struct {
	info         mesos.FrameworkInfo
	active       bool
	connected    bool
	multiRole    bool
	registered   time.Time
	reregistered time.Time
	unregistered time.Time
	tasks        []mesos.Task
	unreachable  []mesos.Task
	completed    []*mesos.Task
	offers       []*mesos.Offer
	executors    []executorView
	used         resourceSummary
	offered      resourceSummary
}

// viewLocked copies the state into v. The caller holds m.mu. taskStore is
// reused for the task copies when it is large enough.
func (m *Master) viewLocked(v *stateView, taskStore *[]mesos.Task) {
	v.info = m.info
	v.start = m.startTime
	v.unreachableAgents = len(m.unreachableAgents)
	v.agents = make([]agentView, 0, len(m.agents))
	for _, ag := range m.agents {
		v.agents = append(v.agents, agentView{
			info:         ag.info,
			endpoint:     ag.endpoint,
			active:       ag.active,
			version:      ag.version,
			caps:         ag.caps,
			registered:   ag.registeredTime,
			reregistered: ag.reregisteredTime,
		})
	}
	n := 0
	for _, fw := range m.frameworks {
		n += len(fw.tasks) + len(fw.unreachableTasks)
	}
	for _, fw := range m.completedFrameworks {
		n += len(fw.tasks) + len(fw.unreachableTasks)
	}
	store := (*taskStore)[:0]
	if cap(store) < n {
		store = make([]mesos.Task, 0, n)
	}
	v.frameworks = make([]frameworkView, 0, len(m.frameworks))
	for _, fw := range m.frameworks {
		var fv frameworkView
		store = copyFramework(&fv, fw, store)
		v.frameworks = append(v.frameworks, fv)
	}
	v.completed = make([]frameworkView, 0, len(m.completedFrameworks))
	for _, fw := range m.completedFrameworks {
		var fv frameworkView
		store = copyFramework(&fv, fw, store)
		v.completed = append(v.completed, fv)
	}
	*taskStore = store
	v.tasks = taskStore
}

// copyFramework fills fv from fw, appending task copies to store, which has
// room for them, and returns store.
func copyFramework(fv *frameworkView, fw *framework, store []mesos.Task) []mesos.Task {
	fv.info = fw.info
	fv.active = fw.active
	fv.connected = fw.connected
	fv.multiRole = fw.caps.multiRole
	fv.registered = fw.registeredTime
	fv.reregistered = fw.reregisteredTime
	fv.unregistered = fw.unregisteredTime
	start := len(store)
	for _, t := range fw.tasks {
		store = append(store, t.t)
	}
	fv.tasks = store[start:len(store):len(store)]
	start = len(store)
	for _, id := range fw.unreachableOrder {
		if t := fw.unreachableTasks[id]; t != nil {
			store = append(store, t.t)
		}
	}
	fv.unreachable = store[start:len(store):len(store)]
	// Completed tasks are never modified once archived.
	fv.completed = append([]*mesos.Task(nil), fw.completedTasks...)
	fv.offers = make([]*mesos.Offer, 0, len(fw.offers))
	for _, o := range fw.offers {
		fv.offers = append(fv.offers, o.o)
	}
	for agentID, execs := range fw.executors {
		for _, e := range execs {
			fv.executors = append(fv.executors, executorView{agentID: agentID, info: e})
		}
	}
	return store
}

// aggregate computes the used and offered resources of agents and
// frameworks, as Mesos keeps them: live (non-terminal) tasks plus executors,
// and outstanding offers.
func (v *stateView) aggregate() {
	byID := make(map[string]*agentView, len(v.agents))
	for i := range v.agents {
		byID[v.agents[i].info.GetID().GetValue()] = &v.agents[i]
	}
	for fi := range v.frameworks {
		f := &v.frameworks[fi]
		for ti := range f.tasks {
			t := &f.tasks[ti]
			if isTerminal(t.GetState()) {
				continue
			}
			f.used.add(t.Resources)
			if ag := byID[t.AgentID.Value]; ag != nil {
				ag.used.add(t.Resources)
			}
		}
		for _, e := range f.executors {
			f.used.add(e.info.Resources)
			if ag := byID[e.agentID]; ag != nil {
				ag.used.add(e.info.Resources)
			}
		}
		for _, o := range f.offers {
			f.offered.add(o.Resources)
			if ag := byID[o.AgentID.Value]; ag != nil {
				ag.offered.add(o.Resources)
			}
		}
	}
}

// renderer writes state JSON. It carries scratch space for resource
// summaries.
type renderer struct {
	jsonWriter
	scratch resourceSummary
	spare   [][]byte // chunk buffers of parallel task rendering, for reuse
}

// Large task lists are rendered by several goroutines, a chunk each, and
// written in order: the output is the same byte for byte, and no more than
// a few chunks are in memory at once.
const (
	parallelTasks = 4096 // lists at least this long are rendered in parallel
	taskChunk     = 1024 // tasks per chunk
)

// tasks writes n tasks, comma-separated; at(i) is the i-th.
func (r *renderer) tasks(n int, at func(i int) *mesos.Task) {
	workers := runtime.GOMAXPROCS(0)
	if n < parallelTasks || workers < 2 {
		for i := 0; i < n; i++ {
			if i > 0 {
				r.b = append(r.b, ',')
			}
			r.task(at(i))
		}
		return
	}
	chunks := (n + taskChunk - 1) / taskChunk
	inFlight := 2 * workers
	free := make(chan []byte, inFlight)
	for i := 0; i < inFlight; i++ {
		var buf []byte
		if len(r.spare) > 0 {
			buf, r.spare = r.spare[len(r.spare)-1], r.spare[:len(r.spare)-1]
		}
		free <- buf
	}
	rendered := make([]chan []byte, chunks)
	for c := range rendered {
		rendered[c] = make(chan []byte, 1)
	}
	// Buffers are handed out in chunk order, with the chunk: a chunk
	// waiting for the writer never holds the buffer an earlier one needs.
	type job struct {
		chunk int
		buf   []byte
	}
	next := make(chan job)
	go func() {
		defer close(next)
		for c := 0; c < chunks; c++ {
			next <- job{c, (<-free)[:0]}
		}
	}()
	for w := 0; w < workers; w++ {
		go func() {
			var wr renderer // no writer: renders into its buffer only
			for j := range next {
				wr.b = j.buf
				for i := j.chunk * taskChunk; i < min(n, (j.chunk+1)*taskChunk); i++ {
					if i > 0 {
						wr.b = append(wr.b, ',')
					}
					wr.task(at(i))
				}
				rendered[j.chunk] <- wr.b
			}
		}()
	}
	for c := range rendered {
		buf := <-rendered[c]
		r.b = append(r.b, buf...)
		r.maybeFlush()
		free <- buf
	}
	for i := 0; i < inFlight; i++ {
		r.spare = append(r.spare, <-free)
	}
}

// task writes a task in Mesos' JSON model. Task data never appears: the
// model has no field for it.
func (r *renderer) task(t *mesos.Task) {
	b := r.b
	b = append(b, `{"id":`...)
	b = appendString(b, t.TaskID.Value)
	b = append(b, `,"name":`...)
	b = appendString(b, t.Name)
	b = append(b, `,"framework_id":`...)
	b = appendString(b, t.FrameworkID.Value)
	b = append(b, `,"executor_id":`...)
	b = appendString(b, t.GetExecutorID().GetValue())
	b = append(b, `,"slave_id":`...)
	b = appendString(b, t.AgentID.Value)
	b = append(b, `,"state":`...)
	b = appendString(b, t.GetState().String())
	b = append(b, `,"resources":`...)
	b = appendResources(b, t.Resources, &r.scratch)
	b = append(b, `,"role":`...)
	b = appendString(b, resourceRole(t.Resources))
	b = append(b, `,"statuses":[`...)
	for i := range t.Statuses {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendStatus(b, &t.Statuses[i])
	}
	b = append(b, ']')
	if t.User != nil {
		b = append(b, `,"user":`...)
		b = appendString(b, *t.User)
	}
	if t.Labels != nil {
		b = append(b, `,"labels":`...)
		b = appendLabels(b, t.Labels)
	}
	if t.Discovery != nil {
		b = append(b, `,"discovery":`...)
		b = appendProtoJSON(b, t.Discovery)
	}
	if t.Container != nil {
		b = append(b, `,"container":`...)
		b = appendProtoJSON(b, t.Container)
	}
	r.b = append(b, '}')
	r.maybeFlush()
}

// appendStatus appends a task status in Mesos' JSON model (state,
// timestamp, labels, container status, health; never data or message).
func appendStatus(b []byte, st *mesos.TaskStatus) []byte {
	b = append(b, `{"state":`...)
	b = appendString(b, st.GetState().String())
	b = append(b, `,"timestamp":`...)
	b = appendFloat(b, st.GetTimestamp())
	if st.Labels != nil {
		b = append(b, `,"labels":`...)
		b = appendLabels(b, st.Labels)
	}
	if st.ContainerStatus != nil {
		b = append(b, `,"container_status":`...)
		b = appendProtoJSON(b, st.ContainerStatus)
	}
	if st.Healthy != nil {
		b = append(b, `,"healthy":`...)
		b = appendBool(b, *st.Healthy)
	}
	return append(b, '}')
}

// executor writes an executor in Mesos' JSON model.
func (r *renderer) executor(e executorView) {
	x := e.info
	b := r.b
	b = append(b, `{"executor_id":`...)
	b = appendString(b, x.ExecutorID.Value)
	b = append(b, `,"name":`...)
	b = appendString(b, x.GetName())
	b = append(b, `,"framework_id":`...)
	b = appendString(b, x.GetFrameworkID().GetValue())
	b = append(b, `,"command":`...)
	b = appendCommand(b, x.Command)
	b = append(b, `,"resources":`...)
	b = appendResources(b, x.Resources, &r.scratch)
	if len(x.Resources) > 0 {
		b = append(b, `,"role":`...)
		b = appendString(b, resourceRole(x.Resources))
	}
	if x.Labels != nil {
		b = append(b, `,"labels":`...)
		b = appendLabels(b, x.Labels)
	}
	if x.Type != mesos.ExecutorInfo_UNKNOWN {
		b = append(b, `,"type":`...)
		b = appendString(b, x.Type.String())
	}
	b = append(b, `,"slave_id":`...)
	b = appendString(b, e.agentID)
	r.b = append(b, '}')
	r.maybeFlush()
}

// appendCommand appends a CommandInfo in Mesos' JSON model.
func appendCommand(b []byte, c *mesos.CommandInfo) []byte {
	b = append(b, '{')
	if c.Shell != nil {
		b = append(b, `"shell":`...)
		b = appendBool(b, *c.Shell)
		b = append(b, ',')
	}
	if c.Value != nil {
		b = append(b, `"value":`...)
		b = appendString(b, *c.Value)
		b = append(b, ',')
	}
	b = append(b, `"argv":`...)
	b = appendStringArray(b, c.GetArguments())
	if c.GetEnvironment() != nil {
		b = append(b, `,"environment":`...)
		b = appendProtoJSON(b, c.Environment)
	}
	b = append(b, `,"uris":[`...)
	for i, u := range c.GetURIs() {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"value":`...)
		b = appendString(b, u.Value)
		b = append(b, `,"executable":`...)
		b = appendBool(b, u.GetExecutable())
		b = append(b, '}')
	}
	return append(b, ']', '}')
}

// offer writes an offer as the framework JSON model lists it.
func (r *renderer) offer(o *mesos.Offer) {
	b := r.b
	b = append(b, `{"id":`...)
	b = appendString(b, o.ID.Value)
	b = append(b, `,"framework_id":`...)
	b = appendString(b, o.FrameworkID.Value)
	if o.AllocationInfo != nil {
		b = append(b, `,"allocation_info":{"role":`...)
		b = appendString(b, o.AllocationInfo.GetRole())
		b = append(b, '}')
	}
	b = append(b, `,"slave_id":`...)
	b = appendString(b, o.AgentID.Value)
	b = append(b, `,"resources":`...)
	b = appendResources(b, o.Resources, &r.scratch)
	r.b = append(b, '}')
	r.maybeFlush()
}

// framework writes a framework as /master/state and /master/frameworks do.
func (r *renderer) framework(f *frameworkView) {
	info := &f.info
	b := r.b
	b = append(b, `{"id":`...)
	b = appendString(b, info.GetID().GetValue())
	b = append(b, `,"name":`...)
	b = appendString(b, info.Name)
	b = append(b, `,"used_resources":`...)
	b = appendResourceSummary(b, &f.used)
	b = append(b, `,"offered_resources":`...)
	b = appendResourceSummary(b, &f.offered)
	b = append(b, `,"capabilities":[`...)
	for i, c := range info.Capabilities {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, c.GetType().String())
	}
	b = append(b, `],"hostname":`...)
	b = appendString(b, info.GetHostname())
	b = append(b, `,"webui_url":`...)
	b = appendString(b, info.GetWebUiURL())
	b = append(b, `,"active":`...)
	b = appendBool(b, f.active)
	b = append(b, `,"connected":`...)
	b = appendBool(b, f.connected)
	b = append(b, `,"recovered":false,"user":`...)
	b = appendString(b, info.User)
	b = append(b, `,"failover_timeout":`...)
	b = appendFloat(b, info.GetFailoverTimeout())
	b = append(b, `,"checkpoint":`...)
	b = appendBool(b, info.GetCheckpoint())
	b = append(b, `,"registered_time":`...)
	b = appendSecs(b, f.registered)
	b = append(b, `,"unregistered_time":`...)
	b = appendSecs(b, f.unregistered)
	if info.Principal != nil {
		b = append(b, `,"principal":`...)
		b = appendString(b, *info.Principal)
	}
	b = append(b, `,"resources":`...)
	var total resourceSummary
	total.merge(&f.used)
	total.merge(&f.offered)
	b = appendResourceSummary(b, &total)
	if !f.reregistered.IsZero() && !f.reregistered.Equal(f.registered) {
		b = append(b, `,"reregistered_time":`...)
		b = appendSecs(b, f.reregistered)
	}
	if f.multiRole {
		b = append(b, `,"roles":`...)
		b = appendStringArray(b, info.Roles)
	} else {
		b = append(b, `,"role":`...)
		b = appendString(b, info.GetRole())
	}
	r.b = append(b, `,"tasks":[`...)
	r.tasks(len(f.tasks), func(i int) *mesos.Task { return &f.tasks[i] })
	r.b = append(r.b, `],"unreachable_tasks":[`...)
	r.tasks(len(f.unreachable), func(i int) *mesos.Task { return &f.unreachable[i] })
	r.b = append(r.b, `],"completed_tasks":[`...)
	r.tasks(len(f.completed), func(i int) *mesos.Task { return f.completed[i] })
	r.b = append(r.b, `],"offers":[`...)
	for i, o := range f.offers {
		if i > 0 {
			r.b = append(r.b, ',')
		}
		r.offer(o)
	}
	r.b = append(r.b, `],"executors":[`...)
	for i, e := range f.executors {
		if i > 0 {
			r.b = append(r.b, ',')
		}
		r.executor(e)
	}
	r.b = append(r.b, ']')
	if info.Labels != nil {
		r.b = append(r.b, `,"labels":`...)
		r.b = appendLabels(r.b, info.Labels)
	}
	r.b = append(r.b, '}')
	r.maybeFlush()
}

// agent writes a registered agent as /master/state and /master/slaves do.
func (r *renderer) agent(a *agentView) {
	r.b = append(r.appendAgentFields(r.b, a), '}')
	r.maybeFlush()
}

// appendAgentFields appends an agent's JSON object without its closing
// brace.
func (r *renderer) appendAgentFields(b []byte, a *agentView) []byte {
	info := &a.info
	b = append(b, `{"id":`...)
	b = appendString(b, info.GetID().GetValue())
	b = append(b, `,"hostname":`...)
	b = appendString(b, info.Hostname)
	b = append(b, `,"port":`...)
	b = appendInt(b, int64(info.GetPort()))
	b = append(b, `,"attributes":`...)
	b = appendAttributes(b, info.Attributes)
	if info.Domain != nil {
		b = append(b, `,"domain":`...)
		b = appendProtoJSON(b, info.Domain)
	}
	b = append(b, `,"pid":`...)
	b = appendString(b, agentPID(a.endpoint, info))
	b = append(b, `,"registered_time":`...)
	b = appendSecs(b, a.registered)
	if !a.reregistered.IsZero() {
		b = append(b, `,"reregistered_time":`...)
		b = appendSecs(b, a.reregistered)
	}
	b = append(b, `,"resources":`...)
	totalStart := len(b)
	b = appendResources(b, info.Resources, &r.scratch)
	totalJSON := len(b)
	b = append(b, `,"used_resources":`...)
	b = appendResourceSummary(b, &a.used)
	b = append(b, `,"offered_resources":`...)
	b = appendResourceSummary(b, &a.offered)
	b = append(b, `,"reserved_resources":`...)
	if hasReservations(info.Resources) {
		b = r.appendReservations(b, info.Resources)
		b = append(b, `,"unreserved_resources":`...)
		r.scratch.reset()
		for i := range info.Resources {
			if reservationRole(&info.Resources[i]) == "" {
				r.scratch.add(info.Resources[i : i+1])
			}
		}
		b = appendResourceSummary(b, &r.scratch)
	} else {
		b = append(b, `{},"unreserved_resources":`...)
		b = append(b, b[totalStart:totalJSON]...)
	}
	b = append(b, `,"active":`...)
	b = appendBool(b, a.active)
	b = append(b, `,"version":`...)
	b = appendString(b, a.version)
	b = append(b, `,"capabilities":[`...)
	for i, c := range a.caps {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, c.GetType().String())
	}
	return append(b, ']')
}

// appendReservations appends an agent's reserved resources by role.
func (r *renderer) appendReservations(b []byte, rs []mesos.Resource) []byte {
	var roles []string
	for i := range rs {
		role := reservationRole(&rs[i])
		if role == "" {
			continue
		}
		seen := false
		for _, x := range roles {
			seen = seen || x == role
		}
		if !seen {
			roles = append(roles, role)
		}
	}
	b = append(b, '{')
	for i, role := range roles {
		if i > 0 {
			b = append(b, ',')
		}
		r.scratch.reset()
		for j := range rs {
			if reservationRole(&rs[j]) == role {
				r.scratch.add(rs[j : j+1])
			}
		}
		b = appendString(b, role)
		b = append(b, ':')
		b = appendResourceSummary(b, &r.scratch)
	}
	return append(b, '}')
}

// hasReservations reports whether any resource is reserved.
func hasReservations(rs []mesos.Resource) bool {
	for i := range rs {
		if reservationRole(&rs[i]) != "" {
			return true
		}
	}
	return false
}

// reservationRole is the role a resource is reserved for ("" when
// unreserved): the last reservation in the refined format, else the
// pre-refinement role.
func reservationRole(r *mesos.Resource) string {
	if n := len(r.Reservations); n > 0 {
		return r.Reservations[n-1].GetRole()
	}
	if role := r.GetRole(); role != "*" {
		return role
	}
	return ""
}

// agentPID is the libprocess-style pid of an agent: slave(1)@host:port.
func agentPID(endpoint string, info *mesos.AgentInfo) string {
	if endpoint == "" {
		return "slave(1)@" + info.Hostname + ":" + itoa(int64(info.GetPort()))
	}
	return "slave(1)@" + endpoint
}

// itoa formats an integer.
func itoa(v int64) string { return string(appendInt(nil, v)) }

// writeStateJSON writes /master/state.
func (op *operator) writeStateJSON(r *renderer, v *stateView) {
	b := r.b
	b = append(b, `{"version":`...)
	b = appendString(b, op.buildFacts.Version)
	if op.buildFacts.GitSHA != "" {
		b = append(b, `,"git_sha":`...)
		b = appendString(b, op.buildFacts.GitSHA)
	}
	b = append(b, `,"build_date":`...)
	b = appendString(b, op.buildFacts.BuildDate)
	b = append(b, `,"build_time":`...)
	b = appendFloat(b, op.buildFacts.BuildTime)
	b = append(b, `,"build_user":`...)
	b = appendString(b, op.buildFacts.BuildUser)
	b = append(b, `,"start_time":`...)
	b = appendSecs(b, v.start)
	b = append(b, `,"elected_time":`...)
	b = appendSecs(b, v.start)
	b = append(b, `,"id":`...)
	b = appendString(b, v.info.ID)
	b = append(b, `,"pid":`...)
	b = appendString(b, v.info.GetPID())
	b = append(b, `,"hostname":`...)
	b = appendString(b, v.info.GetHostname())
	b = append(b, `,"capabilities":[`...)
	for i, c := range v.info.Capabilities {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, c.Type.String())
	}
	active := 0
	for i := range v.agents {
		if v.agents[i].active {
			active++
		}
	}
	b = append(b, `],"activated_slaves":`...)
	b = appendInt(b, int64(active))
	b = append(b, `,"deactivated_slaves":`...)
	b = appendInt(b, int64(len(v.agents)-active))
	b = append(b, `,"unreachable_slaves":`...)
	b = appendInt(b, int64(v.unreachableAgents))
	b = append(b, `,"leader":`...)
	b = appendString(b, v.info.GetPID())
	b = append(b, `,"leader_info":{"id":`...)
	b = appendString(b, v.info.ID)
	b = append(b, `,"pid":`...)
	b = appendString(b, v.info.GetPID())
	b = append(b, `,"port":`...)
	b = appendInt(b, int64(v.info.GetPort()))
	b = append(b, `,"hostname":`...)
	b = appendString(b, v.info.GetHostname())
	b = append(b, `},"flags":{`...)
	for i, f := range op.flags {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f.Name)
		b = append(b, ':')
		b = appendString(b, f.GetValue())
	}
	r.b = append(b, `},"slaves":[`...)
	for i := range v.agents {
		if i > 0 {
			r.b = append(r.b, ',')
		}
		r.agent(&v.agents[i])
	}
	r.b = append(r.b, `],"recovered_slaves":[],"frameworks":[`...)
	for i := range v.frameworks {
		if i > 0 {
			r.b = append(r.b, ',')
		}
		r.framework(&v.frameworks[i])
	}
	r.b = append(r.b, `],"completed_frameworks":[`...)
	for i := range v.completed {
		if i > 0 {
			r.b = append(r.b, ',')
		}
		r.framework(&v.completed[i])
	}
	r.b = append(r.b, `],"orphan_tasks":[],"unregistered_frameworks":[]}`...)
}

// takeView copies the state under the master's lock. Give it back with
// releaseView.
func (op *operator) takeView() *stateView {
	store, _ := op.taskStores.Get().(*[]mesos.Task)
	if store == nil {
		store = new([]mesos.Task)
	}
	v := &stateView{}
	op.m.mu.Lock()
	op.m.viewLocked(v, store)
	op.m.mu.Unlock()
	return v
}

// releaseView gives the view's task store back to the pool.
func (op *operator) releaseView(v *stateView) {
	if v.tasks == nil {
		return
	}
	clear((*v.tasks)[:cap(*v.tasks)])
	*v.tasks = (*v.tasks)[:0]
	op.taskStores.Put(v.tasks)
	v.tasks = nil
}

// serveJSON answers a read-only JSON endpoint: 200 with what write
// renders, wrapped in a call to the ?jsonp= function if one is named.
func (op *operator) serveJSON(w http.ResponseWriter, r *http.Request, write func(*renderer)) {
	jsonp := r.URL.Query().Get("jsonp")
	if jsonp != "" {
		w.Header().Set("Content-Type", "text/javascript")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	buf, _ := op.buffers.Get().(*[]byte)
	if buf == nil {
		b := make([]byte, 0, jsonFlushBytes+jsonFlushBytes/2)
		buf = &b
	}
	rd := &renderer{jsonWriter: jsonWriter{b: (*buf)[:0], w: w}}
	if jsonp != "" {
		rd.b = append(rd.b, jsonp...)
		rd.b = append(rd.b, '(')
	}
	write(rd)
	if jsonp != "" {
		rd.b = append(rd.b, ");"...)
	}
	rd.flush()
	*buf = rd.b[:0]
	op.buffers.Put(buf)
}

// serveState is /master/state (and /state, /state.json, /master/state.json).
func (op *operator) serveState(w http.ResponseWriter, r *http.Request) {
	v := op.takeView()
	defer op.releaseView(v)
	v.aggregate()
	op.serveJSON(w, r, func(rd *renderer) { op.writeStateJSON(rd, v) })
}

// serveFrameworks is /master/frameworks: registered and completed
// frameworks, optionally only the one named by ?framework_id=.
func (op *operator) serveFrameworks(w http.ResponseWriter, r *http.Request) {
	v := op.takeView()
	defer op.releaseView(v)
	v.aggregate()
	only := r.URL.Query().Get("framework_id")
	pick := func(f *frameworkView) bool { return only == "" || f.info.GetID().GetValue() == only }
	op.serveJSON(w, r, func(rd *renderer) {
		rd.b = append(rd.b, `{"frameworks":[`...)
		first := true
		for i := range v.frameworks {
			if pick(&v.frameworks[i]) {
				if !first {
					rd.b = append(rd.b, ',')
				}
				first = false
				rd.framework(&v.frameworks[i])
			}
		}
		rd.b = append(rd.b, `],"completed_frameworks":[`...)
		first = true
		for i := range v.completed {
			if pick(&v.completed[i]) {
				if !first {
					rd.b = append(rd.b, ',')
				}
				first = false
				rd.framework(&v.completed[i])
			}
		}
		rd.b = append(rd.b, `],"unregistered_frameworks":[]}`...)
	})
}

// serveSlaves is /master/slaves: registered agents, optionally only the one
// named by ?slave_id=.
func (op *operator) serveSlaves(w http.ResponseWriter, r *http.Request) {
	v := op.takeView()
	defer op.releaseView(v)
	v.aggregate()
	only := r.URL.Query().Get("slave_id")
	op.serveJSON(w, r, func(rd *renderer) {
		rd.b = append(rd.b, `{"slaves":[`...)
		first := true
		for i := range v.agents {
			if only != "" && v.agents[i].info.GetID().GetValue() != only {
				continue
			}
			if !first {
				rd.b = append(rd.b, ',')
			}
			first = false
			rd.agent(&v.agents[i])
		}
		rd.b = append(rd.b, `],"recovered_slaves":[]}`...)
	})
}

// summaryStates are the task states /master/state-summary counts, in
// Mesos' order.
func summaryStates() []mesos.TaskState {
	return []mesos.TaskState{
		mesos.TASK_STAGING, mesos.TASK_STARTING, mesos.TASK_RUNNING, mesos.TASK_KILLING,
		mesos.TASK_FINISHED, mesos.TASK_KILLED, mesos.TASK_FAILED, mesos.TASK_LOST,
		mesos.TASK_ERROR, mesos.TASK_UNREACHABLE,
	}
}

// summaryCounts counts tasks by state, and the agents or frameworks they
// link an entry to.
type summaryCounts struct {
	states map[mesos.TaskState]int
	links  map[string]bool
}

func (c *summaryCounts) count(state mesos.TaskState, link string) {
	if c.states == nil {
		c.states = map[mesos.TaskState]int{}
		c.links = map[string]bool{}
	}
	c.states[state]++
	c.links[link] = true
}

// appendCounts appends the "TASK_*" counts and the linked ids.
func appendCounts(b []byte, c *summaryCounts, linksKey string) []byte {
	for _, st := range summaryStates() {
		b = append(b, ',')
		b = appendString(b, st.String())
		b = append(b, ':')
		b = appendInt(b, int64(c.states[st]))
	}
	links := make([]string, 0, len(c.links))
	for id := range c.links {
		links = append(links, id)
	}
	sort.Strings(links)
	b = append(b, ',')
	b = appendKey(b, linksKey)
	return appendStringArray(b, links)
}

// serveStateSummary is /master/state-summary: agents and registered
// frameworks with task counts by state and which frameworks run on which
// agents, without the tasks themselves.
func (op *operator) serveStateSummary(w http.ResponseWriter, r *http.Request) {
	v := op.takeView()
	defer op.releaseView(v)
	v.aggregate()
	byAgent := map[string]*summaryCounts{}
	byFramework := make([]summaryCounts, len(v.frameworks))
	for i := range v.frameworks {
		f := &v.frameworks[i]
		fwID := f.info.GetID().GetValue()
		count := func(t *mesos.Task) {
			agentID := t.AgentID.Value
			byFramework[i].count(t.GetState(), agentID)
			c := byAgent[agentID]
			if c == nil {
				c = &summaryCounts{}
				byAgent[agentID] = c
			}
			c.count(t.GetState(), fwID)
		}
		for j := range f.tasks {
			count(&f.tasks[j])
		}
		for j := range f.unreachable {
			count(&f.unreachable[j])
		}
		for _, t := range f.completed {
			count(t)
		}
	}
	op.serveJSON(w, r, func(rd *renderer) {
		rd.b = append(rd.b, `{"hostname":`...)
		rd.b = appendString(rd.b, v.info.GetHostname())
		rd.b = append(rd.b, `,"slaves":[`...)
		for i := range v.agents {
			if i > 0 {
				rd.b = append(rd.b, ',')
			}
			c := byAgent[v.agents[i].info.GetID().GetValue()]
			if c == nil {
				c = &summaryCounts{}
			}
			rd.b = rd.appendAgentFields(rd.b, &v.agents[i])
			rd.b = append(appendCounts(rd.b, c, "framework_ids"), '}')
			rd.maybeFlush()
		}
		rd.b = append(rd.b, `],"frameworks":[`...)
		for i := range v.frameworks {
			f := &v.frameworks[i]
			if i > 0 {
				rd.b = append(rd.b, ',')
			}
			b := append(rd.b, `{"id":`...)
			b = appendString(b, f.info.GetID().GetValue())
			b = append(b, `,"name":`...)
			b = appendString(b, f.info.Name)
			b = append(b, `,"used_resources":`...)
			b = appendResourceSummary(b, &f.used)
			b = append(b, `,"offered_resources":`...)
			b = appendResourceSummary(b, &f.offered)
			b = append(b, `,"capabilities":[`...)
			for j, c := range f.info.Capabilities {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendString(b, c.GetType().String())
			}
			b = append(b, `],"hostname":`...)
			b = appendString(b, f.info.GetHostname())
			b = append(b, `,"webui_url":`...)
			b = appendString(b, f.info.GetWebUiURL())
			b = append(b, `,"active":`...)
			b = appendBool(b, f.active)
			b = append(b, `,"connected":`...)
			b = appendBool(b, f.connected)
			b = append(b, `,"recovered":false`...)
			b = appendCounts(b, &byFramework[i], "slave_ids")
			rd.b = append(b, '}')
			rd.maybeFlush()
		}
		rd.b = append(rd.b, ']', '}')
	})
}
