package agent

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	memcg "github.com/kubemesos/kubemesos/internal/cgroup"
)

// Memory isolation (cgroups/mem): when the agent found a writable memory
// controller, each container (a command task, a custom executor, a DEFAULT
// executor with its task groups) runs in a cgroup of its own,
// kubemesos-agent-<agent id>/<container id> below the hierarchy's root,
// whose limit is the mem of the container's resources (executor and
// tasks). The agent watches each container's limit while it runs
// (oomwatch_linux.go): when the kernel OOM-kills any process of it, the
// main one or not, the agent kills the rest of the container and its tasks
// end TASK_FAILED with REASON_CONTAINER_LIMITATION_MEMORY (source
// SOURCE_AGENT) and Mesos' message ("Memory limit exceeded: Requested:
// 64MB Maximum Used: 64MB"). A container without mem gets no cgroup.

// isolation is what /state reports.
func (a *Agent) isolation() string {
	if a.memcg == nil {
		return IsolationNone
	}
	return IsolationMemory
}

func (a *Agent) cgroupParent() string { return "kubemesos-agent-" + a.id }

// containerMem is the mem (bytes) of an executor and its unfinished
// tasks. Callers hold a.mu.
func containerMem(e *executor) int64 {
	mb := memMB(e.info.Resources)
	for _, t := range e.tasks {
		if !isTerminal(t.state) {
			mb += memMB(t.info.Resources)
		}
	}
	return int64(mb * 1024 * 1024)
}

func memMB(rs []mesos.Resource) float64 {
	var mb float64
	for _, r := range rs {
		if r.Name == "mem" && r.Scalar != nil {
			mb += r.Scalar.Value
		}
	}
	return mb
}

// createCgroup makes the container's cgroup with the given limit (none if
// there is no isolation or no mem). It does file I/O: callers either do
// not hold a.mu or accept a few fast writes under it.
func (a *Agent) createCgroup(parent, containerID string, limit int64) (*memcg.Group, error) {
	if a.memcg == nil || limit <= 0 {
		return nil, nil
	}
	g, err := a.memcg.Create(parent, containerID, limit)
	if err != nil {
		return nil, fmt.Errorf("memory isolation: %w", err)
	}
	return g, nil
}

// updateCgroup sets an executor's limit to its current tasks' mem, as a
// Mesos containerizer updates a container that gets more tasks. Callers
// hold a.mu.
func (a *Agent) updateCgroup(e *executor) {
	if e.cgroup == nil {
		return
	}
	if limit := containerMem(e); limit > 0 && limit != e.cgroup.Limit() {
		if err := e.cgroup.SetLimit(limit); err != nil {
			a.log.Warn("cannot update the memory limit of a container", "executor_id", e.id(), "error", err)
		}
	}
}

// memLimited reports (once it happened, for good) whether the kernel
// OOM-killed a process of e's container. Callers hold a.mu.
func (a *Agent) memLimited(e *executor, ws syscall.WaitStatus) bool {
	if e.cgroup == nil {
		return false
	}
	if !e.oom {
		e.oom = e.cgroup.OOMKilled(ws.Signaled() && ws.Signal() == syscall.SIGKILL)
		if e.oom {
			a.log.Warn("container exceeded its memory limit", "executor_id", e.id(), "framework_id", e.fw.id, "limit", e.cgroup.Limit())
		}
	}
	return e.oom
}

// memLimitMessage is Mesos' wording of a memory limitation.
func memLimitMessage(e *executor) string {
	return fmt.Sprintf("Memory limit exceeded: Requested: %dMB Maximum Used: %dMB",
		e.cgroup.Limit()>>20, e.cgroup.MaxUsage()>>20)
}

// watchMemory starts the watch of a container's memory limit (nil without
// a cgroup, or when the watch cannot start: the breach then shows when the
// container's process exits).
func (a *Agent) watchMemory(e *executor, g *memcg.Group) *oomWatch {
	if g == nil {
		return nil
	}
	w, err := a.oom.watch(g, func() { a.memoryLimitReached(e, g) })
	if err != nil {
		a.log.Warn("cannot watch a container's memory limit; a breach shows when its process ends", "executor_id", e.id(), "error", err)
		return nil
	}
	return w
}

