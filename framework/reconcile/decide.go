package reconcile

import (
	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/kubemesos/kubemesos/framework/status"
)

// Pod is what the decision needs of a task's pod.
type Pod struct {
	// Exists is false when no pod has the task's UID.
	Exists bool
	// Node is spec.nodeName ("" while the pod is not bound).
	Node string
	// Terminal: the pod's phase is Succeeded or Failed.
	Terminal bool
	// Deleting: the pod has a deletionTimestamp.
	Deleting bool
}

// Task is what the decision needs of the task.
type Task struct {
	State mesos.TaskState
	// Node is the node of the task's agent ("" when the agent is unknown).
	Node string
	// LaunchedHere: this process sent the task's LAUNCH, so the scheduler
	// that asked for it writes the pod's Binding.
	LaunchedHere bool
	// KillSent: this process asked for the task to be killed.
	KillSent bool
	// Reregistered: the update says the task's agent came back
	// (REASON_AGENT_REREGISTERED) after the master had lost it. A kill sent
	// while the agent was away never reached it.
	Reregistered bool
	// Reconciled: the update answers a reconciliation
	// (REASON_RECONCILIATION). A task still running then has not seen the
	// kill sent before, if any: messages to agents may be lost.
	Reconciled bool
}

// Action is what to do with the update.
type Action int

const (
	// Apply maps the update into the pod's status (status.Map).
	Apply Action = iota
	// Bind binds the pod to Task.Node, then applies the update: the task
	// was launched by an earlier framework process that died before the
	// Binding was written.
	Bind
	// Kill kills the task and writes nothing: it has no pod to run for.
	Kill
	// Ignore writes nothing; a terminal task is forgotten.
	Ignore
	// Rekill kills the task again, with the pod's grace period, then
	// applies the update: the pod is being deleted and its task still runs
	// when its agent comes back or a reconciliation answers, so the kill
	// sent before was lost.
	Rekill
)

func (a Action) String() string {
	switch a {
	case Apply:
		return "apply"
	case Bind:
		return "bind"
	case Kill:
		return "kill"
	case Ignore:
		return "ignore"
	case Rekill:
		return "rekill"
	}
	return "unknown"
}

// Decide applies the rules that keep exactly one task per pod:
//
//   - no pod: a live task is killed;
//   - a pod being deleted: the update is applied (a terminal one removes
//     the pod object; the kill was sent when the deletion was seen); a
//     task not yet being killed whose agent re-registered, or that a
//     reconciliation reports, is killed again first: the kill sent before
//     was lost (its agent was unreachable, or a message was dropped);
//   - a terminal pod (Succeeded or Failed): a live task is killed, nothing
//     is written (a pod never leaves a terminal phase);
//   - an unbound pod: a task this process launched is applied (the
//     scheduler is writing the Binding), unless this process killed it; a
//     live task of an earlier process is bound to its node (the Binding
//     the dead process never wrote), or killed when its node is unknown;
//     any other terminal task is ignored (the scheduler places the pod
//     again, with the same task ID);
//   - a bound pod: a live task on another node is killed; anything else is
//     applied, so a task the master reports LOST, GONE, DROPPED or UNKNOWN
//     makes its pod Failed;
//   - a task that would be killed but is UNREACHABLE or UNKNOWN is ignored
//     instead: the master cannot reach it and answers a KILL with the same
//     state, so killing it would loop. It is killed once its agent comes
//     back and reports it (REASON_AGENT_REREGISTERED).
func Decide(t Task, p Pod) Action {
	a := decide(t, p)
	if a == Kill && !killable(t.State) {
		return Ignore
	}
	return a
}

// killable reports whether a KILL can reach a task in state s.
func killable(s mesos.TaskState) bool {
	return s != mesos.TASK_UNREACHABLE && s != mesos.TASK_UNKNOWN
}

func decide(t Task, p Pod) Action {
	live := !status.IsTerminal(t.State)
	switch {
	case !p.Exists, p.Terminal && !p.Deleting:
		if live {
			return Kill
		}
		return Ignore
	case p.Deleting:
		if live && (t.Reregistered || t.Reconciled) && killable(t.State) && t.State != mesos.TASK_KILLING {
			return Rekill
		}
		return Apply
	case p.Node == "":
		switch {
		case t.LaunchedHere && !t.KillSent:
			return Apply
		case !live:
			return Ignore
		case t.KillSent:
			return Ignore
		case t.Node != "":
			return Bind
		}
		return Kill
	case t.Node != "" && t.Node != p.Node:
		if live {
			return Kill
		}
		return Ignore
	}
	return Apply
}
