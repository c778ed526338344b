package executor

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/executor/calls"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"google.golang.org/protobuf/proto"

	"github.com/kubemesos/kubemesos/executor/protocol"
	"github.com/kubemesos/kubemesos/executor/runner"
	"github.com/kubemesos/kubemesos/internal/clock"
)

// wait bounds anything a unit test awaits.
const wait = 10 * time.Second

// fakeAgent is the agent's executor API as a calls.Sender: SUBSCRIBE opens
// an event stream the test feeds, UPDATE is recorded and (with autoAck)
// acknowledged on the stream as an agent does once it has the update.
type fakeAgent struct {
	mu         sync.Mutex
	stream     chan *executor.Event
	subscribes []*executor.Call_Subscribe
	failNext   int // SUBSCRIBE calls to refuse
	autoAck    bool
	updates    chan mesos.TaskStatus
	subscribed chan struct{}
}

func newFakeAgent() *fakeAgent {
	return &fakeAgent{autoAck: true, updates: make(chan mesos.TaskStatus, 1000), subscribed: make(chan struct{}, 100)}
}

func (a *fakeAgent) Send(ctx context.Context, r calls.Request) (mesos.Response, error) {
	call := r.Call()
	a.mu.Lock()
	defer a.mu.Unlock()
	switch call.Type {
	case executor.Call_SUBSCRIBE:
		a.subscribes = append(a.subscribes, call.Subscribe)
		if a.failNext > 0 {
			a.failNext--
			return nil, errors.New("connection refused")
		}
		a.stream = make(chan *executor.Event, 1000)
		a.stream <- &executor.Event{Type: executor.Event_SUBSCRIBED, Subscribed: &executor.Event_Subscribed{
			AgentInfo: mesos.AgentInfo{ID: &mesos.AgentID{Value: "agent-1"}, Hostname: "127.0.0.1"},
		}}
		for _, u := range call.Subscribe.UnacknowledgedUpdates {
			a.updates <- u.Status
			a.stream <- &executor.Event{Type: executor.Event_ACKNOWLEDGED, Acknowledged: &executor.Event_Acknowledged{TaskID: u.Status.TaskID, UUID: u.Status.UUID}}
		}
		a.subscribed <- struct{}{}
		return &fakeStream{ch: a.stream, ctx: ctx}, nil
	case executor.Call_UPDATE:
		if a.stream == nil {
			return nil, errors.New("not subscribed")
		}
		st := call.Update.Status
		a.updates <- st
		if a.autoAck {
			a.stream <- &executor.Event{Type: executor.Event_ACKNOWLEDGED, Acknowledged: &executor.Event_Acknowledged{TaskID: st.TaskID, UUID: st.UUID}}
		}
		return nil, nil
	}
	return nil, nil
}

// push sends an event on the current stream.
func (a *fakeAgent) push(ev *executor.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stream <- ev
}

// drop ends the current stream, as an agent that restarts does.
func (a *fakeAgent) drop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	close(a.stream)
	a.stream = nil
}

func (a *fakeAgent) subscribeCalls() []*executor.Call_Subscribe {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*executor.Call_Subscribe(nil), a.subscribes...)
}

type fakeStream struct {
	ch  chan *executor.Event
	ctx context.Context
}

func (s *fakeStream) Decode(u encoding.Unmarshaler) error {
	select {
	case ev, ok := <-s.ch:
		if !ok {
			return io.EOF
		}
		*u.(*executor.Event) = *ev
		return nil
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
}

func (s *fakeStream) Close() error { return nil }

// fakePod is a pod the test drives.
type fakePod struct {
	cfg   runner.Config
	mu    sync.Mutex
	st    *corev1.PodStatus
	done  chan struct{}
	kills chan time.Duration
	// endOnKill ends the pod (exit 143) when killed.
	endOnKill bool
}

func (p *fakePod) Kill(grace time.Duration) {
	p.kills <- grace
	if p.endOnKill {
		p.end(&corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{Name: "main",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 143, Reason: "Error"}}}}})
	}
}

func (p *fakePod) Done() <-chan struct{} { return p.done }

func (p *fakePod) Status() *corev1.PodStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

// report publishes a status as the runner does.
func (p *fakePod) report(st *corev1.PodStatus) {
	p.mu.Lock()
	p.st = st
	p.mu.Unlock()
	p.cfg.OnStatus(st)
}

// end publishes the final status and ends the pod (once).
func (p *fakePod) end(st *corev1.PodStatus) {
	p.report(st)
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
	default:
		close(p.done)
	}
}

// fakeRunner starts fakePods, handing each to the test.
type fakeRunner struct {
	started  chan *fakePod
	startErr error
	onKill   bool
	gate     chan struct{} // when set, Start waits for it to close
}

