package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Checkpointing, as a Mesos agent keeps it under <work-dir>/meta: the
// agent's own info (always, so that a restarted agent keeps its ID), and
// for frameworks with FrameworkInfo.checkpoint the framework, its
// executors (info and forked pid of the run) and their tasks (info, latest
// state and the status updates not yet acknowledged):
//
//	meta/slaves/latest -> <agent id>
//	meta/slaves/<agent>/slave.info
//	meta/slaves/<agent>/frameworks/<fw>/framework.info
//	meta/slaves/<agent>/frameworks/<fw>/executors/<exec>/executor.info
//	meta/slaves/<agent>/frameworks/<fw>/executors/<exec>/runs/<container>/pids/forked.pid
//	meta/slaves/<agent>/frameworks/<fw>/executors/<exec>/runs/<container>/tasks/<task>/task.info
//	meta/slaves/<agent>/frameworks/<fw>/executors/<exec>/runs/<container>/tasks/<task>/task.updates
//	meta/slaves/<agent>/frameworks/<fw>/executors/<exec>/runs/<container>/tasks/<task>/pids/forked.pid
//
// A pid file holds "PID STARTTIME" (the start time field of
// /proc/PID/stat), so that a pid reused by another process is not taken for
// the one recorded. Tasks have pid files only with the built-in executors,
// which run their processes themselves.
//
// Files are JSON (Mesos writes protobuf) and replaced whole through a
// rename, without fsync. What a run no longer needs is removed with it
// (Mesos keeps it for garbage collection). A stopping agent writes
// nothing: its executors may outlive it, and their ends are the next
// agent's to record.

// Executor kinds in executor.info.
const (
	kindCustom  = "custom"
	kindCommand = "command"
	kindDefault = "default"
)

// checkpointedExecutor is executor.info.
type checkpointedExecutor struct {
	Info mesos.ExecutorInfo `json:"info"`
	Kind string             `json:"kind"`
}

// checkpointedUpdates is task.updates: the task's state and its status
// update stream.
type checkpointedUpdates struct {
	State     mesos.TaskState    `json:"state"`
	Delivered bool               `json:"delivered,omitempty"`
	Group     []string           `json:"group,omitempty"`
	Pending   []mesos.TaskStatus `json:"pending,omitempty"`
	Seen      [][]byte           `json:"seen,omitempty"`
}

func (a *Agent) metaRoot() string { return filepath.Join(a.cfg.WorkDir, "meta", "slaves") }

func (a *Agent) agentMeta() string { return filepath.Join(a.metaRoot(), a.id) }

func (a *Agent) frameworkMeta(fwID string) string {
	return filepath.Join(a.agentMeta(), "frameworks", fwID)
}

func (a *Agent) executorMeta(e *executor) string {
	return filepath.Join(a.frameworkMeta(e.fw.id), "executors", e.id())
}

func (a *Agent) runMeta(e *executor) string {
	return filepath.Join(a.executorMeta(e), "runs", e.containerID)
}

func (a *Agent) taskMeta(t *task) string {
	return filepath.Join(a.runMeta(t.exec), "tasks", t.info.TaskID.Value)
}

// checkpoints reports whether fw's state is checkpointed. Callers hold a.mu.
func (a *Agent) checkpoints(fw *framework) bool {
	return fw.info.GetCheckpoint() && a.id != "" && !a.shuttingDown && !a.cfg.Ephemeral
}

// writeAtomic replaces path with data (creating its directory).
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func writeJSONFile(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeAtomic(path, b)
}

func (a *Agent) checkpointFailed(what string, err error) {
	if err != nil {
		a.log.Warn("checkpoint failed", "what", what, "error", err)
	}
}

// checkpointAgent records the agent's ID and info. Callers hold a.mu.
func (a *Agent) checkpointAgent() {
	if a.id == "" || a.id == a.checkpointedID || a.shuttingDown || a.cfg.Ephemeral {
		return
	}
	info := a.info()
	if err := writeJSONFile(filepath.Join(a.agentMeta(), "slave.info"), info); err != nil {
		a.checkpointFailed("agent info", err)
		return
	}
	latest := filepath.Join(a.metaRoot(), "latest")
	_ = os.Remove(latest)
	if err := os.Symlink(a.id, latest); err != nil {
		a.checkpointFailed("latest agent", err)
		return
	}
	a.checkpointedID = a.id
}