// memoryLimitReached ends a container whose processes hit its memory limit
// while it runs, as Mesos destroys a container on a memory limitation,
// whether or not the process the kernel killed was its main one: its tasks
// then fail with REASON_CONTAINER_LIMITATION_MEMORY as their processes are
// reaped (memLimited).
func (a *Agent) memoryLimitReached(e *executor, g *memcg.Group) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e.cgroup != g || e.oom {
		return
	}
	e.oom = true
	a.log.Warn("container exceeded its memory limit; killing it", "executor_id", e.id(), "framework_id", e.fw.id, "limit", g.Limit())
	e.killProcesses()
	killAll(g.ProcsFile())
}

// killAll SIGKILLs the processes listed in a cgroup.procs file (those that
// left the container's process groups).
func killAll(procsFile string) {
	b, _ := os.ReadFile(procsFile)
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// removeCgroup removes an ended container's cgroup, in the background (the
// kernel may take a moment to finish its processes). Callers hold a.mu.
func (a *Agent) removeCgroup(e *executor) {
	e.oomWatch.stop()
	e.oomWatch = nil
	g := e.cgroup
	if g == nil {
		return
	}
	e.cgroup = nil
	a.cgroups.Add(1)
	go func() {
		defer a.cgroups.Done()
		if err := g.Remove(); err != nil {
			a.log.Warn("cannot remove a container's cgroup", "executor_id", e.id(), "error", err)
		}
	}()
}

// removeCgroupParent removes the agent's parent cgroup once its
// containers' cgroups are gone (Run's end).
func (a *Agent) removeCgroupParent() {
	if a.memcg == nil {
		return
	}
	a.mu.Lock()
	for _, fw := range a.frameworks {
		for _, e := range fw.executors {
			a.removeCgroup(e)
		}
	}
	id := a.id
	a.mu.Unlock()
	done := make(chan struct{})
	go func() { a.cgroups.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
	if id != "" {
		_ = a.memcg.RemoveParent("kubemesos-agent-" + id)
	}
}

// staleCgroupAge: a cgroup younger than this may be a container another
// agent is starting (created, its process not in it yet).
const staleCgroupAge = time.Minute

// removeStaleCgroups removes what earlier agents left in the hierarchy
// (New calls it): the container cgroups below kubemesos-agent-* parents
// that have no process and are older than staleCgroupAge, then the parents
// left empty. Cgroups with processes stay: a live agent's containers and
// executors that outlived their agent (checkpointing frameworks).
func (a *Agent) removeStaleCgroups() {
	if a.memcg == nil {
		return
	}
	parents, _ := filepath.Glob(filepath.Join(a.memcg.Dir(), "kubemesos-agent-*"))
	now := a.clock.Now()
	removed := 0
	for _, p := range parents {
		parentOld := oldEnough(p, now) // before its children go, which touches it
		children, _ := subdirs(p)
		for _, c := range children {
			if removeIfStale(filepath.Join(p, c), oldEnough(filepath.Join(p, c), now)) {
				removed++
			}
		}
		if removeIfStale(p, parentOld) {
			removed++
		}
	}
	if removed > 0 {
		a.log.Info("removed stale cgroups of earlier agents", "count", removed)
	}
}

func oldEnough(dir string, now time.Time) bool {
	fi, err := os.Stat(dir)
	return err == nil && now.Sub(fi.ModTime()) >= staleCgroupAge
}

// removeIfStale removes an old cgroup without processes (the kernel
// refuses to remove one with children).
func removeIfStale(dir string, old bool) bool {
	if !old {
		return false
	}
	if procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs")); len(bytes.TrimSpace(procs)) > 0 {
		return false
	}
	return os.Remove(dir) == nil
}
