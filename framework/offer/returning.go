package offer

import (
	"time"

	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

// DefaultReturnWindow is how long the remainder of an accepted offer counts
// as available on its agent while it returns to the master: until then the
// agent's next offer should bring it back.
const DefaultReturnWindow = 3 * time.Second

// inFlight is an amount of one agent and role on its way back to the
// master, counted until a time: the remainder of an ACCEPT (an agent's
// returning, below) or offers declined while pods wait (its declined, see
// declined.go).
//
// The unused remainder of the offers an ACCEPT just used comes back at the
// master's next allocation; meanwhile Available counts it and Reserve may
// claim it, so that pods do not fail scheduling while it is in flight.
// Launches on it wait for the agent's next offer of the role (Add forgets
// the remainder), and after the window they go out on what is offered (and
// fail if that is too little).
type inFlight struct {
	resources mesosoffers.Resources
	until     time.Time
}

// expireInFlight forgets the amounts of m past their window at now, and
// reports whether there were any.
func expireInFlight(m map[string]inFlight, now time.Time) bool {
	expired := false
	for role, f := range m {
		if !now.Before(f.until) {
			delete(m, role)
			expired = true
		}
	}
	return expired
}

// addInFlight adds the amounts of m to sum, in role order.
func addInFlight(sum mesosoffers.Resources, m map[string]inFlight) mesosoffers.Resources {
	for _, role := range sortedKeys(m) {
		sum = Add(sum, m[role].resources)
	}
	return sum
}

// SetReturnWindow sets how long the remainder of an ACCEPT counts as
// available (zero: not at all).
func (p *Pool) SetReturnWindow(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.returnFor = d
}
