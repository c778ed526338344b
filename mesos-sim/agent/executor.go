package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	execapi "github.com/mesos/mesos-go/api/v1/lib/executor"

	memcg "github.com/kubemesos/kubemesos/internal/cgroup"
	"github.com/kubemesos/kubemesos/internal/clock"
	"github.com/kubemesos/kubemesos/mesos-sim/agentproto"
	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

type executorState int

const (
	execLaunching   executorState = iota // sandbox and fetch; no process yet
	execRegistering                      // process started, not subscribed
	execRunning                          // subscribed
	execTerminating                      // SHUTDOWN sent, waiting for the exit
	execTerminated                       // the process has exited
)

func (s executorState) String() string {
	return [...]string{"LAUNCHING", "REGISTERING", "RUNNING", "TERMINATING", "TERMINATED"}[s]
}

// executor is one executor run: a custom executor process speaking the
// executor API, or the built-in command executor of one command task, whose
// process is the task's.
type executor struct {
	fw   *framework
	info mesos.ExecutorInfo
	// command: the built-in command executor of one command task;
	// defaultExec: the built-in DEFAULT executor of task groups. Both run
	// their tasks' processes themselves (builtin.go); other executors are
	// processes that speak the executor API.
	command     bool
	defaultExec bool
	containerID string
	dir         string
	state       executorState

	proc   *os.Process
	exited chan struct{} // closed when proc has been reaped

	stream    *wire.Stream
	heartbeat clock.Timer
	queued    []launch // not yet delivered to the executor
	tasks     map[string]*task

	// cgroup is the container's memory cgroup (nil without isolation),
	// oomWatch the watch of its limit; oom: the container hit its limit
	// (the kernel OOM-killed a process of it).
	cgroup   *memcg.Group
	oomWatch *oomWatch
	oom      bool

	// recovering: recovered from the checkpoint of the agent's previous
	// run, not subscribed again yet (recover.go).
	recovering bool

	regTimer   clock.Timer
	killTimer  clock.Timer
	regTimeout bool // killed for not subscribing in time
}

// launch is a LAUNCH (one task) or LAUNCH_GROUP waiting for the executor.
type launch struct {
	tasks []*task
	group bool
}

func (e *executor) id() string { return e.info.ExecutorID.Value }

func (e *executor) stopTimers() {
	for _, t := range []*clock.Timer{&e.regTimer, &e.killTimer, &e.heartbeat} {
		if *t != nil {
			(*t).Stop()
			*t = nil
		}
	}
}

func (e *executor) builtin() bool { return e.command || e.defaultExec }

// killProcesses SIGKILLs the process groups of the executor and its tasks.
func (e *executor) killProcesses() {
	if e.proc != nil && e.state != execTerminated {
		_ = syscall.Kill(-e.proc.Pid, syscall.SIGKILL)
	}
	for _, t := range e.tasks {
		if t.proc != nil && !t.procDone {
			_ = syscall.Kill(-t.proc.Pid, syscall.SIGKILL)
		}
	}
}

// allExited lists what to wait for until every process of the executor has
// been reaped.
func (e *executor) allExited() []<-chan struct{} {
	var out []<-chan struct{}
	if e.proc != nil {
		out = append(out, e.exited)
	}
	for _, t := range e.tasks {
		if t.proc != nil {
			out = append(out, t.exited)
		}
	}
	return out
}

// sandboxDir is <work-dir>/slaves/<agent>/frameworks/<fw>/executors/<exec>/runs/<container>.
func (a *Agent) sandboxDir(fwID, execID, containerID string) string {
	return filepath.Join(a.cfg.WorkDir, "slaves", a.id, "frameworks", fwID, "executors", execID, "runs", containerID)
}

func (a *Agent) newExecutor(fw *framework, info mesos.ExecutorInfo, command bool) *executor {
	info.FrameworkID = &mesos.FrameworkID{Value: fw.id}
	cid := fmt.Sprintf("%x", newUUID())
	cid = cid[0:8] + "-" + cid[8:12] + "-" + cid[12:16] + "-" + cid[16:20] + "-" + cid[20:]
	e := &executor{
		fw:          fw,
		info:        info,
		command:     command,
		containerID: cid,
		dir:         a.sandboxDir(fw.id, info.ExecutorID.Value, cid),
		tasks:       map[string]*task{},
		exited:      make(chan struct{}),
	}
	fw.executors[info.ExecutorID.Value] = e
	return e
}

