package executor

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	corev1 "k8s.io/api/core/v1"
)

func TestProgressState(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init"}, {Name: "sidecar", RestartPolicy: &always}},
		Containers:     []corev1.Container{{Name: "a"}, {Name: "b"}},
	}}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	exited := func(code int32) corev1.ContainerState {
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}
	}
	waiting := corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}
	status := func(init, sidecar, a, b corev1.ContainerState) *corev1.PodStatus {
		return &corev1.PodStatus{
			InitContainerStatuses: []corev1.ContainerStatus{{Name: "init", State: init}, {Name: "sidecar", State: sidecar}},
			ContainerStatuses:     []corev1.ContainerStatus{{Name: "a", State: a}, {Name: "b", State: b}},
		}
	}
	for _, tc := range []struct {
		name       string
		st         *corev1.PodStatus
		wasRunning bool
		want       mesos.TaskState
	}{
		{"no status yet", nil, false, mesos.TASK_STARTING},
		{"init container running", status(running, waiting, waiting, waiting), false, mesos.TASK_STARTING},
		{"init failed", status(exited(1), waiting, waiting, waiting), false, mesos.TASK_STARTING},
		{"one regular container started", status(exited(0), running, running, waiting), false, mesos.TASK_STARTING},
		{"all started, sidecar running", status(exited(0), running, running, running), false, mesos.TASK_RUNNING},
		{"a container already exited counts as started", status(exited(0), running, exited(0), running), false, mesos.TASK_RUNNING},
		{"running stays running through a restart", status(exited(0), running, waiting, running), true, mesos.TASK_RUNNING},
	} {
		if got := progressState(pod, tc.st, tc.wasRunning); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestFinalOutcome(t *testing.T) {
	term := func(name string, code int32, reason string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason}}}
	}
	for _, tc := range []struct {
		name    string
		st      *corev1.PodStatus
		killed  bool
		state   mesos.TaskState
		reason  mesos.TaskStatus_Reason
		message string
	}{
		{"succeeded", &corev1.PodStatus{Phase: corev1.PodSucceeded}, false, mesos.TASK_FINISHED, 0, "pod succeeded"},
		{"killed wins", &corev1.PodStatus{Phase: corev1.PodFailed}, true, mesos.TASK_KILLED, 0, "pod killed"},
		{"container exit code", &corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{term("ok", 0, "Completed"), term("bad", 2, "Error")}},
			false, mesos.TASK_FAILED, mesos.REASON_COMMAND_EXECUTOR_FAILED, `container "bad" exited with code 2: Error`},
		{"init container first", &corev1.PodStatus{Phase: corev1.PodFailed, InitContainerStatuses: []corev1.ContainerStatus{term("init", 7, "Error")}, ContainerStatuses: []corev1.ContainerStatus{term("bad", 2, "")}},
			false, mesos.TASK_FAILED, mesos.REASON_COMMAND_EXECUTOR_FAILED, `container "init" exited with code 7`},
		{"out of memory", &corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{term("big", 137, "OOMKilled")}},
			false, mesos.TASK_FAILED, mesos.REASON_CONTAINER_LIMITATION_MEMORY, "OOMKilled"},
		{"pod reason", &corev1.PodStatus{Phase: corev1.PodFailed, Reason: "DeadlineExceeded", Message: "Pod was active on the node longer than the specified deadline"},
			false, mesos.TASK_FAILED, mesos.REASON_MAX_COMPLETION_TIME_REACHED, "pod failed: DeadlineExceeded: Pod was active"},
		{"could not start", &corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{Name: "img", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: "no command"}}}}},
			false, mesos.TASK_FAILED, mesos.REASON_CONTAINER_LAUNCH_FAILED, `container "img" could not start: CreateContainerConfigError: no command`},
		{"nothing to say", &corev1.PodStatus{Phase: corev1.PodRunning}, false, mesos.TASK_FAILED, mesos.REASON_COMMAND_EXECUTOR_FAILED, "pod ended in phase Running"},
		{"no status", nil, false, mesos.TASK_FAILED, mesos.REASON_COMMAND_EXECUTOR_FAILED, "no status"},
	} {
		o := finalOutcome(tc.st, tc.killed)
		var reason mesos.TaskStatus_Reason
		if o.reason != nil {
			reason = *o.reason
		}
		if o.state != tc.state || reason != tc.reason || !strings.Contains(o.message, tc.message) {
			t.Errorf("%s: %v %v %q, want %v %v containing %q", tc.name, o.state, reason, o.message, tc.state, tc.reason, tc.message)
		}
	}
}

func TestLogFilesOrder(t *testing.T) {
	dir := t.TempDir()
	base := time.Unix(1_700_000_000, 0)
	files := []struct {
		path  string
		mtime time.Time
	}{
		{"logs/main/1.log", base.Add(2 * time.Second)},
		{"logs/main/0.log", base},
		{"logs/main/0.log.1", base}, // same time: by name
		{"logs/side/0.log", base},
		{"logs/empty/.keep/x", base}, // a directory only: no files listed
	}
	for _, f := range files {
		p := filepath.Join(dir, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, f.mtime, f.mtime); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string][]string{}
	for c, lf := range logFiles(dir) {
		got[c] = lf.Paths
	}
	want := map[string][]string{
		"main": {"logs/main/0.log", "logs/main/0.log.1", "logs/main/1.log"},
		"side": {"logs/side/0.log"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("logFiles = %v, want %v", got, want)
	}
	if logFiles(filepath.Join(dir, "missing")) != nil {
		t.Error("a pod without logs/ has log files")
	}
}

// FuzzDecodePodTask: no payload makes the executor's decoding panic.
func FuzzDecodePodTask(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("not a protobuf"))
	f.Add([]byte{0x0a, 0x02, 0x08, 0x01, 0x12, 0x03, 0x0a, 0x01, 0x78})
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, pod, err := decodePodTask(data)
		if err == nil && (spec == nil || pod == nil || pod.Name == "") {
			t.Fatalf("decoded %v %v without an error", spec, pod)
		}
	})
}
