package executor

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

// httpAgent serves the executor API over real HTTP, as far as these tests
// need: SUBSCRIBE opens a RecordIO event stream (SUBSCRIBED, then an
// ACKNOWLEDGED for every unacknowledged update it carries), UPDATE is
// recorded and acknowledged on the stream, or refused (403) before a
// SUBSCRIBE, as an agent does.
type httpAgent struct {
	mu         sync.Mutex
	stream     *wire.Stream
	subscribes chan *executor.Call_Subscribe
	updates    chan mesos.TaskStatus
}

func (a *httpAgent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	codec, werr := wire.RequestCodec(r)
	if werr != nil {
		werr.Write(w)
		return
	}
	var call executor.Call
	if werr := wire.ReadCall(r, codec, &call, "executor::Call"); werr != nil {
		werr.Write(w)
		return
	}
	ack := func(st mesos.TaskStatus) *executor.Event {
		return &executor.Event{Type: executor.Event_ACKNOWLEDGED, Acknowledged: &executor.Event_Acknowledged{TaskID: st.TaskID, UUID: st.UUID}}
	}
	switch call.Type {
	case executor.Call_SUBSCRIBE:
		stream := wire.NewStream(codec)
		_ = stream.Send(&executor.Event{Type: executor.Event_SUBSCRIBED, Subscribed: &executor.Event_Subscribed{
			AgentInfo: mesos.AgentInfo{ID: &mesos.AgentID{Value: "agent-1"}, Hostname: "127.0.0.1"},
		}})
		for _, u := range call.Subscribe.UnacknowledgedUpdates {
			a.updates <- u.Status
			_ = stream.Send(ack(u.Status))
		}
		a.mu.Lock()
		a.stream = stream
		a.mu.Unlock()
		a.subscribes <- call.Subscribe
		_ = stream.Serve(r.Context(), w, nil)
	case executor.Call_UPDATE:
		a.mu.Lock()
		subscribed := a.stream != nil
		a.mu.Unlock()
		if !subscribed {
			wire.Errorf(http.StatusForbidden, "Executor is not subscribed").Write(w)
			return
		}
		a.updates <- call.Update.Status
		a.push(ack(call.Update.Status))
		w.WriteHeader(http.StatusAccepted)
	default:
		w.WriteHeader(http.StatusAccepted)
	}
}

func (a *httpAgent) push(ev *executor.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	_ = a.stream.Send(ev)
}

// serve runs the agent on addr, with no executor subscribed, until the
// returned stop is called.
func (a *httpAgent) serve(t *testing.T, addr string) (stop func()) {
	t.Helper()
	a.mu.Lock()
	a.stream = nil
	a.mu.Unlock()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: a, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	var once sync.Once
	stop = func() { once.Do(func() { _ = srv.Close() }) }
	t.Cleanup(stop)
	return stop
}

func (a *httpAgent) awaitSubscribe(t *testing.T) *executor.Call_Subscribe {
	t.Helper()
	select {
	case s := <-a.subscribes:
		return s
	case <-time.After(wait):
		t.Fatal("no SUBSCRIBE")
	}
	return nil
}

func (a *httpAgent) nextUpdate(t *testing.T) mesos.TaskStatus {
	t.Helper()
	select {
	case st := <-a.updates:
		return st
	case <-time.After(wait):
		t.Fatal("no status update")
	}
	return mesos.TaskStatus{}
}

// TestAgentRestartOverHTTP: with checkpointing, an agent that goes away
// and comes back on the same address gets a new SUBSCRIBE, through
// mesos-go's HTTP client, carrying the task and the update it missed; the
// pod keeps running throughout.
func TestAgentRestartOverHTTP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	agent := &httpAgent{subscribes: make(chan *executor.Call_Subscribe, 10), updates: make(chan mesos.TaskStatus, 100)}
	stop := agent.serve(t, addr)

	runner := newFakeRunner()
	d, err := New(Config{
		Env: Env{FrameworkID: "fw-1", ExecutorID: "kubemesos", Sandbox: t.TempDir(), AgentEndpoint: addr,
			Checkpoint: true, RecoveryTimeout: time.Minute, SubscriptionBackoffMax: 100 * time.Millisecond},
		StartPod: runner.start, HTTPTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() { result <- d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-result })

	agent.awaitSubscribe(t)
	agent.push(&executor.Event{Type: executor.Event_LAUNCH, Launch: &executor.Event_Launch{Task: mesos.TaskInfo{
		Name: "t1", TaskID: mesos.TaskID{Value: "t1"}, Data: podTask(t, "p", nil),
	}}})
	if st := agent.nextUpdate(t); st.GetState() != mesos.TASK_STARTING {
		t.Fatalf("first update %v", st.GetState())
	}
	var pod *fakePod
	select {
	case pod = <-runner.started:
	case <-time.After(wait):
		t.Fatal("no pod started")
	}

	// The agent goes away; the pod's next status cannot be delivered.
	stop()
	pod.report(runningStatus())
	agent.serve(t, addr)

	// The STARTING update's acknowledgement may not have reached the
	// executor before the agent went away; then it is carried too, first.
	sub := agent.awaitSubscribe(t)
	var carried []mesos.TaskState
	for _, u := range sub.UnacknowledgedUpdates {
		carried = append(carried, u.Status.GetState())
	}
	if n := len(carried); n == 0 || n > 2 || carried[n-1] != mesos.TASK_RUNNING || (n == 2 && carried[0] != mesos.TASK_STARTING) {
		t.Fatalf("resubscribe carried updates %v, want [TASK_RUNNING] or [TASK_STARTING TASK_RUNNING]", carried)
	}
	for i := range carried {
		if st := agent.nextUpdate(t); st.GetState() != carried[i] {
			t.Fatalf("replayed update %d: %v, want %v", i, st.GetState(), carried[i])
		}
	}
	select {
	case g := <-pod.kills:
		t.Fatalf("pod killed (grace %v) on an agent restart", g)
	default:
	}
	pod.end(exitedStatus(corev1.PodSucceeded, 0))
	if st := agent.nextUpdate(t); st.GetState() != mesos.TASK_FINISHED {
		t.Fatalf("after the restart: %v", st.GetState())
	}
}
