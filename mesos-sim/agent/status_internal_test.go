package agent

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/resources"

	"github.com/kubemesos/kubemesos/internal/clock"
	"github.com/kubemesos/kubemesos/mesos-sim/agentproto"
)

// TestStatusUpdateBackoff drives one task's status update stream on a fake
// clock against a recording master: the head is resent after 10 s, 20 s,
// 40 s... capped at the maximum, only the head is in flight, and an
// acknowledgement (not a stale one) lets the next update go.
func TestStatusUpdateBackoff(t *testing.T) {
	var mu sync.Mutex
	var got []agentproto.Update
	master := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u agentproto.Update
		if r.URL.Path != agentproto.PathUpdate || json.NewDecoder(r.Body).Decode(&u) != nil {
			http.Error(w, "unexpected", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, u)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer master.Close()
	fake := clock.NewFake(time.Unix(1000, 0))
	a, err := New(Config{
		MasterURL: master.URL, WorkDir: t.TempDir(), Resources: mesos.Resources{resources.NewCPUs(1).Resource},
		StatusUpdateRetryMin: 10 * time.Second, StatusUpdateRetryMax: 30 * time.Second, Clock: fake,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.ln.Close()
	defer a.cancel()

	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(got)
	}
	waitFor := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for count() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d updates reached the master, want %d", count(), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond) // nothing more should come
		if c := count(); c != n {
			t.Fatalf("%d updates reached the master, want exactly %d", c, n)
		}
	}

	a.mu.Lock()
	a.id = "agent-1"
	fw := &framework{id: "fw", executors: map[string]*executor{}, tasks: map[string]*task{}}
	a.frameworks["fw"] = fw
	e := a.newExecutor(fw, mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: "t"}}, true)
	tk := a.newTask(fw, e, mesos.TaskInfo{TaskID: mesos.TaskID{Value: "t"}})
	a.transition(tk, mesos.TASK_RUNNING, nil, mesos.SOURCE_EXECUTOR, "")
	a.transition(tk, mesos.TASK_FINISHED, nil, mesos.SOURCE_EXECUTOR, "done")
	a.mu.Unlock()
	waitFor(1)

	for _, step := range []struct {
		d    time.Duration
		want int
	}{
		{9 * time.Second, 1}, {time.Second, 2}, // first resend after 10 s
		{19 * time.Second, 2}, {time.Second, 3}, // then 20 s
		{30 * time.Second, 4}, // then capped at 30 s
		{30 * time.Second, 5},
	} {
		fake.Step(step.d)
		waitFor(step.want)
	}
	mu.Lock()
	for _, u := range got {
		if u.Status.GetState() != mesos.TASK_RUNNING || u.AgentID != "agent-1" || u.FrameworkID != "fw" || u.Status.GetExecutorID().GetValue() != "t" {
			t.Fatalf("update %+v: want only the head, RUNNING", u)
		}
	}
	head := got[0].Status.UUID
	mu.Unlock()

	a.mu.Lock()
	a.acknowledge("fw", "t", []byte("stale-uuid-000000"))
	a.mu.Unlock()
	fake.Step(time.Second)
	waitFor(5)

	a.mu.Lock()
	a.acknowledge("fw", "t", head)
	a.mu.Unlock()
	waitFor(6)
	mu.Lock()
	last := got[5].Status
	mu.Unlock()
	if last.GetState() != mesos.TASK_FINISHED || last.GetMessage() != "done" {
		t.Fatalf("after the acknowledgement: %v", last.GetState())
	}
	// The back-off starts again at the minimum for the new head.
	fake.Step(10 * time.Second)
	waitFor(7)

	a.mu.Lock()
	a.acknowledge("fw", "t", last.UUID)
	_, known := fw.tasks["t"]
	a.mu.Unlock()
	if known {
		t.Fatal("the task is still known after its terminal update was acknowledged")
	}
	if fake.Pending() != 0 {
		t.Fatalf("%d timers left", fake.Pending())
	}
}
