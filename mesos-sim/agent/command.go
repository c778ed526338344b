package agent

import (
	"fmt"
	"os"
	"syscall"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// The built-in command executor runs inside the agent: for a task with
// TaskInfo.command it creates the executor's sandbox (executor ID = task
// ID), fetches the URIs, starts the command in its own process group and
// reports TASK_STARTING, TASK_RUNNING, then TASK_FINISHED or TASK_FAILED
// with the exit status in the message. A kill sends TASK_KILLING (to
// frameworks with that capability), SIGTERM to the process group and
// SIGKILL after the kill policy's grace period (default 3 s).

// launchCommand starts a command task. It runs on its own goroutine.
func (a *Agent) launchCommand(e *executor, t *task) {
	if err := a.prepareSandbox(e); err != nil {
		a.launchFailed(e, err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if e.state != execLaunching || a.shuttingDown || a.frameworks[e.fw.id] != e.fw {
		return
	}
	if t.killed {
		e.state = execTerminated
		close(e.exited)
		a.transition(t, mesos.TASK_KILLED, mesos.REASON_TASK_KILLED_DURING_LAUNCH.Enum(), mesos.SOURCE_EXECUTOR, "Task killed before it started")
		a.maybeRemoveExecutor(e)
		return
	}
	a.transition(t, mesos.TASK_STARTING, nil, mesos.SOURCE_EXECUTOR, "")
	cmd, err := a.startProcess(e, t.info.Command, a.executorEnv(e, map[string]string{"MESOS_TASK_ID": t.info.TaskID.Value}))
	if err != nil {
		e.state = execTerminated
		close(e.exited)
		a.transition(t, mesos.TASK_FAILED, mesos.REASON_COMMAND_EXECUTOR_FAILED.Enum(), mesos.SOURCE_EXECUTOR, "Failed to launch the command: "+err.Error())
		a.maybeRemoveExecutor(e)
		return
	}
	e.state = execRunning
	a.transition(t, mesos.TASK_RUNNING, nil, mesos.SOURCE_EXECUTOR, "")
	a.log.Info("command task started", "task_id", t.info.TaskID.Value, "framework_id", e.fw.id, "pid", cmd.Process.Pid, "directory", e.dir)
	go a.reap(e, cmd)
}

// killCommand kills a command task. Callers hold a.mu.
func (a *Agent) killCommand(t *task, policy *mesos.KillPolicy) {
	if t.killed || isTerminal(t.state) {
		return
	}
	t.killed = true
	e := t.exec
	if e.proc == nil || e.state != execRunning {
		return // launchCommand sees t.killed
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
	e.state = execTerminating
	_ = syscall.Kill(-e.proc.Pid, syscall.SIGTERM)
	e.killTimer = a.clock.AfterFunc(grace, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		e.killProcesses()
	})
}

// commandExited reports a command task's end. Callers hold a.mu.
func (a *Agent) commandExited(e *executor, ps *os.ProcessState) {
	e.state = execTerminated
	e.stopTimers()
	// The command's children go with it.
	_ = syscall.Kill(-e.proc.Pid, syscall.SIGKILL)
	if a.frameworks[e.fw.id] != e.fw {
		return
	}
	for _, t := range e.tasks {
		state, msg := mesos.TASK_FAILED, ""
		ws, _ := ps.Sys().(syscall.WaitStatus)
		switch {
		case ws.Signaled():
			msg = fmt.Sprintf("Command terminated with signal %s", ws.Signal())
		default:
			msg = fmt.Sprintf("Command exited with status %d", ws.ExitStatus())
			if ws.ExitStatus() == 0 {
				state = mesos.TASK_FINISHED
			}
		}
		if t.killed {
			state = mesos.TASK_KILLED
		}
		a.log.Info("command task ended", "task_id", t.info.TaskID.Value, "state", state.String(), "message", msg)
		a.transition(t, state, nil, mesos.SOURCE_EXECUTOR, msg)
	}
	a.maybeRemoveExecutor(e)
}
