package status

import (
	"strings"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubemesos/kubemesos/executor/protocol"
)

func update(state mesos.TaskState, data []byte, msg string) mesos.TaskStatus {
	st := mesos.TaskStatus{TaskID: mesos.TaskID{Value: "pod-u"}, State: state.Enum(), Data: data}
	if msg != "" {
		st.Message = &msg
	}
	return st
}

func payload(t *testing.T, seq uint64, phase corev1.PodPhase) []byte {
	t.Helper()
	data, err := protocol.EncodePodStatus(&corev1.PodStatus{
		Phase:             phase,
		ContainerStatuses: []corev1.ContainerStatus{{Name: "main", Ready: true}},
	}, &protocol.PodStatus{Sequence: seq, Directory: "/sandbox/pod", Logs: map[string]*protocol.LogFiles{"main": {Paths: []string{"logs/main.0.log"}}}})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestMap(t *testing.T) {
	now := metav1.Now()
	scheduled := corev1.PodStatus{QOSClass: corev1.PodQOSBurstable, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}}
	pending := *scheduled.DeepCopy()
	pending.Phase = corev1.PodPending
	deleting := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}}
	for _, tc := range []struct {
		name    string
		update  mesos.TaskStatus
		pod     *corev1.Pod
		lastSeq uint64
		check   func(t *testing.T, r Result)
	}{
		{name: "staging is pending", update: update(mesos.TASK_STAGING, nil, ""), check: func(t *testing.T, r Result) {
			if r.Status.Phase != corev1.PodPending || r.Terminal {
				t.Errorf("%+v", r)
			}
		}},
		{name: "starting without payload on a pending pod writes nothing", update: update(mesos.TASK_STARTING, nil, ""), pod: &corev1.Pod{Status: pending}, check: func(t *testing.T, r Result) {
			if r.Status != nil || r.Stale || r.Delete || r.Terminal {
				t.Errorf("%+v", r)
			}
		}},
		{name: "starting with payload on a pending pod takes the executor's status", update: update(mesos.TASK_STARTING, payload(t, 1, corev1.PodPending), ""), pod: &corev1.Pod{Status: pending}, check: func(t *testing.T, r Result) {
			if r.Status == nil || len(r.Status.ContainerStatuses) != 1 || r.Status.HostIP != "10.0.0.9" {
				t.Errorf("%+v", r)
			}
		}},
		{name: "running without payload is running and ready", update: update(mesos.TASK_RUNNING, nil, ""), check: func(t *testing.T, r Result) {
			if r.Status.Phase != corev1.PodRunning || r.Status.HostIP != "10.0.0.9" || r.Status.StartTime == nil || !ready(r.Status) {
				t.Errorf("%+v", r.Status)
			}
		}},
		{name: "running with payload takes the executor's status", update: update(mesos.TASK_RUNNING, payload(t, 3, corev1.PodRunning), ""), check: func(t *testing.T, r Result) {
			if r.Sequence != 3 || r.Directory != "/sandbox/pod" || r.Logs["main"][0] != "logs/main.0.log" || len(r.Status.ContainerStatuses) != 1 {
				t.Errorf("%+v", r)
			}
			if r.Status.QOSClass != corev1.PodQOSBurstable || !hasCondition(r.Status, corev1.PodScheduled) {
				t.Errorf("scheduler-owned fields lost: %+v", r.Status)
			}
		}},
		{name: "older payload is stale", update: update(mesos.TASK_RUNNING, payload(t, 3, corev1.PodRunning), ""), lastSeq: 5, check: func(t *testing.T, r Result) {
			if !r.Stale {
				t.Errorf("%+v", r)
			}
		}},
		{name: "malformed payload marks the pod", update: update(mesos.TASK_RUNNING, []byte("\xff\xffgarbage"), ""), check: func(t *testing.T, r Result) {
			if r.PayloadErr == nil || !hasCondition(r.Status, ConditionStatusError) || r.Status.Phase != corev1.PodRunning {
				t.Errorf("%+v", r)
			}
		}},
		{name: "finished succeeds", update: update(mesos.TASK_FINISHED, nil, ""), check: func(t *testing.T, r Result) {
			if r.Status.Phase != corev1.PodSucceeded || !r.Terminal || ready(r.Status) {
				t.Errorf("%+v", r.Status)
			}
		}},
		{name: "failed carries reason and message", update: func() mesos.TaskStatus {
			u := update(mesos.TASK_FAILED, nil, "exit 3")
			u.Reason = mesos.REASON_COMMAND_EXECUTOR_FAILED.Enum()
			return u
		}(), check: func(t *testing.T, r Result) {
			if r.Status.Phase != corev1.PodFailed || r.Status.Reason != ReasonTaskFailed || !strings.Contains(r.Status.Message, "exit 3") || !strings.Contains(r.Status.Message, "REASON_COMMAND_EXECUTOR_FAILED") {
				t.Errorf("%+v", r.Status)
			}
		}},
		{name: "lost fails", update: update(mesos.TASK_LOST, nil, "agent gone"), check: func(t *testing.T, r Result) {
			if r.Status.Phase != corev1.PodFailed || r.Status.Reason != ReasonTaskLost {
				t.Errorf("%+v", r.Status)
			}
		}},
		{name: "killed after deletion deletes", update: update(mesos.TASK_KILLED, nil, ""), pod: deleting, check: func(t *testing.T, r Result) {
			if !r.Delete || r.Status != nil {
				t.Errorf("%+v", r)
			}
		}},
		{name: "killing of a deleted pod keeps it", update: update(mesos.TASK_KILLING, nil, ""), pod: deleting, check: func(t *testing.T, r Result) {
			if r.Delete || r.Terminal {
				t.Errorf("%+v", r)
			}
		}},
		{name: "killed without deletion fails", update: update(mesos.TASK_KILLED, nil, ""), check: func(t *testing.T, r Result) {
			if r.Delete || r.Status.Phase != corev1.PodFailed {
				t.Errorf("%+v", r)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := tc.pod
			if pod == nil {
				pod = &corev1.Pod{Status: scheduled}
			}
			before := pod.DeepCopy()
			tc.check(t, Map(Input{Update: tc.update, Pod: pod, LastSeq: tc.lastSeq, HostIP: "10.0.0.9", Now: now}))
			if pod.Status.Phase != before.Status.Phase || len(pod.Status.Conditions) != len(before.Status.Conditions) {
				t.Error("Map changed its input pod")
			}
		})
	}
}

