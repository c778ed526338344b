package runner

import (
	"fmt"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubemesos/kubemesos/executor/container"
)

// ctr is one container of the pod and its supervisor's state. The fields
// after mu-guarded are guarded by the pod's mu.
type ctr struct {
	pod     *Pod
	spec    *corev1.Container
	init    bool // an init container (sidecar or not)
	sidecar bool // an init container with restartPolicy Always

	stopOnce  sync.Once
	stop      chan struct{} // closed to stop the container for good
	stopGrace time.Duration // grace of that stop; negative: the pod's
	startedCh chan struct{} // closed when the container first counts as started
	startOnce sync.Once
	exited    chan struct{} // closed when the supervisor returned

	// mu-guarded
	state    corev1.ContainerState
	last     corev1.ContainerState
	restarts int32
	ready    bool
	started  bool
	id       string
	// restartPending is set between a restart's decision and the next
	// instance's appearance.
	restartPending bool
	// fatal is set when the container cannot be created at all (no
	// command, a bad env or mount): retrying would not help.
	fatal bool
}

func newCtr(p *Pod, spec *corev1.Container, init bool) *ctr {
	c := &ctr{
		pod:       p,
		spec:      spec,
		init:      init,
		sidecar:   init && spec.RestartPolicy != nil && *spec.RestartPolicy == corev1.ContainerRestartPolicyAlways,
		stop:      make(chan struct{}),
		startedCh: make(chan struct{}),
		exited:    make(chan struct{}),
	}
	reason := "ContainerCreating"
	if len(p.cfg.Pod.Spec.InitContainers) > 0 {
		reason = "PodInitializing"
	}
	c.state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
	return c
}

// requestStop stops the container for good, with grace (negative: the
// pod's terminationGracePeriodSeconds).
func (c *ctr) requestStop(grace time.Duration) {
	c.stopOnce.Do(func() {
		c.stopGrace = grace
		close(c.stop)
	})
}

func (c *ctr) stopping() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// restartPolicy is the container's own: Always for a sidecar, the pod's for
// a regular container, OnFailure (or Never) for an init container.
func (c *ctr) restartPolicy() corev1.RestartPolicy {
	pod := c.pod.cfg.Pod.Spec.RestartPolicy
	switch {
	case c.sidecar:
		return corev1.RestartPolicyAlways
	case c.init && pod == corev1.RestartPolicyNever:
		return corev1.RestartPolicyNever
	case c.init:
		return corev1.RestartPolicyOnFailure
	case pod == "":
		return corev1.RestartPolicyAlways
	}
	return pod
}

// supervise runs the container until it ends for good: it exits and its
// policy does not restart it, it is stopped, or it cannot be created.
func (c *ctr) supervise() {
	defer close(c.exited)
	crashes := 0 // restarts in a row, for the back-off
	for {
		if c.stopping() {
			return
		}
		began := c.pod.clock.Now()
		term := c.runOnce()
		if term == nil { // not created (fatal) or stopped before it ran
			return
		}
		if c.stopping() {
			return
		}
		policy := c.restartPolicy()
		if policy == corev1.RestartPolicyNever || (policy == corev1.RestartPolicyOnFailure && term.ExitCode == 0) {
			return
		}
		c.pod.log.Debug("restarting container", "container", c.spec.Name, "exit_code", term.ExitCode, "reason", term.Reason, "message", term.Message)
		if c.pod.clock.Now().Sub(began) >= c.pod.timing.BackOffReset {
			crashes = 0
		}
		delay := c.backOff(crashes)
		crashes++
		if delay > 0 {
			c.pod.mu.Lock()
			c.last = corev1.ContainerState{Terminated: c.state.Terminated}
			c.state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
				Reason:  "CrashLoopBackOff",
				Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", delay, c.spec.Name, c.pod.cfg.Pod.Name),
			}}
			c.pod.changed()
			c.pod.mu.Unlock()
			if !c.wait(delay) {
				return
			}
		}
		c.pod.mu.Lock()
		c.restartPending = true
		c.pod.mu.Unlock()
	}
}

// countRestart counts a pending restart as the next instance shows up in
// the status, moving the previous one to the last state. The caller holds
// p.mu.
func (c *ctr) countRestart() {
	if !c.restartPending {
		return
	}
	if c.state.Terminated != nil {
		c.last = corev1.ContainerState{Terminated: c.state.Terminated}
	}
	c.restarts++
	c.restartPending = false
}

