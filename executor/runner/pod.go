package runner

import (
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Reasons of a Failed pod.
const (
	// ReasonDeadlineExceeded: the pod ran longer than activeDeadlineSeconds.
	ReasonDeadlineExceeded = "DeadlineExceeded"
	// ReasonKilled: Kill ended the pod before it completed.
	ReasonKilled = "Killed"
)

// run is the pod's life: init containers in order (sidecars
// kept running), the regular containers, then termination in the
// kubelet's order, and the final status.
func (p *Pod) run() {
	defer p.finish()
	spec := &p.cfg.Pod.Spec
	if d := spec.ActiveDeadlineSeconds; d != nil {
		left := p.specSeconds(*d) - p.clock.Now().Sub(p.startTime.Time)
		t := p.clock.AfterFunc(left, func() {
			p.kill(-1, ReasonDeadlineExceeded, "Pod was active on the node longer than the specified deadline")
		})
		defer t.Stop()
	}
	var inits, sidecars, regular []*ctr
	for _, c := range p.containers {
		if c.init {
			inits = append(inits, c)
		} else {
			regular = append(regular, c)
		}
	}
	defer p.watchVolumes()()
	var launched []*ctr // non-sidecar containers started, to stop on the way out
	defer func() {
		p.stopAll(launched, false)
		slices.Reverse(sidecars)
		p.stopAll(sidecars, true)
	}()
	for _, c := range inits {
		if p.isKilled() {
			return
		}
		go c.supervise()
		if c.sidecar {
			sidecars = append(sidecars, c)
			select {
			case <-c.startedCh:
			case <-c.exited:
				p.failIfFatal(c)
				return
			case <-p.killed:
				return
			}
			continue
		}
		launched = append(launched, c)
		select {
		case <-c.exited:
		case <-p.killed:
			return
		}
		if !c.completed() {
			p.failIfFatal(c)
			return
		}
	}
	p.mu.Lock()
	p.initialized = true
	p.changed()
	p.mu.Unlock()
	for _, c := range regular {
		if p.isKilled() {
			return
		}
		launched = append(launched, c)
		go c.supervise()
	}
	for _, c := range regular {
		select {
		case <-c.exited:
			p.failIfFatal(c)
		case <-p.killed:
			return
		}
	}
}

// stopAll stops containers and waits for them: all at once, or one after the
// other (sidecars, in reverse order).
func (p *Pod) stopAll(cs []*ctr, oneByOne bool) {
	for _, c := range cs {
		c.requestStop(p.remainingGrace())
		if oneByOne {
			<-c.exited
		}
	}
	for _, c := range cs {
		<-c.exited
	}
}

// completed reports whether an init container ended successfully.
func (c *ctr) completed() bool {
	c.pod.mu.Lock()
	defer c.pod.mu.Unlock()
	return c.state.Terminated != nil && c.state.Terminated.ExitCode == 0
}

// failIfFatal fails the pod for a container that cannot be created, with
// the container's waiting reason.
func (p *Pod) failIfFatal(c *ctr) {
	p.mu.Lock()
	fatal, w := c.fatal, c.state.Waiting
	p.mu.Unlock()
	if fatal && w != nil {
		p.kill(-1, w.Reason, w.Message)
	}
}

// kill starts the pod's termination with grace (negative: the pod's) and
// the reason and message of its Failed status, unless it is already
// terminating or done.
func (p *Pod) kill(grace time.Duration, reason, message string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.phase != "" {
		return
	}
	if grace < 0 {
		grace = p.podGrace()
	}
	at := p.clock.Now().Add(grace)
	if !p.killAt.IsZero() {
		// Already terminating: a shorter grace takes over, as a kubelet's.
		if at.Before(p.killAt) {
			p.killAt = at
			close(p.regrace)
			p.regrace = make(chan struct{})
		}
		return
	}
	p.killAt = at
	if !p.completed() {
		p.failReason, p.failMessage = reason, message
	}
	close(p.killed)
	p.changed()
}

// completed reports whether the pod has nothing left to do: it is
// initialized and every regular container exited 0 under a policy that does
// not restart it. The caller holds p.mu.
func (p *Pod) completed() bool {
	if !p.initialized || p.cfg.Pod.Spec.RestartPolicy == corev1.RestartPolicyAlways || p.cfg.Pod.Spec.RestartPolicy == "" {
		return false
	}
	for _, c := range p.containers {
		if !c.init && (c.state.Terminated == nil || c.state.Terminated.ExitCode != 0) {
			return false
		}
	}
	return true
}

func (p *Pod) isKilled() bool {
	select {
	case <-p.killed:
		return true
	default:
		return false
	}
}

// killDeadline is deadline, or the end of the pod's kill grace if that is
// earlier, and a channel closed when a Kill shortens the grace.
func (p *Pod) killDeadline(deadline time.Time) (time.Time, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.killAt.IsZero() && p.killAt.Before(deadline) {
		return p.killAt, p.regrace
	}
	return deadline, p.regrace
}

// remainingGrace is what is left of a kill's grace period, or -1 (the
// pod's own grace) when the pod is not being killed.
func (p *Pod) remainingGrace() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.killAt.IsZero() {
		return -1
	}
	return max(p.killAt.Sub(p.clock.Now()), 0)
}

// volumes is the pod's materialized volumes, nil for a pod without any.
func (p *Pod) volumes() Volumes { return p.vols }

// finish releases the pod's resources and publishes its final status.
func (p *Pod) finish() {
	if p.vols != nil {
		if err := p.vols.Close(); err != nil {
			p.log.Warn("release volumes", "err", err)
		}
	}
	if p.cfg.Cgroups != nil {
		_ = p.cfg.Cgroups.RemoveParent(p.cgroupParent())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phase, p.failReason, p.failMessage = p.finalPhase()
	p.changed()
}

// finalPhase decides how the pod ended: Failed with a reason and message
// after a deadline, a kill of a pod that had not completed, or a container
// that could not be created; otherwise Succeeded when every regular
// container exited 0, and Failed naming the container that did not.
func (p *Pod) finalPhase() (corev1.PodPhase, string, string) {
	succeeded := p.initialized
	var failed *ctr
	for _, c := range p.containers {
		t := c.state.Terminated
		if c.sidecar || (c.init && t != nil && t.ExitCode == 0) {
			continue
		}
		if t == nil || t.ExitCode != 0 {
			succeeded = false
			if failed == nil && (t != nil || c.fatal) {
				failed = c
			}
		}
	}
	switch {
	case p.failReason != "":
		return corev1.PodFailed, p.failReason, p.failMessage
	case succeeded:
		return corev1.PodSucceeded, "", ""
	case failed != nil && failed.state.Terminated != nil:
		t := failed.state.Terminated
		return corev1.PodFailed, "", fmt.Sprintf("container %s failed: %s (exit code %d)", failed.spec.Name, t.Reason, t.ExitCode)
	}
	return corev1.PodFailed, "", "the pod ended before all its containers completed"
}