// checkpointFramework records a checkpointing framework's info. Callers
// hold a.mu.
func (a *Agent) checkpointFramework(fw *framework) {
	if a.checkpoints(fw) {
		a.checkpointFailed("framework", writeJSONFile(filepath.Join(a.frameworkMeta(fw.id), "framework.info"), fw.info))
	}
}

func executorKind(e *executor) string {
	switch {
	case e.command:
		return kindCommand
	case e.defaultExec:
		return kindDefault
	}
	return kindCustom
}

// checkpointExecutor records an executor's info and its run. Callers hold
// a.mu.
func (a *Agent) checkpointExecutor(e *executor) {
	if !a.checkpoints(e.fw) {
		return
	}
	a.checkpointFailed("executor", writeJSONFile(filepath.Join(a.executorMeta(e), "executor.info"),
		checkpointedExecutor{Info: e.info, Kind: executorKind(e)}))
	a.checkpointFailed("executor run", os.MkdirAll(filepath.Join(a.runMeta(e), "tasks"), 0o755))
}

// checkpointPID records the pid of an executor's process. Callers hold a.mu.
func (a *Agent) checkpointPID(e *executor, pid int) {
	if a.checkpoints(e.fw) {
		a.checkpointFailed("executor pid", writeAtomic(filepath.Join(a.runMeta(e), "pids", "forked.pid"), pidRecord(pid)))
	}
}

// checkpointTaskPID records the pid of a built-in executor's task process.
// Callers hold a.mu.
func (a *Agent) checkpointTaskPID(t *task, pid int) {
	if a.checkpoints(t.fw) {
		a.checkpointFailed("task pid", writeAtomic(filepath.Join(a.taskMeta(t), "pids", "forked.pid"), pidRecord(pid)))
	}
}

func pidRecord(pid int) []byte {
	return fmt.Appendf(nil, "%d %s", pid, procStartTime(pid))
}

// procStartTime is the start time of a process (field 22 of
// /proc/PID/stat), "" if it cannot be read.
func procStartTime(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return ""
	}
	fields := strings.Fields(string(b[i+1:])) // from field 3, the state
	if len(fields) < 20 {
		return ""
	}
	return fields[19]
}

// checkpointTask records a new task and its state. Callers hold a.mu.
func (a *Agent) checkpointTask(t *task) {
	if !a.checkpoints(t.fw) {
		return
	}
	a.checkpointFailed("task", writeJSONFile(filepath.Join(a.taskMeta(t), "task.info"), t.info))
	a.checkpointUpdates(t)
}

// checkpointUpdates records a task's state and update stream. Callers hold
// a.mu.
func (a *Agent) checkpointUpdates(t *task) {
	if !a.checkpoints(t.fw) || t.fw.tasks[t.info.TaskID.Value] != t {
		return
	}
	cu := checkpointedUpdates{State: t.state, Delivered: t.delivered, Pending: t.pending}
	for _, g := range t.group {
		cu.Group = append(cu.Group, g.info.TaskID.Value)
	}
	for uuid := range t.seen {
		cu.Seen = append(cu.Seen, []byte(uuid))
	}
	a.checkpointFailed("task updates", writeJSONFile(filepath.Join(a.taskMeta(t), "task.updates"), cu))
}

// forgetTask removes a task's checkpoint. Callers hold a.mu.
func (a *Agent) forgetTask(t *task) {
	if a.checkpoints(t.fw) {
		_ = os.RemoveAll(a.taskMeta(t))
	}
}

// forgetExecutor removes an executor run's checkpoint (and the executor's
// when it is the executor's latest run). Callers hold a.mu.
func (a *Agent) forgetExecutor(e *executor, latest bool) {
	if !a.checkpoints(e.fw) {
		return
	}
	if latest {
		_ = os.RemoveAll(a.executorMeta(e))
		return
	}
	_ = os.RemoveAll(a.runMeta(e))
}

// forgetFramework removes a framework's checkpoint. Callers hold a.mu.
func (a *Agent) forgetFramework(fw *framework) {
	if a.checkpoints(fw) {
		_ = os.RemoveAll(a.frameworkMeta(fw.id))
	}
}
