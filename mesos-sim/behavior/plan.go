package behavior

import (
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Step is one status update a simulated agent sends for a task.
type Step struct {
	// After is the delay since the previous step (or since the launch or
	// kill for the first step).
	After time.Duration
	// State is the task's new state.
	State mesos.TaskState
	// Reason is the update's reason; nil when it has none.
	Reason *mesos.TaskStatus_Reason
	// Message is the update's human-readable message; "" for none.
	Message string
	// Source says who sends the update: the executor, or the agent for
	// launch failures.
	Source mesos.TaskStatus_Source
}

// String renders s on one line, e.g.
// `+250ms TASK_FAILED SOURCE_AGENT REASON_CONTAINER_LAUNCH_FAILED "Failed to launch container: ..."`.
func (s Step) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "+%s %s %s", s.After, s.State, s.Source)
	if s.Reason != nil {
		b.WriteString(" " + s.Reason.String())
	}
	if s.Message != "" {
		b.WriteString(" " + strconv.Quote(s.Message))
	}
	return b.String()
}

// PlanLaunch returns the status updates of a task just launched (in
// TASK_STAGING), in order. The normal path is TASK_STARTING then
// TASK_RUNNING, then TASK_FINISHED or TASK_FAILED when the task has a
// duration; a failed launch is a single TASK_FAILED. PlanLaunch draws exactly
// two numbers from rng whatever the behaviour, so one task's rule does not
// shift the draws of the tasks after it; rng must not be nil.
func (c *Config) PlanLaunch(t Task, rng *rand.Rand) []Step {
	b := c.BehaviorFor(t)
	launchDraw, completionDraw := rng.Float64(), rng.Float64()

	runFor, err := b.runFor(t)
	if err != nil {
		return []Step{launchFailed(b.StartingDelay, err.Error())}
	}
	if launchDraw < b.LaunchFailureRate {
		return []Step{launchFailed(b.StartingDelay, "simulated launch failure")}
	}
	steps := []Step{
		{After: b.StartingDelay, State: mesos.TASK_STARTING, Source: mesos.SOURCE_EXECUTOR},
		{After: b.RunningDelay, State: mesos.TASK_RUNNING, Source: mesos.SOURCE_EXECUTOR},
	}
	if runFor <= 0 {
		return steps
	}
	end := Step{After: runFor, State: mesos.TASK_FINISHED, Source: mesos.SOURCE_EXECUTOR, Message: "Command exited with status 0"}
	if completionDraw < b.FailureRate {
		code := b.ExitCode
		if code == 0 {
			code = DefaultExitCode
		}
		end.State = mesos.TASK_FAILED
		end.Message = fmt.Sprintf("Command exited with status %d", code)
	}
	return append(steps, end)
}

// PlanKill returns the status updates of a task that is killed after it has
// reached its executor (TASK_STARTING or later): TASK_KILLING at once when
// the framework has the TASK_KILLING_STATE capability, then TASK_KILLED with
// no reason after the behaviour's KillDelay. A non-negative gracePeriod (the
// kill policy's) caps that delay; a task still running when it expires is
// reported killed by SIGKILL rather than SIGTERM, as the command executor
// does. A negative gracePeriod means the kill has no policy.
func (c *Config) PlanKill(t Task, killingState bool, gracePeriod time.Duration) []Step {
	b := c.BehaviorFor(t)
	delay, signal := b.KillDelay, "Terminated"
	if gracePeriod >= 0 && delay > gracePeriod {
		delay, signal = gracePeriod, "Killed"
	}
	steps := make([]Step, 0, 2)
	if killingState {
		steps = append(steps, Step{State: mesos.TASK_KILLING, Source: mesos.SOURCE_EXECUTOR})
	}
	return append(steps, Step{
		After:   delay,
		State:   mesos.TASK_KILLED,
		Source:  mesos.SOURCE_EXECUTOR,
		Message: "Command terminated with signal " + signal,
	})
}

// runFor is how long t runs before completing: its duration label if it has
// one, else b.Duration.
func (b Behavior) runFor(t Task) (time.Duration, error) {
	key := b.DurationLabel
	if key == "" {
		key = DefaultDurationLabel
	}
	v, ok := t.Labels[key]
	if !ok {
		return b.Duration, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("task label %q: invalid duration %q (want a non-negative Go duration such as \"30s\")", key, v)
	}
	return d, nil
}

func launchFailed(after time.Duration, why string) Step {
	return Step{
		After:   after,
		State:   mesos.TASK_FAILED,
		Reason:  mesos.REASON_CONTAINER_LAUNCH_FAILED.Enum(),
		Message: "Failed to launch container: " + why,
		Source:  mesos.SOURCE_AGENT,
	}
}
