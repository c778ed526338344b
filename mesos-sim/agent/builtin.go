package agent

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// The built-in executors run inside the agent; their tasks' processes are
// the agent's children, each in its own process group.
//
// The command executor serves a task with TaskInfo.command: the executor's
// ID is the task's, its sandbox gets the command's URIs, and it reports
// TASK_STARTING, TASK_RUNNING, then TASK_FINISHED or TASK_FAILED with the
// exit status in the message.
//
// The DEFAULT executor serves task groups (LAUNCH_GROUP with
// ExecutorInfo.type DEFAULT): each task runs in <sandbox>/tasks/<task id>
// with its own URIs; when a task of a group fails or is killed, the rest of
// the group is killed; the executor ends (and the framework gets a FAILURE
// event with status 0) when none of its tasks is left running.
//
// A kill sends TASK_KILLING (to frameworks with that capability), SIGTERM to
// the task's process group and SIGKILL after the kill policy's grace period
// (default 3 s).

// launchCommand starts a command task. It runs on its own goroutine, waits
// for one of the agent's launch slots (so that the tasks of a large ACCEPT
// start a few at a time, concurrently) and creates the sandbox and forks the
// task's process without holding a.mu.
func (a *Agent) launchCommand(e *executor, t *task, cgroupParent string) {
	defer a.launching.Done()
	select {
	case a.launchSlots <- struct{}{}:
	case <-a.ctx.Done():
		return
	}
	defer func() { <-a.launchSlots }()
	if err := a.prepareSandbox(e); err != nil {
		a.launchFailed(e, err)
		return
	}
	cg, err := a.createCgroup(cgroupParent, e.containerID, int64((memMB(e.info.Resources)+memMB(t.info.Resources))*1024*1024))
	if err != nil {
		a.launchFailed(e, err)
		return
	}
	w := a.watchMemory(e, cg)
	a.mu.Lock()
	e.cgroup, e.oomWatch = cg, w
	if e.state != execLaunching || a.shuttingDown || a.frameworks[e.fw.id] != e.fw {
		a.removeCgroup(e)
		a.mu.Unlock()
		return
	}
	e.state = execRunning
	env, ok := a.beginTask(e, t, e.dir)
	a.mu.Unlock()
	var cmd *exec.Cmd
	if ok {
		cmd, err = startProcess(e.dir, t.info.Command, env, a.devNull, cg, false)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if ok {
		a.taskStarted(e, t, e.dir, cmd, err)
	}
	if isTerminal(t.state) {
		a.builtinTaskEnded(e, t)
	}
}

// launchGroup starts a task group on the DEFAULT executor. It runs on its
// own goroutine.
func (a *Agent) launchGroup(e *executor, group []*task) {
	if err := a.prepareSandbox(e); err != nil {
		a.launchFailed(e, err)
		return
	}
	dirs := map[*task]string{}
	var fetchErr error
	var failed *task
	for _, t := range group {
		dir := filepath.Join(e.dir, "tasks", t.info.TaskID.Value)
		dirs[t] = dir
		if err := os.MkdirAll(dir, 0o755); err != nil {
			fetchErr, failed = err, t
			break
		}
		if ci := t.info.Command; ci != nil {
			if err := a.fetcher.FetchAll(a.ctx, ci.URIs, dir); err != nil {
				fetchErr, failed = err, t
				break
			}
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if e.state == execTerminated || a.shuttingDown || a.frameworks[e.fw.id] != e.fw {
		return
	}
	if e.cgroup == nil {
		cg, err := a.createCgroup(a.cgroupParent(), e.containerID, containerMem(e))
		if err != nil {
			a.failLaunchLocked(e, err)
			return
		}
		e.cgroup = cg
		e.oomWatch = a.watchMemory(e, cg)
	}
	e.state = execRunning
	if fetchErr != nil {
		a.transition(failed, mesos.TASK_FAILED, mesos.REASON_CONTAINER_LAUNCH_FAILED.Enum(), mesos.SOURCE_AGENT, "Failed to launch container: "+fetchErr.Error())
		a.builtinTaskEnded(e, failed)
		return
	}
	for _, t := range group {
		t.delivered = true
		a.startTask(e, t, dirs[t])
	}
	for _, t := range group {
		if isTerminal(t.state) {
			a.builtinTaskEnded(e, t)
		}
	}
}

// startTask runs a task's command in dir. Callers hold a.mu.
func (a *Agent) startTask(e *executor, t *task, dir string) {
	env, ok := a.beginTask(e, t, dir)
	if !ok {
		return
	}
	cmd, err := startProcess(dir, t.info.Command, env, a.devNull, e.cgroup, false)
	a.taskStarted(e, t, dir, cmd, err)
}

// beginTask moves a task to TASK_STARTING and returns its environment, or
// reports false when the task was killed before it started. Callers hold
// a.mu.
func (a *Agent) beginTask(e *executor, t *task, dir string) ([]string, bool) {
	if t.killed || isTerminal(t.state) {
		a.transition(t, mesos.TASK_KILLED, mesos.REASON_TASK_KILLED_DURING_LAUNCH.Enum(), mesos.SOURCE_EXECUTOR, "Task killed before it started")
		return nil, false
	}
	a.transition(t, mesos.TASK_STARTING, nil, mesos.SOURCE_EXECUTOR, "")
	return appendCommandEnv(a.executorEnv(e, map[string]string{"MESOS_TASK_ID": t.info.TaskID.Value, "MESOS_SANDBOX": dir}), t.info.Command), true
}

// taskStarted applies the result of starting a task's process (which may
// have happened without a.mu): a task killed, or an agent or framework shut
// down, meanwhile gets its process killed (the reaper reports the end).
// Callers hold a.mu.
func (a *Agent) taskStarted(e *executor, t *task, dir string, cmd *exec.Cmd, err error) {
	if err != nil {
		a.transition(t, mesos.TASK_FAILED, mesos.REASON_COMMAND_EXECUTOR_FAILED.Enum(), mesos.SOURCE_EXECUTOR, "Failed to launch the command: "+err.Error())
		return
	}
	t.proc = cmd.Process
	t.exited = make(chan struct{})
	a.checkpointTaskPID(t, cmd.Process.Pid)
	go a.reapTask(e, t, cmd)
	if t.killed || a.shuttingDown || a.frameworks[e.fw.id] != e.fw {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		return
	}
	a.transition(t, mesos.TASK_RUNNING, nil, mesos.SOURCE_EXECUTOR, "")
	a.log.Info("task started", "task_id", t.info.TaskID.Value, "framework_id", e.fw.id, "pid", cmd.Process.Pid, "directory", dir)
}

// killBuiltin kills a task of a built-in executor. Callers hold a.mu.
func (a *Agent) killBuiltin(t *task, policy *mesos.KillPolicy) {
	if t.killed || isTerminal(t.state) {
		return
	}
	t.killed = true
	if t.proc == nil {
		return // not started yet: startTask sees t.killed
	}
	if hasFrameworkCap(t.fw.info, mesos.FrameworkInfo_Capability_TASK_KILLING_STATE) {
		a.transition(t, mesos.TASK_KILLING, nil, mesos.SOURCE_EXECUTOR, "")
	}
	grace := DefaultKillGracePeriod
	if policy == nil {
		policy = t.info.KillPolicy
	}
	if policy != nil && policy.GracePeriod != nil {
		grace = max(time.Duration(policy.GracePeriod.Nanoseconds), 0)
	}
	_ = syscall.Kill(-t.proc.Pid, syscall.SIGTERM)
	proc := t.proc
	t.killTimer = a.clock.AfterFunc(grace, func() { _ = syscall.Kill(-proc.Pid, syscall.SIGKILL) })
}

// reapTask waits for a task's process and reports how it ended.
func (a *Agent) reapTask(e *executor, t *task, cmd *exec.Cmd) {
	_ = cmd.Wait()
	a.mu.Lock()
	defer a.mu.Unlock()
	close(t.exited)
	if t.killTimer != nil {
		t.killTimer.Stop()
		t.killTimer = nil
	}
	// The command's children go with it.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	t.procDone = true
	if a.frameworks[e.fw.id] != e.fw {
		// The framework was shut down: no update; the container's cgroup
		// goes with its last process.
		for _, other := range e.tasks {
			if other.proc != nil && !other.procDone {
				return
			}
		}
		a.removeCgroup(e)
		return
	}
	state, msg := mesos.TASK_FAILED, ""
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if a.memLimited(e, ws) {
		msg = memLimitMessage(e)
		a.log.Info("task ended", "task_id", t.info.TaskID.Value, "state", state.String(), "message", msg)
		a.transition(t, state, mesos.REASON_CONTAINER_LIMITATION_MEMORY.Enum(), mesos.SOURCE_AGENT, msg)
		a.builtinTaskEnded(e, t)
		return
	}
	if ws.Signaled() {
		// Mesos' wording, with strsignal(3)'s capitalised name.
		name := ws.Signal().String()
		msg = "Command terminated with signal " + strings.ToUpper(name[:1]) + name[1:]
	} else {
		msg = fmt.Sprintf("Command exited with status %d", ws.ExitStatus())
		if ws.ExitStatus() == 0 {
			state = mesos.TASK_FINISHED
		}
	}
	if t.killed {
		state = mesos.TASK_KILLED
	}
	a.log.Info("task ended", "task_id", t.info.TaskID.Value, "state", state.String(), "message", msg)
	a.transition(t, state, nil, mesos.SOURCE_EXECUTOR, msg)
	a.builtinTaskEnded(e, t)
}

// builtinTaskEnded applies what a built-in executor does when one of its
// tasks ended. Callers hold a.mu.
func (a *Agent) builtinTaskEnded(e *executor, t *task) {
	if e.defaultExec && t.state != mesos.TASK_FINISHED {
		for _, sibling := range t.group {
			if sibling != t && !isTerminal(sibling.state) {
				a.killBuiltin(sibling, nil)
			}
		}
	}
	for _, other := range e.tasks {
		if !isTerminal(other.state) || (other.proc != nil && !other.procDone) {
			return
		}
	}
	if e.state == execTerminated {
		return
	}
	e.state = execTerminated
	close(e.exited)
	a.removeCgroup(e)
	if e.defaultExec {
		a.log.Info("default executor has no task left; it ends", "executor_id", e.id(), "framework_id", e.fw.id)
		a.executorExitedToMaster(e, 0)
	}
	a.maybeRemoveExecutor(e)
}
