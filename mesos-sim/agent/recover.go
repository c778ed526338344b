package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Recovery (Mesos' --recover=reconnect): an agent started on the work
// directory of a previous run reads its checkpoint (checkpoint.go) and
// comes back as the same agent. Executors of checkpointing frameworks whose
// process is still alive are waited for: they subscribe again (their
// SUBSCRIBE carries unacknowledged tasks and updates) within
// ExecutorReregistrationTimeout, or they are killed and their tasks end
// TASK_GONE (TASK_LOST for frameworks that are not partition-aware) with
// REASON_EXECUTOR_REREGISTRATION_TIMEOUT. Executors whose process is gone
// end as an exit does: TASK_FAILED, REASON_EXECUTOR_TERMINATED, and a
// FAILURE event. The built-in command and DEFAULT executors run inside the
// agent and die with it: their unfinished tasks end TASK_FAILED,
// REASON_EXECUTOR_TERMINATED. Then the agent re-registers with the master,
// reporting its tasks and executors, and resends the updates in flight.

// recoveredPollInterval is how often the agent checks that a recovered
// executor (not its child: it cannot wait for it) is still alive.
const recoveredPollInterval = 100 * time.Millisecond

// survives reports whether an executor outlives the agent's stop: a custom
// executor of a checkpointing framework with a process, unless the agent is
// ephemeral. Callers hold a.mu.
func (a *Agent) survives(e *executor) bool {
	return !a.cfg.Ephemeral && !e.builtin() && e.fw.info.GetCheckpoint() && e.proc != nil && e.state != execTerminated
}

// recoverState reads the checkpoint of the agent's previous run, if any.
// New calls it, before anything runs.
func (a *Agent) recoverState() error {
	if a.cfg.Ephemeral {
		return nil
	}
	id, err := os.Readlink(filepath.Join(a.metaRoot(), "latest"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var info mesos.AgentInfo
	if err := readJSON(filepath.Join(a.metaRoot(), id, "slave.info"), &info); err != nil {
		return err
	}
	if info.GetID().GetValue() != id {
		return fmt.Errorf("checkpointed agent info has ID %q, want %q", info.GetID().GetValue(), id)
	}
	if _, port, _ := net.SplitHostPort(a.Endpoint()); info.Port != nil && strconv.Itoa(int(info.GetPort())) != port {
		a.log.Warn("the agent listens on another port than in its previous run: its executors cannot find it again",
			"agent_id", id, "previous_port", info.GetPort(), "port", port)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.id, a.checkpointedID = id, id
	a.recovering = true
	a.recovered = make(chan struct{})
	fwDirs, err := subdirs(filepath.Join(a.agentMeta(), "frameworks"))
	if err != nil {
		return err
	}
	var executors []*executor
	for _, fwID := range fwDirs {
		fw, execs, err := a.recoverFramework(fwID)
		if err != nil {
			return fmt.Errorf("framework %s: %w", fwID, err)
		}
		if fw != nil {
			a.frameworks[fwID] = fw
			executors = append(executors, execs...)
		}
	}
	waiting := 0
	for _, e := range executors {
		if a.resumeExecutor(e) {
			waiting++
		}
	}
	a.log.Info("agent recovered its checkpoint", "agent_id", id, "frameworks", len(a.frameworks), "executors", len(executors), "awaiting", waiting)
	a.maybeRecovered()
	return nil
}

// recoverFramework reads one framework's checkpoint. Callers hold a.mu.
func (a *Agent) recoverFramework(fwID string) (*framework, []*executor, error) {
	dir := a.frameworkMeta(fwID)
	fw := &framework{id: fwID, executors: map[string]*executor{}, tasks: map[string]*task{}}
	if err := readJSON(filepath.Join(dir, "framework.info"), &fw.info); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			_ = os.RemoveAll(dir) // a framework that never got to run anything
			return nil, nil, nil
		}
		return nil, nil, err
	}
	execIDs, err := subdirs(filepath.Join(dir, "executors"))
	if err != nil {
		return nil, nil, err
	}
	var out []*executor
	for _, execID := range execIDs {
		runs, err := a.recoverExecutor(fw, execID)
		if err != nil {
			return nil, nil, fmt.Errorf("executor %s: %w", execID, err)
		}
		out = append(out, runs...)
	}
	if len(fw.executors) == 0 {
		_ = os.RemoveAll(dir)
		return nil, nil, nil
	}
	return fw, out, nil
}

// recoverExecutor reads an executor's runs (the newest is the executor's
// current run). Callers hold a.mu.
func (a *Agent) recoverExecutor(fw *framework, execID string) ([]*executor, error) {
	dir := filepath.Join(a.frameworkMeta(fw.id), "executors", execID)
	var ce checkpointedExecutor
	if err := readJSON(filepath.Join(dir, "executor.info"), &ce); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			_ = os.RemoveAll(dir)
			return nil, nil
		}
		return nil, err
	}
	runs, err := subdirs(filepath.Join(dir, "runs"))
	if err != nil {
		return nil, err
	}
	var out []*executor
	for _, cid := range runs {
		e := &executor{
			fw:          fw,
			info:        ce.Info,
			command:     ce.Kind == kindCommand,
			defaultExec: ce.Kind == kindDefault,
			containerID: cid,
			dir:         a.sandboxDir(fw.id, execID, cid),
			tasks:       map[string]*task{},
			exited:      make(chan struct{}),
			state:       execRegistering,
		}
		e.proc = livePID(filepath.Join(a.runMeta(e), "pids", "forked.pid"))
		if err := a.recoverTasks(e); err != nil {
			return nil, err
		}
		if cur := fw.executors[execID]; cur == nil || cur.state == execTerminated || e.proc != nil {
			fw.executors[execID] = e
		}
		out = append(out, e)
	}
	return out, nil
}

