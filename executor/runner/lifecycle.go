package runner

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubemesos/kubemesos/executor/container"
)

// instanceRun supervises one running instance of a container: its postStart
// hook, its probes, and its termination when it is stopped or fails a
// probe.
type instanceRun struct {
	c       *ctr
	inst    *instance
	proc    *container.Process
	exitCh  <-chan container.Exit
	restart chan restartRequest // a probe failed: the instance must be restarted

	ctx    context.Context // ends with the instance
	cancel context.CancelFunc
	wg     sync.WaitGroup // the probes
}

func newInstanceRun(c *ctr, inst *instance, proc *container.Process, exitCh <-chan container.Exit) *instanceRun {
	ctx, cancel := context.WithCancel(context.Background())
	return &instanceRun{c: c, inst: inst, proc: proc, exitCh: exitCh, restart: make(chan restartRequest, 1), ctx: ctx, cancel: cancel}
}

// supervise returns once the process has exited, with a message saying why
// the runner ended it, if it did.
func (r *instanceRun) supervise() (container.Exit, string) {
	defer func() {
		r.cancel()
		r.wg.Wait()
	}()
	spec := r.c.spec
	hookDone := make(chan error, 1)
	if spec.Lifecycle != nil && spec.Lifecycle.PostStart != nil {
		go func() { hookDone <- r.runHandler(r.ctx, spec.Lifecycle.PostStart) }()
	} else {
		hookDone <- nil
	}
	for {
		select {
		case exit := <-r.exitCh:
			return exit, ""
		case err := <-hookDone:
			hookDone = nil
			if err != nil {
				// As the kubelet's, the kill runs the preStop hook.
				msg := fmt.Sprintf("PostStartHookError: %v", err)
				return r.terminate(r.c.pod.podGrace(), true), msg
			}
			r.startProbes()
		case req := <-r.restart:
			return r.terminate(r.probeGrace(req.probe), true), req.message
		case <-r.c.stop:
			grace := r.c.stopGrace
			if grace < 0 {
				grace = r.c.pod.podGrace()
			}
			return r.terminate(grace, true), ""
		}
	}
}

// terminate ends the process in the kubelet's order: the preStop hook
// (when asked), SIGTERM, and SIGKILL to the process group once grace has
// passed since terminate began, or earlier if a Kill of the pod shortens it.
func (r *instanceRun) terminate(grace time.Duration, preStop bool) container.Exit {
	p := r.c.pod
	deadline := p.clock.Now().Add(grace)
	if h := r.c.spec.Lifecycle; preStop && grace > 0 && h != nil && h.PreStop != nil {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.runHandler(ctx, h.PreStop) }()
		exit, finished := r.waitUntil(deadline, done)
		cancel()
		if !finished {
			<-done
		}
		if exit != nil {
			return *exit
		}
	}
	if at, _ := p.killDeadline(deadline); p.clock.Now().Before(at) {
		r.proc.Signal(syscall.SIGTERM)
		if exit, _ := r.waitUntil(deadline, nil); exit != nil {
			return *exit
		}
	}
	r.proc.Kill()
	return <-r.exitCh
}

// waitUntil waits for the process to exit (its exit is returned), for done
// (finished is true), or for deadline, which a Kill of the pod may bring
// forward.
func (r *instanceRun) waitUntil(deadline time.Time, done <-chan error) (exit *container.Exit, finished bool) {
	p := r.c.pod
	for {
		at, regrace := p.killDeadline(deadline)
		expired := make(chan struct{})
		t := p.clock.AfterFunc(at.Sub(p.clock.Now()), func() { close(expired) })
		select {
		case e := <-r.exitCh:
			t.Stop()
			return &e, false
		case err := <-done:
			t.Stop()
			if err != nil {
				p.log.Info("preStop hook failed", "container", r.c.spec.Name, "err", err)
			}
			return nil, true
		case <-expired:
			return nil, false
		case <-regrace:
			t.Stop()
		}
	}
}

