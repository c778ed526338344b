package offer

import "sort"

// Signal is a decision about the flow of offers, per role: the roles to
// SUPPRESS (no pod of ours waits in them) and the roles to REVIVE (pods wait
// in them again, or capacity was freed while they wait). Empty lists mean no
// call: Mesos reads a SUPPRESS or REVIVE with no role as "every role".
type Signal struct {
	Suppress, Revive []string
}

// None reports whether the signal asks for no call.
func (s Signal) None() bool { return len(s.Suppress) == 0 && len(s.Revive) == 0 }

// Demand decides SUPPRESS and REVIVE for each of the framework's roles from
// the number of pods of ours that wait for a node in that role, so that a
// role with nothing to place holds no offers another framework could use.
// The zero value starts as "offers flowing" in every role.
type Demand struct {
	suppressed map[string]bool
}

// Pending takes the framework's roles and the number of waiting pods by
// role, and returns what to send.
func (d *Demand) Pending(roles []string, waiting map[string]int) Signal {
	if d.suppressed == nil {
		d.suppressed = map[string]bool{}
	}
	var s Signal
	for _, role := range roles {
		switch {
		case waiting[role] == 0 && !d.suppressed[role]:
			d.suppressed[role] = true
			s.Suppress = append(s.Suppress, role)
		case waiting[role] > 0 && d.suppressed[role]:
			d.suppressed[role] = false
			s.Revive = append(s.Revive, role)
		}
	}
	sort.Strings(s.Suppress)
	sort.Strings(s.Revive)
	return s
}

// Freed is called when capacity was freed (a task ended); it revives the
// roles in which pods wait, to clear their refuse filters.
func (d *Demand) Freed(roles []string, waiting map[string]int) Signal {
	var s Signal
	for _, role := range roles {
		if waiting[role] > 0 {
			if d.suppressed != nil {
				d.suppressed[role] = false
			}
			s.Revive = append(s.Revive, role)
		}
	}
	sort.Strings(s.Revive)
	return s
}

// Suppressed reports whether the last signals stopped offers in role.
func (d *Demand) Suppressed(role string) bool { return d.suppressed[role] }

// Resubscribed resets the state: a new subscription starts unsuppressed.
func (d *Demand) Resubscribed() { d.suppressed = nil }