// recoverTasks reads the tasks of an executor run. Callers hold a.mu.
func (a *Agent) recoverTasks(e *executor) error {
	dir := filepath.Join(a.runMeta(e), "tasks")
	ids, err := subdirs(dir)
	if err != nil {
		return err
	}
	groups := map[*task][]string{}
	for _, id := range ids {
		t := &task{fw: e.fw, exec: e, backoff: a.cfg.StatusUpdateRetryMin, procDone: true}
		var cu checkpointedUpdates
		err := readJSON(filepath.Join(dir, id, "task.info"), &t.info)
		if err == nil {
			err = readJSON(filepath.Join(dir, id, "task.updates"), &cu)
		}
		if errors.Is(err, fs.ErrNotExist) {
			_ = os.RemoveAll(filepath.Join(dir, id))
			continue
		}
		if err != nil {
			return fmt.Errorf("task %s: %w", id, err)
		}
		t.state, t.delivered, t.pending = cu.State, cu.Delivered, cu.Pending
		t.proc = livePID(filepath.Join(dir, id, "pids", "forked.pid"))
		t.seen = map[string]bool{}
		for _, u := range cu.Seen {
			t.seen[string(u)] = true
		}
		e.fw.tasks[id] = t
		e.tasks[id] = t
		groups[t] = cu.Group
	}
	for t, ids := range groups {
		for _, id := range ids {
			if g := e.tasks[id]; g != nil {
				t.group = append(t.group, g)
			}
		}
	}
	return nil
}

// resumeExecutor decides what becomes of a recovered executor run and
// reports whether the agent waits for it to subscribe. Callers hold a.mu.
func (a *Agent) resumeExecutor(e *executor) bool {
	switch {
	case e.builtin():
		e.state = execTerminated
		close(e.exited)
		for _, t := range e.tasks {
			if t.proc != nil {
				// Left behind by an agent that did not stop cleanly.
				a.log.Info("killing a task process of the agent's previous run", "task_id", t.info.TaskID.Value, "pid", t.proc.Pid)
				_ = syscall.Kill(-t.proc.Pid, syscall.SIGKILL)
				t.proc = nil
			}
		}
		for _, t := range e.tasks {
			a.transition(t, mesos.TASK_FAILED, mesos.REASON_EXECUTOR_TERMINATED.Enum(), mesos.SOURCE_AGENT,
				"Agent restarted: the built-in "+executorKind(e)+" executor does not survive its agent")
		}
		if e.defaultExec {
			a.executorExitedToMaster(e, -1)
		}
		a.maybeRemoveExecutor(e)
		return false
	case e.proc == nil || processGone(e.proc.Pid):
		a.log.Info("checkpointed executor is gone", "executor_id", e.id(), "framework_id", e.fw.id)
		close(e.exited)
		a.executorExited(e, -1)
		return false
	}
	e.recovering = true
	a.log.Info("waiting for a checkpointed executor to subscribe again", "executor_id", e.id(), "framework_id", e.fw.id, "pid", e.proc.Pid)
	go a.watchRecovered(e)
	return true
}

