package executor

import (
	"fmt"
	"time"

	"github.com/kubemesos/kubemesos/internal/clock"
)

// defaultPodGrace is a pod's terminationGracePeriodSeconds when it sets none.
const defaultPodGrace = 30 * time.Second

// shutdownState is an executor on its way out.
type shutdownState struct {
	why   string
	timer clock.Timer
}

// checkIdle arms the idle timer when no pod runs: the executor exits once
// it has had no pod for the idle timeout (counted from the last pod's end,
// or from the start).
func (d *Daemon) checkIdle() {
	if d.shutdown != nil || d.liveTasks() > 0 {
		d.stopIdle()
		return
	}
	if d.idleTimer != nil {
		return
	}
	now := d.clock.Now()
	if d.idleSince.IsZero() {
		d.idleSince = now
	}
	wait := max(d.idleSince.Add(d.idleTimeout).Sub(now), 0)
	d.idleTimer = d.after(wait, d.idleExpired)
}

func (d *Daemon) stopIdle() {
	if d.idleTimer != nil {
		d.idleTimer.Stop()
		d.idleTimer = nil
	}
	d.idleSince = time.Time{}
}

// idleExpired re-checks, since pods may have come and the idle timeout may
// have changed, and exits once the agent has acknowledged every update.
func (d *Daemon) idleExpired() {
	d.idleTimer = nil
	if d.shutdown != nil || d.liveTasks() > 0 || d.idleSince.IsZero() {
		return
	}
	if d.clock.Now().Before(d.idleSince.Add(d.idleTimeout)) {
		d.checkIdle()
		return
	}
	if len(d.unacked) > 0 {
		d.idleTimer = d.after(retryUpdates, d.idleExpired)
		return
	}
	d.log.Info("no pods for the idle timeout; exiting", "idle_timeout", d.idleTimeout)
	d.exit = true
}

// beginShutdown terminates every pod gracefully within the shutdown grace
// period (keeping a little of it to report their ends) and exits once they
// have ended and their updates are acknowledged, or when the grace period
// is nearly over.
func (d *Daemon) beginShutdown(why string) {
	if d.shutdown != nil {
		return
	}
	d.stopIdle()
	grace := d.env.ShutdownGracePeriod
	podGrace := grace - min(grace/5, 2*time.Second)
	d.log.Info("shutting down", "why", why, "pods", d.liveTasks(), "grace", grace)
	for _, id := range d.order {
		t := d.tasks[id]
		if t == nil || !t.live {
			continue
		}
		g := podGrace
		if own := t.ownGrace(); own < g {
			g = own
		}
		if t.kill && t.killGrace >= 0 && t.killGrace < g {
			g = t.killGrace
		}
		t.kill = true
		t.killGrace = g
		if t.handle != nil {
			go t.handle.Kill(g)
		}
	}
	d.shutdown = &shutdownState{why: why}
	d.shutdown.timer = d.after(grace-grace/10, func() {
		if n := d.liveTasks(); n > 0 {
			d.exitErr = fmt.Errorf("shutdown grace period over with %d pods still running", n)
		}
		d.exit = true
	})
	d.maybeExit()
}

// maybeExit ends a shutdown once no pod runs and the agent has every
// update (or cannot be told any more).
func (d *Daemon) maybeExit() {
	if d.shutdown == nil || d.liveTasks() > 0 {
		return
	}
	if len(d.unacked) > 0 && d.connected {
		return
	}
	d.shutdown.timer.Stop()
	d.exit = true
}

// ownGrace is the pod's terminationGracePeriodSeconds.
func (t *task) ownGrace() time.Duration {
	if t.pod == nil || t.pod.Spec.TerminationGracePeriodSeconds == nil {
		return defaultPodGrace
	}
	return time.Duration(*t.pod.Spec.TerminationGracePeriodSeconds) * time.Second
}
