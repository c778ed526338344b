package master

import (
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/kubemesos/kubemesos/internal/clock"
	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

// framework is a subscribed (or disconnected, within its failover timeout)
// framework, or a completed one kept for state output.
type framework struct {
	id        string
	info      mesos.FrameworkInfo // id filled in; updated by UPDATE_FRAMEWORK
	principal string              // authenticated principal, if any

	stream   *wire.Stream // nil while disconnected
	streamID string

	connected bool
	active    bool

	registeredTime   time.Time
	reregisteredTime time.Time
	unregisteredTime time.Time

	roles      []string
	suppressed map[string]bool
	caps       frameworkCaps

	tasks            map[string]*task // non-terminal or unacknowledged, by task ID
	unreachableTasks map[string]*task
	unreachableOrder []string
	completedTasks   []*mesos.Task // newest last, bounded
	offers           map[string]*offer
	// executors by agent ID and executor ID (custom and default executors;
	// command executors are the agent's business).
	executors map[string]map[string]*mesos.ExecutorInfo

	failoverTimer  clock.Timer
	heartbeatTimer clock.Timer
}

type frameworkCaps struct {
	multiRole, partitionAware, taskKillingState, gpu, revocable, shared, reservationRefinement, regionAware bool
}

func capsOf(info *mesos.FrameworkInfo) frameworkCaps {
	var c frameworkCaps
	for _, cp := range info.GetCapabilities() {
		switch cp.GetType() {
		case mesos.FrameworkInfo_Capability_MULTI_ROLE:
			c.multiRole = true
		case mesos.FrameworkInfo_Capability_PARTITION_AWARE:
			c.partitionAware = true
		case mesos.FrameworkInfo_Capability_TASK_KILLING_STATE:
			c.taskKillingState = true
		case mesos.FrameworkInfo_Capability_GPU_RESOURCES:
			c.gpu = true
		case mesos.FrameworkInfo_Capability_REVOCABLE_RESOURCES:
			c.revocable = true
		case mesos.FrameworkInfo_Capability_SHARED_RESOURCES:
			c.shared = true
		case mesos.FrameworkInfo_Capability_RESERVATION_REFINEMENT:
			c.reservationRefinement = true
		case mesos.FrameworkInfo_Capability_REGION_AWARE:
			c.regionAware = true
		}
	}
	return c
}

// frameworkRoles returns the roles a FrameworkInfo subscribes to.
func frameworkRoles(info *mesos.FrameworkInfo) []string {
	if capsOf(info).multiRole {
		return append([]string(nil), info.Roles...)
	}
	return []string{info.GetRole()}
}

// agent is a registered agent (active or deactivated by the operator).
type agent struct {
	id       string
	info     mesos.AgentInfo // ID set; Resources = current total (speculative operations applied)
	link     AgentLink
	endpoint string // host:port of the agent's own HTTP endpoint, if it has one
	active   bool
	caps     []mesos.AgentInfo_Capability
	version  string

	registeredTime   time.Time
	reregisteredTime time.Time

	// tasks and executors by framework ID, then task / executor ID.
	tasks     map[string]map[string]*task
	executors map[string]map[string]*mesos.ExecutorInfo
	offers    map[string]*offer

	missedPings int
}

// task is the master's record of a launched task.
type task struct {
	t               mesos.Task
	frameworkID     string
	agentID         string
	unreachableTime time.Time
	// latestState is the state last reported by the agent; t.State mirrors it.
	// t.StatusUpdateState/UUID are the update being delivered to the framework.
}

func (t *task) state() mesos.TaskState { return t.t.GetState() }

// offer is an outstanding offer.
type offer struct {
	o           *mesos.Offer // as allocated, with allocation info on resources
	frameworkID string
	agentID     string
	role        string
	timer       clock.Timer
}

// isTerminal reports whether a task state is terminal for bookkeeping.
func isTerminal(s mesos.TaskState) bool {
	switch s {
	case mesos.TASK_FINISHED, mesos.TASK_FAILED, mesos.TASK_KILLED, mesos.TASK_ERROR,
		mesos.TASK_LOST, mesos.TASK_DROPPED, mesos.TASK_GONE, mesos.TASK_GONE_BY_OPERATOR:
		return true
	}
	return false
}
