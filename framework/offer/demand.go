package offer

// Signal is a decision about the flow of offers.
type Signal int

// Signals.
const (
	// None: leave offers as they are.
	None Signal = iota
	// Suppress: no pod of ours waits; ask the master to stop offering.
	Suppress
	// Revive: pods wait (again) or capacity freed; ask for offers now.
	Revive
)

func (s Signal) String() string {
	switch s {
	case Suppress:
		return "suppress"
	case Revive:
		return "revive"
	}
	return "none"
}

// Demand decides SUPPRESS and REVIVE from the number of pods of ours that
// wait for a node. The zero value starts as "offers flowing".
type Demand struct {
	suppressed bool
}

// Pending takes the number of waiting pods and returns what to send.
func (d *Demand) Pending(n int) Signal {
	switch {
	case n == 0 && !d.suppressed:
		d.suppressed = true
		return Suppress
	case n > 0 && d.suppressed:
		d.suppressed = false
		return Revive
	}
	return None
}

// Freed is called when capacity was freed (a task ended); with pods
// waiting it asks for a REVIVE, to clear the refuse filters.
func (d *Demand) Freed(pending int) Signal {
	if pending > 0 {
		d.suppressed = false
		return Revive
	}
	return None
}

// Suppressed reports whether the last signal asked to stop offers.
func (d *Demand) Suppressed() bool { return d.suppressed }

// Resubscribed resets the state: a new subscription starts unsuppressed.
func (d *Demand) Resubscribed() { d.suppressed = false }