func ready(s *corev1.PodStatus) bool {
	for _, c := range s.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func hasCondition(s *corev1.PodStatus, t corev1.PodConditionType) bool {
	for _, c := range s.Conditions {
		if c.Type == t {
			return true
		}
	}
	return false
}

// TestMapReportsTheExecutorVersion: a payload of another minor version is
// applied, and its version reported (an upgrade without a drain).
func TestMapReportsTheExecutorVersion(t *testing.T) {
	data := payload(t, 1, corev1.PodRunning)
	m := &protocol.PodStatus{}
	if err := proto.Unmarshal(data, m); err != nil {
		t.Fatal(err)
	}
	m.Version.Minor = protocol.Minor + 2
	newer, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		data      []byte
		wantMinor uint32
		wantNil   bool
	}{
		{"this build's", data, protocol.Minor, false},
		{"a newer minor", newer, protocol.Minor + 2, false},
		{"no payload", nil, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := Map(Input{Update: update(mesos.TASK_RUNNING, tc.data, ""), Pod: &corev1.Pod{}, Now: metav1.Now()})
			if res.PayloadErr != nil {
				t.Fatal(res.PayloadErr)
			}
			if tc.wantNil != (res.Version == nil) || res.Version.GetMinor() != tc.wantMinor || !tc.wantNil && res.Version.GetMajor() != protocol.Major {
				t.Errorf("version %v, want minor %d (nil: %v)", res.Version, tc.wantMinor, tc.wantNil)
			}
			if !tc.wantNil && res.Status.Phase != corev1.PodRunning {
				t.Errorf("phase %s, want the payload's Running", res.Status.Phase)
			}
		})
	}
}
