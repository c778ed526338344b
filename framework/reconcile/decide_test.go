package reconcile

import (
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func TestDecide(t *testing.T) {
	bound := Pod{Exists: true, Node: "a"}
	unbound := Pod{Exists: true}
	tests := []struct {
		name string
		task Task
		pod  Pod
		want Action
	}{
		{"running task without pod is killed", Task{State: mesos.TASK_RUNNING, Node: "a"}, Pod{}, Kill},
		{"killing task without pod is killed again", Task{State: mesos.TASK_KILLING, Node: "a"}, Pod{}, Kill},
		{"ended task without pod is forgotten", Task{State: mesos.TASK_KILLED, Node: "a"}, Pod{}, Ignore},
		{"running task of a failed pod is killed", Task{State: mesos.TASK_RUNNING, Node: "a"}, Pod{Exists: true, Node: "a", Terminal: true}, Kill},
		{"ended task of a failed pod writes nothing", Task{State: mesos.TASK_FINISHED, Node: "a"}, Pod{Exists: true, Node: "a", Terminal: true}, Ignore},
		{"deleted pod's killed task is applied (removes the pod)", Task{State: mesos.TASK_KILLED, Node: "a"}, Pod{Exists: true, Node: "a", Deleting: true}, Apply},
		{"deleted terminal pod's ended task is applied", Task{State: mesos.TASK_FAILED, Node: "a"}, Pod{Exists: true, Node: "a", Deleting: true, Terminal: true}, Apply},
		{"running task of its bound pod is applied", Task{State: mesos.TASK_RUNNING, Node: "a"}, bound, Apply},
		{"reconciled running task, agent not known yet", Task{State: mesos.TASK_RUNNING}, bound, Apply},
		{"lost task of a bound pod is applied (pod Failed)", Task{State: mesos.TASK_LOST, Node: "a"}, bound, Apply},
		{"gone task of a bound pod is applied", Task{State: mesos.TASK_GONE, Node: "a"}, bound, Apply},
		{"unknown task of a bound pod is applied", Task{State: mesos.TASK_UNKNOWN}, bound, Apply},
		{"dropped task of a bound pod is applied", Task{State: mesos.TASK_DROPPED, Node: "a"}, bound, Apply},
		{"unreachable task of a bound pod is applied", Task{State: mesos.TASK_UNREACHABLE, Node: "a"}, bound, Apply},
		{"running task on another node than its pod's is killed", Task{State: mesos.TASK_RUNNING, Node: "b"}, bound, Kill},
		{"ended task on another node is forgotten", Task{State: mesos.TASK_FAILED, Node: "b"}, bound, Ignore},
		{"task launched here before the binding is applied", Task{State: mesos.TASK_RUNNING, Node: "a", LaunchedHere: true}, unbound, Apply},
		{"launch error of a task launched here is applied", Task{State: mesos.TASK_ERROR, Node: "a", LaunchedHere: true}, unbound, Apply},
		{"task of an earlier process, unbound pod: bind", Task{State: mesos.TASK_RUNNING, Node: "a"}, unbound, Bind},
		{"staging task of an earlier process, unbound pod: bind", Task{State: mesos.TASK_STAGING, Node: "a"}, unbound, Bind},
		{"task of an earlier process on an unknown agent: kill", Task{State: mesos.TASK_RUNNING}, unbound, Kill},
		{"ended task of an earlier process, unbound pod: ignore", Task{State: mesos.TASK_FAILED, Node: "a"}, unbound, Ignore},
		{"killed task of an unbound pod we killed: ignore", Task{State: mesos.TASK_KILLED, Node: "a", LaunchedHere: true, KillSent: true}, unbound, Ignore},
		{"killing task of an unbound pod we killed: ignore", Task{State: mesos.TASK_KILLING, Node: "a", KillSent: true}, unbound, Ignore},
		{"unreachable task without pod: ignore (a kill cannot reach it)", Task{State: mesos.TASK_UNREACHABLE, Node: "a"}, Pod{}, Ignore},
		{"unknown task without pod: ignore", Task{State: mesos.TASK_UNKNOWN}, Pod{}, Ignore},
		{"unreachable task of a failed pod: ignore", Task{State: mesos.TASK_UNREACHABLE, Node: "a"}, Pod{Exists: true, Node: "a", Terminal: true}, Ignore},
		{"unreachable task on another node than its pod's: ignore", Task{State: mesos.TASK_UNREACHABLE, Node: "b"}, bound, Ignore},
		{"unreachable task of an earlier process on an unknown agent: ignore", Task{State: mesos.TASK_UNREACHABLE}, unbound, Ignore},
		{"unreachable task of a deleted pod is applied", Task{State: mesos.TASK_UNREACHABLE, Node: "a", KillSent: true}, Pod{Exists: true, Node: "a", Deleting: true}, Apply},
		{"task back with its agent, no pod: killed", Task{State: mesos.TASK_RUNNING, Node: "a", Reregistered: true}, Pod{}, Kill},
		{"task back with its agent, pod deleted meanwhile: killed again", Task{State: mesos.TASK_RUNNING, Node: "a", KillSent: true, Reregistered: true}, Pod{Exists: true, Node: "a", Deleting: true}, Rekill},
		{"killing task back with its agent, pod deleted: applied (the kill arrived)", Task{State: mesos.TASK_KILLING, Node: "a", KillSent: true, Reregistered: true}, Pod{Exists: true, Node: "a", Deleting: true}, Apply},
		{"reconciled running task of a deleted pod: killed again (the kill was lost)", Task{State: mesos.TASK_RUNNING, Node: "a", KillSent: true, Reconciled: true}, Pod{Exists: true, Node: "a", Deleting: true}, Rekill},
		{"reconciled killing task of a deleted pod: applied", Task{State: mesos.TASK_KILLING, Node: "a", KillSent: true, Reconciled: true}, Pod{Exists: true, Node: "a", Deleting: true}, Apply},
		{"reconciled unreachable task of a deleted pod: applied", Task{State: mesos.TASK_UNREACHABLE, Node: "a", KillSent: true, Reconciled: true}, Pod{Exists: true, Node: "a", Deleting: true}, Apply},
		{"running task of a deleted pod, ordinary update: applied", Task{State: mesos.TASK_RUNNING, Node: "a", KillSent: true}, Pod{Exists: true, Node: "a", Deleting: true}, Apply},
		{"killed task back with its agent, pod deleted: applied (removes the pod)", Task{State: mesos.TASK_KILLED, Node: "a", Reregistered: true}, Pod{Exists: true, Node: "a", Deleting: true}, Apply},
		{"task back with its agent, pod bound there: applied", Task{State: mesos.TASK_RUNNING, Node: "a", Reregistered: true}, bound, Apply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decide(tt.task, tt.pod); got != tt.want {
				t.Errorf("Decide(%+v, %+v) = %v, want %v", tt.task, tt.pod, got, tt.want)
			}
		})
	}
}

func TestActionString(t *testing.T) {
	for a, want := range map[Action]string{Apply: "apply", Bind: "bind", Kill: "kill", Ignore: "ignore", Rekill: "rekill", Action(9): "unknown"} {
		if got := a.String(); got != want {
			t.Errorf("Action(%d).String() = %q, want %q", a, got, want)
		}
	}
}