// runTasks launches a master's RunTasks. Callers hold a.mu.
func (a *Agent) runTasks(r agentproto.RunTasks) {
	fwID := r.Framework.GetID().GetValue()
	fw := a.frameworks[fwID]
	if fw == nil {
		fw = &framework{id: fwID, executors: map[string]*executor{}, tasks: map[string]*task{}}
		a.frameworks[fwID] = fw
	}
	fw.info = r.Framework
	a.checkpointFramework(fw)
	if r.Executor == nil {
		for _, ti := range r.Tasks {
			name := "Command Executor (Task: " + ti.TaskID.Value + ") (Command: " + commandSummary(ti.GetCommand().GetValue(), ti.GetCommand().GetShell(), ti.GetCommand().Arguments) + ")"
			e := a.newExecutor(fw, mesos.ExecutorInfo{
				ExecutorID: mesos.ExecutorID{Value: ti.TaskID.Value},
				Name:       &name,
				Command:    ti.Command,
			}, true)
			t := a.newTask(fw, e, ti)
			t.delivered = true
			a.checkpointExecutor(e)
			a.checkpointTask(t)
			if a.shuttingDown {
				continue
			}
			a.launching.Add(1)
			go a.launchCommand(e, t, a.cgroupParent())
		}
		return
	}
	e := fw.executors[r.Executor.ExecutorID.Value]
	isDefault := r.Executor.GetType() == mesos.ExecutorInfo_DEFAULT
	if e == nil || e.state == execTerminated {
		e = a.newExecutor(fw, *r.Executor, false)
		e.defaultExec = isDefault
		a.checkpointExecutor(e)
		if !isDefault {
			go a.launchExecutor(e)
		}
	}
	l := launch{group: r.Group}
	for _, ti := range r.Tasks {
		l.tasks = append(l.tasks, a.newTask(fw, e, ti))
	}
	for _, t := range l.tasks {
		t.group = l.tasks
		a.checkpointTask(t)
	}
	a.updateCgroup(e)
	if e.defaultExec {
		go a.launchGroup(e, l.tasks)
		return
	}
	if e.state == execTerminating {
		for _, t := range l.tasks {
			a.transition(t, mesos.TASK_LOST, mesos.REASON_EXECUTOR_TERMINATED.Enum(), mesos.SOURCE_AGENT, "Executor is terminating")
		}
		return
	}
	if e.state == execRunning && e.stream != nil {
		a.deliver(e, l)
		return
	}
	e.queued = append(e.queued, l)
}

func (a *Agent) newTask(fw *framework, e *executor, ti mesos.TaskInfo) *task {
	t := &task{info: ti, fw: fw, exec: e, state: mesos.TASK_STAGING, backoff: a.cfg.StatusUpdateRetryMin}
	fw.tasks[ti.TaskID.Value] = t
	e.tasks[ti.TaskID.Value] = t
	return t
}

// deliver sends a LAUNCH or LAUNCH_GROUP to a subscribed executor.
func (a *Agent) deliver(e *executor, l launch) {
	var live []*task
	for _, t := range l.tasks {
		if !isTerminal(t.state) && !t.killed {
			t.delivered = true
			a.checkpointUpdates(t)
			live = append(live, t)
		}
	}
	if len(live) == 0 {
		return
	}
	if l.group {
		group := mesos.TaskGroupInfo{}
		for _, t := range live {
			group.Tasks = append(group.Tasks, t.info)
		}
		a.sendEvent(e, &execapi.Event{Type: execapi.Event_LAUNCH_GROUP, LaunchGroup: &execapi.Event_LaunchGroup{TaskGroup: group}})
		return
	}
	for _, t := range live {
		a.sendEvent(e, &execapi.Event{Type: execapi.Event_LAUNCH, Launch: &execapi.Event_Launch{Task: t.info}})
	}
}

