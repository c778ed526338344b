// Package agentproto is the small protocol between mesos-sim's master and
// its process agents (mesos-sim/agent): JSON over HTTP on loopback. An agent
// posts to the master's /agent/v1/{register,update,exited,message}; the
// master posts Messages (launch, kill, acknowledge, ping...) to the agent's
// /agent/v1/master. Mesos' own messages (AgentInfo, TaskInfo, TaskStatus...)
// travel inside as their JSON encoding. The package holds only the message
// types and paths, so that both sides depend on it and not on each other.
package agentproto

import (
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Paths on the master.
const (
	PathRegister = "/agent/v1/register"
	PathUpdate   = "/agent/v1/update"
	PathExited   = "/agent/v1/exited"
	PathMessage  = "/agent/v1/message"
)

// PathAgent is where the agent receives the master's Messages.
const PathAgent = "/agent/v1/master"

// Registration is an agent's (re-)registration. The master answers 200 with
// a Registered, 410 when the agent was marked gone, 400 when it is invalid.
type Registration struct {
	Info         mesos.AgentInfo              `json:"info"`
	Capabilities []mesos.AgentInfo_Capability `json:"capabilities,omitempty"`
	// Endpoint is the agent's own HTTP address, host:port.
	Endpoint   string               `json:"endpoint"`
	Version    string               `json:"version,omitempty"`
	Reregister bool                 `json:"reregister,omitempty"`
	Tasks      []mesos.Task         `json:"tasks,omitempty"`
	Executors  []mesos.ExecutorInfo `json:"executors,omitempty"`
	// Batches: the agent takes batch messages; the master sends an agent
	// that does not say so one message per request.
	Batches bool `json:"batches,omitempty"`
}

// Registered answers a Registration.
type Registered struct {
	AgentID string `json:"agent_id"`
}

// Update is a status update forwarded by an agent. The master answers 202,
// or 404 when it does not know the agent (which should register again).
type Update struct {
	AgentID     string           `json:"agent_id"`
	FrameworkID string           `json:"framework_id"`
	Status      mesos.TaskStatus `json:"status"`
}

// Exited tells the master that a custom executor ended.
type Exited struct {
	AgentID     string `json:"agent_id"`
	FrameworkID string `json:"framework_id"`
	ExecutorID  string `json:"executor_id"`
	Status      int32  `json:"status"`
}

// Message is an executor's message for its framework (best effort).
type Message struct {
	AgentID     string `json:"agent_id"`
	FrameworkID string `json:"framework_id"`
	ExecutorID  string `json:"executor_id"`
	Data        []byte `json:"data,omitempty"`
}

// Kinds of master-to-agent messages.
const (
	KindRunTasks          = "run_tasks"
	KindKillTask          = "kill_task"
	KindShutdownExecutor  = "shutdown_executor"
	KindShutdownFramework = "shutdown_framework"
	KindAcknowledge       = "acknowledge"
	KindFrameworkMessage  = "framework_message"
	KindShutdown          = "shutdown"
	KindPing              = "ping"
	// KindBatch carries several messages (Batch, in order) in one request,
	// to agents whose registration says Batches.
	KindBatch = "batch"
)

// FromMaster is one message from the master to an agent. The agent answers
// 202 (200 for a ping), or 409 when AgentID is not its ID.
type FromMaster struct {
	Kind        string `json:"kind"`
	AgentID     string `json:"agent_id"`
	FrameworkID string `json:"framework_id,omitempty"`
	TaskID      string `json:"task_id,omitempty"`
	ExecutorID  string `json:"executor_id,omitempty"`
	UUID        []byte `json:"uuid,omitempty"`
	Data        []byte `json:"data,omitempty"`
	Reason      string `json:"reason,omitempty"`
	// KillPolicy of a kill_task (nil: the task's own).
	KillPolicy *mesos.KillPolicy `json:"kill_policy,omitempty"`
	// Run is the launch of a run_tasks.
	Run *RunTasks `json:"run,omitempty"`
	// Batch holds the messages of a batch (none of them a batch or a ping).
	Batch []FromMaster `json:"batch,omitempty"`
}

// RunTasks is a launch: one task, or a whole group for one executor.
type RunTasks struct {
	Framework mesos.FrameworkInfo `json:"framework"`
	Executor  *mesos.ExecutorInfo `json:"executor,omitempty"`
	Tasks     []mesos.TaskInfo    `json:"tasks"`
	Group     bool                `json:"group,omitempty"`
}
