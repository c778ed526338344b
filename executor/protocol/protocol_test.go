package protocol

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func testPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web-1", UID: "uid-1"},
		Spec: corev1.PodSpec{NodeName: "agent-1", Containers: []corev1.Container{{
			Name: "main", Image: "busybox", Command: []string{"sleep", "60"},
		}}},
	}
}

func TestPodTaskRoundTrip(t *testing.T) {
	data, err := EncodePodTask(testPod(), &PodTask{
		ConfigMaps: map[string]*Content{"cfg": {Found: true, Data: map[string][]byte{"k": []byte("v")}}},
		Fields:     map[string]string{"status.hostIP": "127.0.0.1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	task, pod, err := DecodePodTask(data)
	if err != nil {
		t.Fatal(err)
	}
	if pod.Name != "web-1" || pod.Spec.Containers[0].Command[1] != "60" || pod.Spec.NodeName != "agent-1" {
		t.Errorf("pod did not survive the round trip: %+v", pod)
	}
	if string(task.ConfigMaps["cfg"].Data["k"]) != "v" || task.Fields["status.hostIP"] != "127.0.0.1" {
		t.Errorf("content did not survive the round trip: %v", task)
	}
	if task.Version.Major != Major || task.Version.Minor != Minor {
		t.Errorf("version = %v, want %d.%d", task.Version, Major, Minor)
	}
}

func TestPodStatusRoundTrip(t *testing.T) {
	in := &corev1.PodStatus{Phase: corev1.PodRunning, HostIP: "127.0.0.1", ContainerStatuses: []corev1.ContainerStatus{{
		Name: "main", RestartCount: 2, Ready: true,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}},
	}}}
	data, err := EncodePodStatus(in, &PodStatus{Sequence: 7, Directory: "/sandbox/pods/x",
		Logs: map[string]*LogFiles{"main": {Paths: []string{"logs/main/0.log"}}}})
	if err != nil {
		t.Fatal(err)
	}
	m, out, err := DecodePodStatus(data)
	if err != nil {
		t.Fatal(err)
	}
	if m.Directory != "/sandbox/pods/x" || m.Logs["main"].Paths[0] != "logs/main/0.log" {
		t.Errorf("directory and logs did not survive the round trip: %v", m)
	}
	if seq := m.Sequence; seq != 7 || out.Phase != corev1.PodRunning || out.ContainerStatuses[0].State.Terminated.Reason != "OOMKilled" || out.ContainerStatuses[0].RestartCount != 2 {
		t.Errorf("status did not survive the round trip: seq=%d %+v", seq, out)
	}
}

// A newer writer of the same major version may add fields; this reader
// ignores them.
func TestNewerMinorWithUnknownFieldsIsRead(t *testing.T) {
	data, err := EncodePodTask(testPod(), &PodTask{})
	if err != nil {
		t.Fatal(err)
	}
	m := &PodTask{}
	if err := proto.Unmarshal(data, m); err != nil {
		t.Fatal(err)
	}
	m.Version.Minor = Minor + 3
	data, err = proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	data = protowire.AppendTag(data, 99, protowire.BytesType)
	data = protowire.AppendString(data, "a field from the future")
	if _, pod, err := DecodePodTask(data); err != nil || pod.Name != "web-1" {
		t.Fatalf("DecodePodTask(newer minor) = %v, %v", pod, err)
	}
}

func TestOtherMajorOrNoVersionIsRefused(t *testing.T) {
	for name, v := range map[string]*Version{"other major": {Major: Major + 1}, "no version": nil} {
		raw, _ := testPod().Marshal()
		data, err := proto.Marshal(&PodTask{Version: v, Pod: raw})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := DecodePodTask(data); !errors.Is(err, ErrIncompatible) {
			t.Errorf("%s: DecodePodTask error = %v, want ErrIncompatible", name, err)
		}
		sdata, _ := proto.Marshal(&PodStatus{Version: v})
		if _, _, err := DecodePodStatus(sdata); !errors.Is(err, ErrIncompatible) {
			t.Errorf("%s: DecodePodStatus error = %v, want ErrIncompatible", name, err)
		}
	}
}

func TestMalformedInputIsAnError(t *testing.T) {
	for name, data := range map[string][]byte{"empty": nil, "garbage": {0xff, 0xff, 0xff}, "truncated": {0x12, 0x10, 0x01}} {
		if _, _, err := DecodePodTask(data); err == nil {
			t.Errorf("DecodePodTask(%s) succeeded", name)
		}
	}
	if _, _, err := DecodePodStatus([]byte{0xff, 0xff}); err == nil {
		t.Error("DecodePodStatus(garbage) succeeded")
	}
}

func FuzzDecodePodTask(f *testing.F) {
	good, _ := EncodePodTask(testPod(), &PodTask{Fields: map[string]string{"a": "b"}})
	f.Add(good)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, pod, err := DecodePodTask(data)
		if err == nil && pod == nil {
			t.Fatal("no error and no pod")
		}
	})
}

func FuzzDecodePodStatus(f *testing.F) {
	good, _ := EncodePodStatus(&corev1.PodStatus{Phase: corev1.PodPending}, &PodStatus{Sequence: 1})
	f.Add(good)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, status, err := DecodePodStatus(data)
		if err == nil && status == nil {
			t.Fatal("no error and no status")
		}
	})
}

// TestLayout pins the sandbox layout the framework derives log paths from
// after a restart: changing it breaks `kubectl logs` of running pods across
// an upgrade.
func TestLayout(t *testing.T) {
	if got := PodDir("", "web", "u1"); got != "pods/default_web_u1" {
		t.Errorf("PodDir = %q", got)
	}
	if got := LogFile("main", 3); got != "logs/main/3.log" {
		t.Errorf("LogFile = %q", got)
	}
}