func (a *Agent) sendEvent(e *executor, ev *execapi.Event) {
	if e.stream == nil {
		return
	}
	if err := e.stream.Send(ev); err != nil {
		a.log.Debug("executor stream closed; event dropped", "executor_id", e.id(), "event", ev.Type.String())
	}
}

// launchExecutor prepares the sandbox, fetches the executor's URIs and
// starts its process. It runs on its own goroutine.
func (a *Agent) launchExecutor(e *executor) {
	if err := a.prepareSandbox(e); err != nil {
		a.launchFailed(e, err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if e.state != execLaunching || a.shuttingDown {
		return
	}
	cg, err := a.createCgroup(a.cgroupParent(), e.containerID, containerMem(e))
	if err != nil {
		a.failLaunchLocked(e, err)
		return
	}
	e.cgroup = cg
	e.oomWatch = a.watchMemory(e, cg)
	cmd, err := startProcess(e.dir, e.info.Command, appendCommandEnv(a.executorEnv(e, nil), e.info.Command), a.devNull, cg, e.fw.info.GetCheckpoint())
	if err != nil {
		a.failLaunchLocked(e, err)
		return
	}
	e.state = execRegistering
	e.regTimer = a.clock.AfterFunc(a.cfg.ExecutorRegistrationTimeout, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if e.state == execRegistering {
			a.log.Warn("executor did not subscribe in time; killing it", "executor_id", e.id(), "framework_id", e.fw.id)
			e.regTimeout = true
			e.killProcesses()
		}
	})
	e.proc = cmd.Process
	a.checkpointPID(e, cmd.Process.Pid)
	a.log.Info("executor started", "executor_id", e.id(), "framework_id", e.fw.id, "pid", cmd.Process.Pid, "directory", e.dir)
	go a.reap(e, cmd)
}

// prepareSandbox creates the run's sandbox, points the executor's `latest`
// link at it and fetches the executor's URIs. It makes the few directories
// it needs one by one (MkdirAll would stat each level first) and skips the
// removal of a `latest` link that cannot exist yet.
func (a *Agent) prepareSandbox(e *executor) error {
	execDir := filepath.Dir(filepath.Dir(e.dir))
	fresh, err := mkdirs(filepath.Dir(execDir), execDir, filepath.Dir(e.dir), e.dir)
	if err != nil {
		return fmt.Errorf("create sandbox: %w", err)
	}
	latest := filepath.Join(filepath.Dir(e.dir), "latest")
	if !fresh {
		_ = os.Remove(latest)
	}
	_ = os.Symlink(e.containerID, latest)
	if e.info.Command != nil && len(e.info.Command.URIs) > 0 {
		if err := a.fetcher.FetchAll(a.ctx, e.info.Command.URIs, e.dir); err != nil {
			return err
		}
	}
	return nil
}

// mkdirs makes each of dirs (each the parent of the next, the first a child
// of base), creating base and its parents first if it does not exist. It
// reports whether the first of dirs is new.
func mkdirs(base string, dirs ...string) (bool, error) {
	fresh := true
	for i, d := range dirs {
		err := os.Mkdir(d, 0o755)
		if i == 0 && errors.Is(err, fs.ErrNotExist) {
			if err := os.MkdirAll(base, 0o755); err != nil {
				return false, err
			}
			err = os.Mkdir(d, 0o755)
		}
		switch {
		case errors.Is(err, fs.ErrExist):
			if i == 0 {
				fresh = false
			}
		case err != nil:
			return false, err
		}
	}
	return fresh, nil
}

func (a *Agent) launchFailed(e *executor, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failLaunchLocked(e, err)
}

// failLaunchLocked fails the tasks of an executor that could not start
// (TASK_FAILED, REASON_CONTAINER_LAUNCH_FAILED).
func (a *Agent) failLaunchLocked(e *executor, err error) {
	if e.state == execTerminated {
		return // shut down meanwhile
	}
	a.log.Warn("executor launch failed", "executor_id", e.id(), "framework_id", e.fw.id, "error", err)
	e.state = execTerminated
	close(e.exited)
	a.removeCgroup(e)
	e.queued = nil
	for _, t := range e.tasks {
		if t.killed {
			a.transition(t, mesos.TASK_KILLED, mesos.REASON_TASK_KILLED_DURING_LAUNCH.Enum(), mesos.SOURCE_AGENT, "Task killed before it started")
			continue
		}
		a.transition(t, mesos.TASK_FAILED, mesos.REASON_CONTAINER_LAUNCH_FAILED.Enum(), mesos.SOURCE_AGENT, "Failed to launch container: "+err.Error())
	}
	if !e.command && a.frameworks[e.fw.id] == e.fw {
		a.executorExitedToMaster(e, -1)
	}
	for _, t := range e.tasks {
		t.procDone = true
	}
	a.maybeRemoveExecutor(e)
}

// reap waits for the executor's process and handles its exit.
func (a *Agent) reap(e *executor, cmd *exec.Cmd) {
	_ = cmd.Wait()
	status := int32(-1)
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ok {
		status = int32(ws)
	}
	// Whatever the executor mounted into its sandbox goes with it, as
	// Mesos' containerizer cleans up a container.
	if points, err := unmountUnder(e.dir); err != nil {
		a.log.Warn("cannot list the mounts of an exited executor's sandbox", "executor_id", e.id(), "error", err)
	} else if len(points) > 0 {
		a.log.Info("unmounted what an exited executor left in its sandbox", "executor_id", e.id(), "mounts", len(points))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	close(e.exited)
	a.memLimited(e, ws)
	a.executorExited(e, status)
}

// executorExited handles the exit of a custom executor: its unfinished
// tasks fail (REASON_EXECUTOR_TERMINATED, or REGISTRATION_TIMEOUT) and the
// framework gets a FAILURE event. Callers hold a.mu.
func (a *Agent) executorExited(e *executor, status int32) {
	a.log.Info("executor exited", "executor_id", e.id(), "framework_id", e.fw.id, "status", status)
	e.state = execTerminated
	e.stopTimers()
	if e.stream != nil {
		e.stream.Close(nil)
		e.stream = nil
	}
	e.queued = nil
	defer a.removeCgroup(e)
	if a.frameworks[e.fw.id] != e.fw {
		return // the framework was shut down
	}
	reason, msg := mesos.REASON_EXECUTOR_TERMINATED, "Executor terminated"
	if e.oom {
		reason, msg = mesos.REASON_CONTAINER_LIMITATION_MEMORY, memLimitMessage(e)
	}
	if e.regTimeout {
		reason, msg = mesos.REASON_EXECUTOR_REGISTRATION_TIMEOUT, "Executor did not register within "+a.cfg.ExecutorRegistrationTimeout.String()
	}
	for _, t := range e.tasks {
		a.transition(t, mesos.TASK_FAILED, reason.Enum(), mesos.SOURCE_AGENT, msg)
	}
	a.executorExitedToMaster(e, status)
	a.maybeRemoveExecutor(e)
}

func (a *Agent) executorExitedToMaster(e *executor, status int32) {
	if a.id == "" || a.shuttingDown {
		return
	}
	msg := agentproto.Exited{AgentID: a.id, FrameworkID: e.fw.id, ExecutorID: e.id(), Status: status}
	if a.recovering {
		a.exitedLater = append(a.exitedLater, msg)
		return
	}
	a.postExited(msg)
}

// postExited tells the master that an executor exited. Callers hold a.mu.
func (a *Agent) postExited(msg agentproto.Exited) {
	go func() {
		if _, err := a.postMaster(agentproto.PathExited, msg, nil); err != nil {
			a.log.Debug("cannot tell the master that an executor exited", "executor_id", msg.ExecutorID, "error", err)
		}
	}()
}

// maybeRemoveExecutor forgets an executor that has exited and has no task
// left, and a framework with nothing left. Callers hold a.mu.
func (a *Agent) maybeRemoveExecutor(e *executor) {
	if e.state != execTerminated || len(e.tasks) > 0 {
		return
	}
	latest := e.fw.executors[e.id()] == e
	a.forgetExecutor(e, latest)
	if latest {
		delete(e.fw.executors, e.id())
	}
	if len(e.fw.executors) == 0 && len(e.fw.tasks) == 0 && a.frameworks[e.fw.id] == e.fw {
		a.forgetFramework(e.fw)
		delete(a.frameworks, e.fw.id)
	}
}

// killTask is the master's KILL. Callers hold a.mu.
func (a *Agent) killTask(frameworkID, taskID string, policy *mesos.KillPolicy) {
	fw := a.frameworks[frameworkID]
	if fw == nil {
		return
	}
	t := fw.tasks[taskID]
	if t == nil || isTerminal(t.state) {
		return
	}
	e := t.exec
	if e.command {
		a.killBuiltin(t, policy)
		return
	}
	if e.defaultExec {
		// Killing one task of a group kills the group.
		for _, sibling := range t.group {
			a.killBuiltin(sibling, policy)
		}
		return
	}
	if !t.delivered {
		t.killed = true
		a.transition(t, mesos.TASK_KILLED, mesos.REASON_TASK_KILLED_DURING_LAUNCH.Enum(), mesos.SOURCE_AGENT, "Killed before delivery to the executor")
		return
	}
	a.sendEvent(e, &execapi.Event{Type: execapi.Event_KILL, Kill: &execapi.Event_Kill{TaskID: t.info.TaskID, KillPolicy: policy}})
}

// shutdownExecutor asks an executor to shut down: SHUTDOWN, then SIGKILL
// after its grace period. Callers hold a.mu.
func (a *Agent) shutdownExecutor(e *executor) {
	if e.builtin() {
		for _, t := range e.tasks {
			a.killBuiltin(t, nil)
		}
		return
	}
	switch e.state {
	case execTerminated, execTerminating:
		return
	case execLaunching:
		// Not started yet: its tasks fail when launchExecutor sees the state.
		e.state = execTerminated
		close(e.exited)
		for _, t := range e.tasks {
			a.transition(t, mesos.TASK_FAILED, mesos.REASON_EXECUTOR_TERMINATED.Enum(), mesos.SOURCE_AGENT, "Executor shut down before it started")
		}
		a.executorExitedToMaster(e, -1)
		a.maybeRemoveExecutor(e)
		return
	case execRegistering:
		e.state = execTerminating
		e.killProcesses()
		return
	}
	e.state = execTerminating
	a.sendEvent(e, &execapi.Event{Type: execapi.Event_SHUTDOWN})
	grace := a.cfg.ExecutorShutdownGracePeriod
	if g := e.info.ShutdownGracePeriod; g != nil && g.Nanoseconds > 0 {
		grace = time.Duration(g.Nanoseconds)
	}
	e.killTimer = a.clock.AfterFunc(grace, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if e.state != execTerminated {
			a.log.Info("executor did not exit within its grace period; killing it", "executor_id", e.id())
			e.killProcesses()
		}
	})
}

// shutdownFramework kills everything of a framework the master removed; no
// further updates are sent for it. Callers hold a.mu.
func (a *Agent) shutdownFramework(frameworkID string) {
	fw := a.frameworks[frameworkID]
	if fw == nil {
		return
	}
	delete(a.frameworks, frameworkID)
	a.forgetFramework(fw)
	for _, t := range fw.tasks {
		t.stopTimers()
	}
	for _, e := range fw.executors {
		if e.state == execRunning && !e.builtin() {
			a.shutdownExecutor(e)
			continue
		}
		e.killProcesses()
	}
}

// frameworkMessage relays a framework's message to a custom executor.
// Callers hold a.mu.
func (a *Agent) frameworkMessage(frameworkID, executorID string, data []byte) {
	fw := a.frameworks[frameworkID]
	if fw == nil {
		return
	}
	if e := fw.executors[executorID]; e != nil && !e.builtin() {
		a.sendEvent(e, &execapi.Event{Type: execapi.Event_MESSAGE, Message: &execapi.Event_Message{Data: data}})
	}
}
