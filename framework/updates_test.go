package framework

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

func TestStatusPatch(t *testing.T) {
	scheduled := corev1.PodStatus{
		Phase:      corev1.PodPending,
		Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}},
	}
	running := *scheduled.DeepCopy()
	running.Phase = corev1.PodRunning
	running.HostIP = "10.0.0.9"
	running.Conditions = append(running.Conditions, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue})

	for _, tc := range []struct {
		name          string
		old, next     corev1.PodStatus
		server        corev1.PodStatus // what the API server holds when the patch lands
		wantUnchanged bool
		want          func(t *testing.T, got corev1.PodStatus)
	}{
		{name: "same status is not written", old: scheduled, next: scheduled, server: scheduled, wantUnchanged: true},
		{name: "running sets phase, host IP and the ready condition", old: scheduled, next: running, server: scheduled, want: func(t *testing.T, got corev1.PodStatus) {
			if got.Phase != corev1.PodRunning || got.HostIP != "10.0.0.9" || len(got.Conditions) != 2 {
				t.Errorf("%+v", got)
			}
		}},
		{
			// The server has a condition another writer added after our
			// cached copy: the patch keeps it instead of failing on a
			// stale resourceVersion as a PUT would.
			name: "a condition written by someone else meanwhile is kept", old: scheduled, next: running,
			server: func() corev1.PodStatus {
				s := *scheduled.DeepCopy()
				s.Conditions = append(s.Conditions, corev1.PodCondition{Type: "example.com/Gate", Status: corev1.ConditionTrue})
				return s
			}(),
			want: func(t *testing.T, got corev1.PodStatus) {
				types := map[corev1.PodConditionType]bool{}
				for _, c := range got.Conditions {
					types[c.Type] = true
				}
				if !types["example.com/Gate"] || !types[corev1.PodReady] || !types[corev1.PodScheduled] || got.Phase != corev1.PodRunning {
					t.Errorf("%+v", got)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			patch, unchanged, err := statusPatch("uid-1", &tc.old, &tc.next)
			if err != nil {
				t.Fatal(err)
			}
			if unchanged != tc.wantUnchanged {
				t.Fatalf("unchanged = %v, patch %s", unchanged, patch)
			}
			if tc.want == nil {
				return
			}
			// Apply the patch the way kube-apiserver does to the pod it has.
			server, err := json.Marshal(corev1.Pod{Status: tc.server})
			if err != nil {
				t.Fatal(err)
			}
			out, err := strategicpatch.StrategicMergePatch(server, patch, corev1.Pod{})
			if err != nil {
				t.Fatal(err)
			}
			var got corev1.Pod
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if got.UID != "uid-1" {
				t.Errorf("the patch does not carry the pod's UID as a precondition: %s", patch)
			}
			tc.want(t, got.Status)
		})
	}
}

// TestStatusSlotsBoundRequests: pod status requests beyond the bound wait
// for a slot (or for their context) instead of opening another connection.
func TestStatusSlotsBoundRequests(t *testing.T) {
	f := &Framework{statusSlots: make(chan struct{}, 2)}
	var releases []func()
	for range 2 {
		release, err := f.statusSlot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, release)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := f.statusSlot(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a third request got a slot (err %v); want it to wait", err)
	}
	got := make(chan error, 1)
	go func() {
		release, err := f.statusSlot(context.Background())
		if err == nil {
			release()
		}
		got <- err
	}()
	releases[0]()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a freed slot was not taken")
	}
	releases[1]()
	if len(f.statusSlots) != 0 {
		t.Errorf("%d slots still held", len(f.statusSlots))
	}
}

// TestResentUpdateDroppedWhileTheFirstIsWritten: a copy of an update (same
// task, same UUID) is dropped while the first is being written and taken
// once it is done; other updates and updates without a UUID always pass.
func TestResentUpdateDroppedWhileTheFirstIsWritten(t *testing.T) {
	var s inflight
	running := mesos.TaskStatus{TaskID: mesos.TaskID{Value: "pod-1"}, State: mesos.TASK_RUNNING.Enum(), UUID: []byte{1, 2}}
	next := running
	next.UUID = []byte{3, 4}
	reconciled := mesos.TaskStatus{TaskID: mesos.TaskID{Value: "pod-1"}, State: mesos.TASK_RUNNING.Enum()}
	if !s.begin(updateKey(running)) {
		t.Fatal("the first copy was dropped")
	}
	if s.begin(updateKey(running)) {
		t.Error("a resent copy was taken while the first is being written")
	}
	if !s.begin(updateKey(next)) {
		t.Error("another update of the task was dropped")
	}
	for range 2 {
		if !s.begin(updateKey(reconciled)) {
			t.Error("an update without a UUID was dropped")
		}
		s.end(updateKey(reconciled))
	}
	s.end(updateKey(running))
	if !s.begin(updateKey(running)) {
		t.Error("a copy resent after the first was written (its ACK lost) was dropped")
	}
}
