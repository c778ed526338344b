package offer

import (
	"time"

	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

// DefaultReturnWindow is how long the remainder of an accepted offer counts
// as available on its agent while it returns to the master: until then the
// agent's next offer should bring it back.
const DefaultReturnWindow = 3 * time.Second

// returning is the unused remainder of the offers of one agent and role that
// an ACCEPT just used. The master gets it back and offers it again at its
// next allocation; meanwhile Available counts it and Reserve may claim it,
// so that pods do not fail scheduling while it is in flight. Launches on it
// wait for the agent's next offer of the role (Add forgets the remainder),
// and after the window they go out on what is offered (and fail if that is
// too little).
type returning struct {
	resources mesosoffers.Resources
	until     time.Time
}

// SetReturnWindow sets how long the remainder of an ACCEPT counts as
// available (zero: not at all).
func (p *Pool) SetReturnWindow(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.returnFor = d
}