// probeGrace is the grace of a kill after a failed probe: the probe's
// terminationGracePeriodSeconds, else the pod's.
func (r *instanceRun) probeGrace(p *corev1.Probe) time.Duration {
	if p.TerminationGracePeriodSeconds != nil {
		return r.c.pod.specSeconds(*p.TerminationGracePeriodSeconds)
	}
	return r.c.pod.podGrace()
}

// restartRequest is a failed liveness or startup probe.
type restartRequest struct {
	probe   *corev1.Probe
	message string
}

// requestRestart asks supervise to end the instance; the first reason wins.
func (r *instanceRun) requestRestart(p *corev1.Probe, msg string) {
	select {
	case r.restart <- restartRequest{probe: p, message: msg}:
	default:
	}
}

// startProbes starts the startup probe, or marks the container started and
// starts the liveness and readiness probes.
func (r *instanceRun) startProbes() {
	if p := r.c.spec.StartupProbe; p != nil {
		r.goProbe(p, func(ok bool, successes, failures int32, msg string) bool {
			switch {
			case ok && successes >= 1:
				r.c.markStarted()
				r.startLivenessReadiness()
				return false
			case !ok && failures >= failureThreshold(p):
				r.requestRestart(p, "startup probe failed: "+msg)
				return false
			}
			return true
		})
		return
	}
	r.c.markStarted()
	r.startLivenessReadiness()
}

func (r *instanceRun) startLivenessReadiness() {
	if p := r.c.spec.LivenessProbe; p != nil {
		r.goProbe(p, func(ok bool, _, failures int32, msg string) bool {
			if !ok && failures >= failureThreshold(p) {
				r.requestRestart(p, "liveness probe failed: "+msg)
				return false
			}
			return true
		})
	}
	if p := r.c.spec.ReadinessProbe; p != nil {
		r.goProbe(p, func(ok bool, successes, failures int32, _ string) bool {
			switch {
			case ok && successes >= successThreshold(p):
				r.c.setReady(true)
			case !ok && failures >= failureThreshold(p):
				r.c.setReady(false)
			}
			return true
		})
	}
}

// goProbe runs probe p in a goroutine of the instance: after its initial
// delay, every period, each result (with the consecutive successes or
// failures so far) goes to next, which returns whether to go on.
func (r *instanceRun) goProbe(p *corev1.Probe, next func(ok bool, successes, failures int32, msg string) bool) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		pod := r.c.pod
		if !r.sleep(pod.specSeconds(int64(p.InitialDelaySeconds))) {
			return
		}
		period := pod.specSeconds(int64(orDefault(p.PeriodSeconds, 10)))
		timeout := pod.specSeconds(int64(orDefault(p.TimeoutSeconds, 1)))
		var successes, failures int32
		for {
			ok, msg := r.check(&p.ProbeHandler, timeout)
			if r.ctx.Err() != nil {
				return
			}
			if ok {
				successes, failures = successes+1, 0
			} else {
				successes, failures = 0, failures+1
			}
			if !next(ok, successes, failures, msg) || !r.sleep(period) {
				return
			}
		}
	}()
}

// sleep waits for d unless the instance ends; it reports whether d passed.
func (r *instanceRun) sleep(d time.Duration) bool {
	if d <= 0 {
		return r.ctx.Err() == nil
	}
	fired := make(chan struct{})
	t := r.c.pod.clock.AfterFunc(d, func() { close(fired) })
	defer t.Stop()
	select {
	case <-fired:
		return true
	case <-r.ctx.Done():
		return false
	}
}

func orDefault(v, def int32) int32 {
	if v <= 0 {
		return def
	}
	return v
}

func failureThreshold(p *corev1.Probe) int32 { return orDefault(p.FailureThreshold, 3) }
func successThreshold(p *corev1.Probe) int32 { return orDefault(p.SuccessThreshold, 1) }