func newFakeRunner() *fakeRunner { return &fakeRunner{started: make(chan *fakePod, 100), onKill: true} }

func (r *fakeRunner) start(cfg runner.Config) (Pod, error) {
	if r.gate != nil {
		<-r.gate
	}
	if r.startErr != nil {
		return nil, r.startErr
	}
	p := &fakePod{cfg: cfg, done: make(chan struct{}), kills: make(chan time.Duration, 10), endOnKill: r.onKill}
	r.started <- p
	return p, nil
}

// harness runs a Daemon against a fake agent and runner.
type harness struct {
	t       *testing.T
	agent   *fakeAgent
	runner  *fakeRunner
	sandbox string
	logs    *logRecorder
	result  chan error
}

// logRecorder is a slog handler that keeps the messages logged.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}

// logged reports whether msg was logged.
func (l *logRecorder) logged(msg string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.msgs, msg)
}

// startHarness runs a daemon; setEnv adjusts its Mesos environment.
func startHarness(t *testing.T, setEnv func(*Env), clk clock.Clock, mutate func(*fakeAgent, *fakeRunner)) *harness {
	t.Helper()
	h := &harness{t: t, agent: newFakeAgent(), runner: newFakeRunner(), result: make(chan error, 1)}
	if mutate != nil {
		mutate(h.agent, h.runner)
	}
	env := Env{FrameworkID: "fw-1", ExecutorID: "kubemesos", Sandbox: t.TempDir(), AgentEndpoint: "127.0.0.1:5051"}
	if setEnv != nil {
		setEnv(&env)
	}
	h.sandbox = env.Sandbox
	h.logs = &logRecorder{}
	d, err := New(Config{Env: env, StartPod: h.runner.start, Sender: h.agent, Subscriber: h.agent, Clock: clk, Logger: slog.New(h.logs)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { h.result <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.result:
		case <-time.After(wait):
			t.Error("daemon did not stop")
		}
	})
	h.awaitSubscribe()
	return h
}

func (h *harness) awaitSubscribe() {
	h.t.Helper()
	select {
	case <-h.agent.subscribed:
	case <-time.After(wait):
		h.t.Fatal("no SUBSCRIBE")
	}
}

// launch sends LAUNCH of a pod task with data.
func (h *harness) launch(id string, data []byte, mutate func(*mesos.TaskInfo)) {
	info := mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, Data: data}
	if mutate != nil {
		mutate(&info)
	}
	h.agent.push(&executor.Event{Type: executor.Event_LAUNCH, Launch: &executor.Event_Launch{Task: info}})
}

func (h *harness) nextUpdate() mesos.TaskStatus {
	h.t.Helper()
	select {
	case st := <-h.agent.updates:
		return st
	case <-time.After(wait):
		h.t.Fatal("no status update")
	}
	return mesos.TaskStatus{}
}

func (h *harness) nextPod() *fakePod {
	h.t.Helper()
	select {
	case p := <-h.runner.started:
		return p
	case <-time.After(wait):
		h.t.Fatal("no pod started")
	}
	return nil
}

func (h *harness) awaitExit() error {
	h.t.Helper()
	select {
	case err := <-h.result:
		h.result <- err // for Cleanup
		return err
	case <-time.After(wait):
		h.t.Fatal("daemon did not exit")
	}
	return nil
}

// podTask is a PodTask payload for a one-container pod.
func podTask(t *testing.T, name string, mutate func(*corev1.Pod, *protocol.PodTask)) []byte {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("uid-" + name)},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Command: []string{"sleep", "3600"}}}},
	}
	pt := &protocol.PodTask{}
	if mutate != nil {
		mutate(pod, pt)
	}
	data, err := protocol.EncodePodTask(pod, pt)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func runningStatus() *corev1.PodStatus {
	return &corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "main", Started: boolPtr(true),
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}
}

func exitedStatus(phase corev1.PodPhase, code int32) *corev1.PodStatus {
	return &corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{{Name: "main",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: "Completed"}}}}}
}

func boolPtr(b bool) *bool { return &b }

// decode returns the PodStatus message of an update.
func decode(t *testing.T, st mesos.TaskStatus) (*protocol.PodStatus, *corev1.PodStatus) {
	t.Helper()
	m, ps, err := protocol.DecodePodStatus(st.Data)
	if err != nil {
		t.Fatalf("update %s of %s: %v", st.GetState(), st.TaskID.Value, err)
	}
	return m, ps
}

func unmarshal(b []byte, m proto.Message) error { return proto.Unmarshal(b, m) }

func marshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
