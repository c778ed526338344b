package offer

import "time"

// maxLingerRefuse is the longest decline refuse filter after which declined
// offers linger (see SetDeclineRefuse): beyond it the master will not offer
// them again soon, and the node's allocatable should say so at once.
const maxLingerRefuse = 10 * time.Second

// SetDeclineRefuse tells the pool the refuse filter of its declines. An
// offer declined while pods wait in its role goes back to the master for
// that filter, after which the master offers it again (in a shared cluster
// another framework may have taken part of it). When the filter is short
// (up to 10 s), the agent's Offered still counts the declined offer
// (agent.declined) until the agent's next offer of the role, or for the
// filter and a return window more: its node's allocatable then stays as it
// was, rather than dropping and coming back a few seconds later, two node
// writes (and two node events for every scheduler and controller) per
// decline. At 5,000 agents that was 0.61 node status writes per pod.
// Available does not count it: no pod is placed on what was given back.
func (p *Pool) SetDeclineRefuse(refuse time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lingerFor = 0
	if refuse > 0 && refuse <= maxLingerRefuse {
		p.lingerFor = refuse + DefaultReturnWindow
	}
}

// lingerLocked records what the declined offer h brought on a, until now
// and the linger window, if pods wait in its role.
func (p *Pool) lingerLocked(a *agent, h *held, now time.Time, waiting map[string]Waiting) {
	if p.lingerFor <= 0 || waiting[h.role].Pods == 0 {
		return
	}
	d := a.declined[h.role]
	d.resources = Add(d.resources, Summarize(h.offer.Resources))
	d.until = now.Add(p.lingerFor)
	a.declined[h.role] = d
}

// expireInFlightLocked forgets the remainders returning and the declined
// offers lingering past their window at now (the master offered them to
// another framework, or not yet).
func (p *Pool) expireInFlightLocked(a *agent, now time.Time) {
	returned := expireInFlight(a.returning, now)
	if expireInFlight(a.declined, now) || returned {
		p.refreshLocked(a)
	}
}