// watchRecovered polls a recovered executor's process (not the agent's
// child) and handles its exit.
func (a *Agent) watchRecovered(e *executor) {
	tick := time.NewTicker(recoveredPollInterval)
	defer tick.Stop()
	for !processGone(e.proc.Pid) {
		select {
		case <-a.ctx.Done():
			return
		case <-tick.C:
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	close(e.exited)
	e.recovering = false
	a.executorExited(e, -1) // the exit status of a process that is not our child is unknown
	a.maybeRecovered()
}

// subscribedAgain handles the SUBSCRIBE of a recovered executor: tasks the
// agent has but never heard of from the executor, and that the executor
// does not list as unacknowledged, were launched while the agent went down
// and are dropped (TASK_DROPPED, or TASK_LOST for frameworks that are not
// partition-aware; REASON_AGENT_RESTARTED), as Mesos does. Tasks the
// executor lists that the agent does not know are ignored. Callers hold
// a.mu.
func (a *Agent) subscribedAgain(e *executor, unacked []mesos.TaskInfo) {
	e.recovering = false
	known := map[string]bool{}
	for _, ti := range unacked {
		known[ti.TaskID.Value] = true
	}
	state := mesos.TASK_DROPPED
	if !hasFrameworkCap(e.fw.info, mesos.FrameworkInfo_Capability_PARTITION_AWARE) {
		state = mesos.TASK_LOST
	}
	for _, t := range e.tasks {
		if t.state == mesos.TASK_STAGING && !known[t.info.TaskID.Value] {
			a.transition(t, state, mesos.REASON_AGENT_RESTARTED.Enum(), mesos.SOURCE_AGENT, "Task launched during agent restart")
		}
	}
	a.maybeRecovered()
}

// maybeRecovered ends the recovery once no recovered executor is left to
// subscribe. Callers hold a.mu.
func (a *Agent) maybeRecovered() {
	if !a.recovering || a.recovered == nil {
		return
	}
	for _, fw := range a.frameworks {
		for _, e := range fw.executors {
			if e.recovering {
				return
			}
		}
	}
	select {
	case <-a.recovered:
	default:
		close(a.recovered)
	}
}

// finishRecovery waits for the recovered executors to subscribe, at most
// ExecutorReregistrationTimeout, kills those that did not, and registers
// with the master. Without a checkpoint it registers at once.
func (a *Agent) finishRecovery() {
	a.mu.Lock()
	recovered := a.recovered
	a.mu.Unlock()
	if recovered != nil {
		timeout := make(chan struct{})
		timer := a.clock.AfterFunc(a.cfg.ExecutorReregistrationTimeout, func() { close(timeout) })
		select {
		case <-recovered:
		case <-timeout:
		case <-a.ctx.Done():
		}
		timer.Stop()
		a.mu.Lock()
		a.reregistrationTimedOut()
		a.mu.Unlock()
		if a.ctx.Err() != nil {
			return
		}
	}
	a.registerLoop(false)
}

// reregistrationTimedOut kills the recovered executors that did not
// subscribe in time; their tasks end TASK_GONE (TASK_LOST for frameworks
// that are not partition-aware), REASON_EXECUTOR_REREGISTRATION_TIMEOUT.
// Callers hold a.mu.
func (a *Agent) reregistrationTimedOut() {
	for _, fw := range a.frameworks {
		for _, e := range fw.executors {
			if !e.recovering {
				continue
			}
			e.recovering = false
			a.log.Warn("checkpointed executor did not subscribe again in time; killing it", "executor_id", e.id(), "framework_id", fw.id)
			state := mesos.TASK_GONE
			if !hasFrameworkCap(fw.info, mesos.FrameworkInfo_Capability_PARTITION_AWARE) {
				state = mesos.TASK_LOST
			}
			for _, t := range e.tasks {
				a.transition(t, state, mesos.REASON_EXECUTOR_REREGISTRATION_TIMEOUT.Enum(), mesos.SOURCE_AGENT,
					"Executor did not reregister within "+MesosDuration(a.cfg.ExecutorReregistrationTimeout))
			}
			e.state = execTerminating
			e.killProcesses()
		}
	}
}

// livePID is the process a pid file records, nil if it is gone (or the
// pid now belongs to another process: the start time differs).
func livePID(path string) *os.Process {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return nil
	}
	pid, err := strconv.Atoi(fields[0])
	if err != nil || pid <= 0 || processGone(pid) {
		return nil
	}
	if len(fields) > 1 && procStartTime(pid) != fields[1] {
		return nil
	}
	p, _ := os.FindProcess(pid)
	return p
}

// processGone reports whether pid has exited (or is a zombie).
func processGone(pid int) bool {
	if syscall.Kill(pid, 0) == syscall.ESRCH {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return strings.HasPrefix(rest, "Z")
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// subdirs lists the directories in dir (none if dir does not exist).
func subdirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, de := range entries {
		if de.IsDir() {
			out = append(out, de.Name())
		}
	}
	return out, nil
}