// instanceNumber is the restart count of the instance being started, which
// names its log file.
func (c *ctr) instanceNumber() int32 {
	c.pod.mu.Lock()
	defer c.pod.mu.Unlock()
	if c.restartPending {
		return c.restarts + 1
	}
	return c.restarts
}

// backOff is the kubelet's delay before a restart: none for the first
// restart, then BackOffInitial doubling up to BackOffMax.
func (c *ctr) backOff(crashes int) time.Duration {
	if crashes == 0 {
		return 0
	}
	d := c.pod.timing.BackOffInitial
	for i := 1; i < crashes && d < c.pod.timing.BackOffMax; i++ {
		d *= 2
	}
	return min(d, c.pod.timing.BackOffMax)
}

// wait waits for d unless the container is stopped first; it reports
// whether d passed.
func (c *ctr) wait(d time.Duration) bool {
	fired := make(chan struct{})
	t := c.pod.clock.AfterFunc(d, func() { close(fired) })
	defer t.Stop()
	select {
	case <-fired:
		return true
	case <-c.stop:
		return false
	}
}

// runOnce creates, starts and supervises one instance of the container
// until it exits; it returns how it ended, or nil if it never ran.
func (c *ctr) runOnce() *corev1.ContainerStateTerminated {
	inst, reason, err := c.prepare()
	if err != nil {
		c.pod.log.Info("container cannot be created", "container", c.spec.Name, "reason", reason, "err", err)
		c.pod.mu.Lock()
		c.countRestart()
		c.fatal = true
		c.state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: err.Error()}}
		c.pod.changed()
		c.pod.mu.Unlock()
		return nil
	}
	defer inst.cleanup()
	proc, err := inst.start()
	now := metav1.NewTime(c.pod.clock.Now())
	if err != nil {
		term := &corev1.ContainerStateTerminated{ExitCode: 128, Reason: "StartError", Message: err.Error(), StartedAt: now, FinishedAt: now}
		c.setTerminated(term)
		return term
	}
	c.pod.mu.Lock()
	c.countRestart()
	c.id = fmt.Sprintf("process://%d", proc.Pid())
	c.state = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}
	c.ready, c.started = false, false
	c.pod.changed()
	c.pod.mu.Unlock()

	exitCh := make(chan container.Exit, 1)
	go func() {
		exit, _ := proc.Wait()
		exitCh <- exit
	}()
	run := newInstanceRun(c, inst, proc, exitCh)
	exit, message := run.supervise()
	term := &corev1.ContainerStateTerminated{
		ExitCode:    int32(exit.Code),
		Signal:      int32(exit.Signal),
		Reason:      "Completed",
		Message:     message,
		StartedAt:   now,
		FinishedAt:  metav1.NewTime(c.pod.clock.Now()),
		ContainerID: c.id,
	}
	if exit.Code != 0 {
		term.Reason = "Error"
	}
	if inst.group != nil && inst.group.OOMKilled(exit.Signal == syscall.SIGKILL) {
		term.Reason, term.ExitCode, term.Signal = "OOMKilled", 137, int32(syscall.SIGKILL)
	}
	term.Message = joinMessage(term.Message, inst.terminationMessage(term.ExitCode))
	c.setTerminated(term)
	return term
}

func (c *ctr) setTerminated(term *corev1.ContainerStateTerminated) {
	c.pod.mu.Lock()
	defer c.pod.mu.Unlock()
	c.countRestart() // a restart that failed to start
	c.state = corev1.ContainerState{Terminated: term}
	c.ready = false
	c.started = false
	c.pod.changed()
}

// markStarted records that the container passed its postStart hook and
// startup probe; without a readiness probe it is then ready.
func (c *ctr) markStarted() {
	c.pod.mu.Lock()
	c.started = true
	if c.spec.ReadinessProbe == nil {
		c.ready = true
	}
	c.pod.changed()
	c.pod.mu.Unlock()
	c.startOnce.Do(func() { close(c.startedCh) })
}

func (c *ctr) setReady(ready bool) {
	c.pod.mu.Lock()
	defer c.pod.mu.Unlock()
	if c.state.Running == nil {
		return
	}
	c.ready = ready
	c.pod.changed()
}
