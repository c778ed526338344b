// Package agent is mesos-sim's process agent: an agent that runs real
// processes. It has its own HTTP endpoint on 127.0.0.1, joins a mesos-sim
// master over the agent protocol (mesos-sim/agentproto), serves the Mesos
// v1 executor API (/api/v1/executor) to the custom executors it starts as
// child processes, runs command tasks itself (the built-in command executor
// supervises the task's process inside the agent), fetches CommandInfo URIs
// into per-run sandboxes, delivers status updates reliably (one update in
// flight per task, resent with back-off until the framework acknowledges),
// serves the sandbox files API (/files/browse, /files/read,
// /files/download), /state and /health, and checkpoints its state under
// its work directory so that a restarted agent comes back as the same
// agent and reconnects to the executors of checkpointing frameworks
// (recover.go).
//
// The same code runs inside `kubemesos master --agent-mode process` and as
// the standalone `kubemesos agent`: both talk to the master over HTTP.
// One mutex guards an agent's state; network and process I/O happen outside
// it, in goroutines that take the lock to apply their results.
package agent
