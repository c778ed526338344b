package executor

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubemesos/kubemesos/executor/protocol"
	"github.com/kubemesos/kubemesos/internal/clock"
)

func TestPodLifecycleUpdates(t *testing.T) {
	h := startHarness(t, nil, nil, nil)
	h.launch("t1", podTask(t, "web", nil), nil)

	starting := h.nextUpdate()
	if starting.GetState() != mesos.TASK_STARTING || starting.GetSource() != mesos.SOURCE_EXECUTOR || len(starting.UUID) != 16 {
		t.Fatalf("first update %v", starting)
	}
	m, ps := decode(t, starting)
	wantDir := filepath.Join(h.sandbox, "pods", "default_web_uid-web")
	if m.Sequence != 1 || m.Directory != wantDir || ps.Phase != corev1.PodPending || ps.HostIP != "127.0.0.1" {
		t.Fatalf("STARTING data: seq %d dir %q phase %s hostIP %q, want 1 %q Pending 127.0.0.1", m.Sequence, m.Directory, ps.Phase, ps.HostIP, wantDir)
	}
	pod := h.nextPod()
	if pod.cfg.Dir != wantDir || pod.cfg.HostIP != "127.0.0.1" || pod.cfg.Pod.Name != "web" {
		t.Fatalf("runner config %+v", pod.cfg)
	}

	pod.report(runningStatus())
	pod.report(runningStatus()) // the same again: no update
	running := h.nextUpdate()
	if running.GetState() != mesos.TASK_RUNNING {
		t.Fatalf("second update %v", running.GetState())
	}
	if m, _ := decode(t, running); m.Sequence != 2 {
		t.Errorf("RUNNING sequence %d, want 2", m.Sequence)
	}
	labels := map[string]string{}
	for _, l := range running.GetLabels().GetLabels() {
		labels[l.Key] = l.GetValue()
	}
	if labels[LabelPod] != "default/web" || labels[LabelPhase] != "Running" {
		t.Errorf("labels %v", labels)
	}

	pod.end(exitedStatus(corev1.PodSucceeded, 0))
	var final mesos.TaskStatus
	for final = h.nextUpdate(); final.GetState() == mesos.TASK_RUNNING; final = h.nextUpdate() {
	}
	if final.GetState() != mesos.TASK_FINISHED {
		t.Fatalf("final update %v (%s)", final.GetState(), final.GetMessage())
	}
	if m, ps := decode(t, final); ps.Phase != corev1.PodSucceeded || m.Sequence < 3 {
		t.Errorf("FINISHED data: phase %s seq %d", ps.Phase, m.Sequence)
	}
}

func TestPodFailureMessage(t *testing.T) {
	h := startHarness(t, nil, nil, nil)
	h.launch("t1", podTask(t, "job", nil), nil)
	h.nextUpdate()
	pod := h.nextPod()
	pod.end(exitedStatus(corev1.PodFailed, 3))
	var st mesos.TaskStatus
	for st = h.nextUpdate(); !isTerminal(st.GetState()); st = h.nextUpdate() {
	}
	if st.GetState() != mesos.TASK_FAILED || !strings.Contains(st.GetMessage(), `container "main" exited with code 3`) || st.GetReason() != mesos.REASON_COMMAND_EXECUTOR_FAILED {
		t.Fatalf("final update %v %v %q", st.GetState(), st.GetReason(), st.GetMessage())
	}
}

func TestInvalidPayloads(t *testing.T) {
	h := startHarness(t, nil, nil, nil)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "task has no data"},
		{"garbage", []byte("not a protobuf \xff\xff"), "decode PodTask"},
		{"other major version", func() []byte {
			protocol.SetMinorForTesting(0)
			b := podTask(t, "x", nil)
			m := &protocol.PodTask{}
			_ = unmarshal(b, m)
			m.Version.Major = 2
			return marshal(t, m)
		}(), "incompatible"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.launch("bad-"+tc.name, tc.data, nil)
			st := h.nextUpdate()
			if st.GetState() != mesos.TASK_FAILED || st.GetReason() != mesos.REASON_TASK_INVALID || !strings.Contains(st.GetMessage(), tc.want) {
				t.Fatalf("update %v %v %q, want TASK_FAILED REASON_TASK_INVALID mentioning %q", st.GetState(), st.GetReason(), st.GetMessage(), tc.want)
			}
		})
	}
	// The executor survives and runs the next pod.
	h.launch("good", podTask(t, "good", nil), nil)
	if st := h.nextUpdate(); st.GetState() != mesos.TASK_STARTING || st.TaskID.Value != "good" {
		t.Fatalf("after bad payloads: %v %v", st.TaskID.Value, st.GetState())
	}
}

func TestLaunchGroupRefused(t *testing.T) {
	h := startHarness(t, nil, nil, nil)
	h.agent.push(&executor.Event{Type: executor.Event_LAUNCH_GROUP, LaunchGroup: &executor.Event_LaunchGroup{TaskGroup: mesos.TaskGroupInfo{
		Tasks: []mesos.TaskInfo{{Name: "a", TaskID: mesos.TaskID{Value: "a"}}, {Name: "b", TaskID: mesos.TaskID{Value: "b"}}},
	}}})
	for range 2 {
		st := h.nextUpdate()
		if st.GetState() != mesos.TASK_FAILED || !strings.Contains(st.GetMessage(), "not supported") {
			t.Fatalf("update %v %q", st.GetState(), st.GetMessage())
		}
	}
}

func TestStartError(t *testing.T) {
	h := startHarness(t, nil, nil, func(_ *fakeAgent, r *fakeRunner) { r.startErr = errors.New("volume cfg: configMap settings not found") })
	h.launch("t1", podTask(t, "p", nil), nil)
	h.nextUpdate()
	st := h.nextUpdate()
	if st.GetState() != mesos.TASK_FAILED || st.GetReason() != mesos.REASON_CONTAINER_LAUNCH_FAILED || !strings.Contains(st.GetMessage(), "configMap settings not found") {
		t.Fatalf("update %v %v %q", st.GetState(), st.GetReason(), st.GetMessage())
	}
	if _, ps := decode(t, st); ps.Phase != corev1.PodFailed {
		t.Errorf("phase %s, want Failed", ps.Phase)
	}
}

func TestKillGracePeriod(t *testing.T) {
	sec := func(n int64) *mesos.KillPolicy {
		return &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: n * int64(time.Second)}}
	}
	for _, tc := range []struct {
		name       string
		taskPolicy *mesos.KillPolicy
		killPolicy *mesos.KillPolicy
		want       time.Duration
	}{
		{"pod's own", nil, nil, -1},
		{"task kill policy", sec(7), nil, 7 * time.Second},
		{"KILL's kill policy wins", sec(7), sec(2), 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startHarness(t, nil, nil, nil)
			h.launch("t1", podTask(t, "p", nil), func(ti *mesos.TaskInfo) { ti.KillPolicy = tc.taskPolicy })
			h.nextUpdate()
			pod := h.nextPod()
			pod.report(runningStatus())
			h.nextUpdate()
			h.agent.push(&executor.Event{Type: executor.Event_KILL, Kill: &executor.Event_Kill{TaskID: mesos.TaskID{Value: "t1"}, KillPolicy: tc.killPolicy}})
			if got := <-pod.kills; got != tc.want {
				t.Errorf("Kill(%v), want %v", got, tc.want)
			}
			if st := h.nextUpdate(); st.GetState() != mesos.TASK_KILLED {
				t.Fatalf("after KILL: %v %q", st.GetState(), st.GetMessage())
			}
		})
	}
}

func TestShutdownKillsEveryPod(t *testing.T) {
	h := startHarness(t, func(e *Env) { e.ShutdownGracePeriod = 5 * time.Second }, nil, nil)
	var pods []*fakePod
	for _, name := range []string{"a", "b"} {
		h.launch(name, podTask(t, name, func(p *corev1.Pod, _ *protocol.PodTask) {
			g := int64(60)
			p.Spec.TerminationGracePeriodSeconds = &g
		}), nil)
		h.nextUpdate()
		pods = append(pods, h.nextPod())
	}
	h.agent.push(&executor.Event{Type: executor.Event_SHUTDOWN})
	for _, p := range pods {
		if g := <-p.kills; g != 4*time.Second {
			t.Errorf("%s killed with grace %v, want 4s (the shutdown grace period less what reporting needs)", p.cfg.Pod.Name, g)
		}
	}
	killed := map[string]bool{}
	for range 2 {
		st := h.nextUpdate()
		if st.GetState() != mesos.TASK_KILLED {
			t.Fatalf("update %v", st.GetState())
		}
		killed[st.TaskID.Value] = true
	}
	if !killed["a"] || !killed["b"] {
		t.Errorf("killed %v", killed)
	}
	if err := h.awaitExit(); err != nil {
		t.Fatalf("exit: %v", err)
	}
}

func TestIdleTimeout(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	h := startHarness(t, nil, clk, nil)
	h.launch("t1", podTask(t, "p", func(_ *corev1.Pod, pt *protocol.PodTask) {
		pt.Settings = &protocol.ExecutorSettings{IdleTimeoutSeconds: 60}
	}), nil)
	h.nextUpdate()
	pod := h.nextPod()
	// Never while a pod runs.
	clk.Step(time.Hour)
	pod.end(exitedStatus(corev1.PodSucceeded, 0))
	if st := h.nextUpdate(); st.GetState() != mesos.TASK_FINISHED {
		t.Fatalf("update %v", st.GetState())
	}
	eventually(t, "the idle timer", func() bool { return clk.Pending() > 0 })
	clk.Step(59 * time.Second)
	select {
	case err := <-h.result:
		t.Fatalf("exited %v before the idle timeout", err)
	default:
	}
	// From the timeout on, it exits as soon as the agent has acknowledged
	// the last update.
	for {
		clk.Step(time.Second)
		select {
		case err := <-h.result:
			h.result <- err
			if err != nil {
				t.Fatal(err)
			}
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestResubscribeWithCheckpoint(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	h := startHarness(t, func(e *Env) { e.Checkpoint = true }, clk, nil)
	h.launch("t1", podTask(t, "p", nil), nil)
	h.nextUpdate()
	pod := h.nextPod()

	// The agent restarts: the update made meanwhile is not acknowledged.
	h.agent.mu.Lock()
	h.agent.failNext = 2
	h.agent.mu.Unlock()
	h.agent.drop()
	pod.report(runningStatus())
	// Step the clock through the back-off until the third SUBSCRIBE succeeds.
	for resubscribed := false; !resubscribed; {
		select {
		case <-h.agent.subscribed:
			resubscribed = true
		case <-time.After(10 * time.Millisecond):
			clk.Step(DefaultSubscriptionBackoffMax)
		}
	}
	subs := h.agent.subscribeCalls()
	last := subs[len(subs)-1]
	if len(last.UnacknowledgedUpdates) != 1 || last.UnacknowledgedUpdates[0].Status.GetState() != mesos.TASK_RUNNING {
		t.Fatalf("resubscribe carried updates %v, want the RUNNING one", last.UnacknowledgedUpdates)
	}
	select {
	case g := <-pod.kills:
		t.Fatalf("pod killed (grace %v) on an agent restart", g)
	default:
	}
	if st := h.nextUpdate(); st.GetState() != mesos.TASK_RUNNING {
		t.Fatalf("replayed on resubscribe: %v", st.GetState())
	}
	pod.end(exitedStatus(corev1.PodSucceeded, 0))
	if st := h.nextUpdate(); st.GetState() != mesos.TASK_FINISHED {
		t.Fatalf("after resubscribing: %v", st.GetState())
	}
}

func TestAgentLostWithoutCheckpoint(t *testing.T) {
	h := startHarness(t, nil, nil, nil)
	h.launch("t1", podTask(t, "p", nil), nil)
	h.nextUpdate()
	pod := h.nextPod()
	h.agent.drop()
	<-pod.kills
	if err := h.awaitExit(); err != nil {
		t.Fatal(err)
	}
}

func TestRecoveryTimeout(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	h := startHarness(t, func(e *Env) { e.Checkpoint, e.RecoveryTimeout = true, 3*time.Second }, clk, nil)
	h.agent.mu.Lock()
	h.agent.failNext = 1000
	h.agent.mu.Unlock()
	h.agent.drop()
	for {
		select {
		case err := <-h.result:
			if err == nil || !strings.Contains(err.Error(), "recovery timeout") {
				t.Fatalf("exit %v, want the recovery timeout", err)
			}
			h.result <- err
			return
		case <-time.After(10 * time.Millisecond):
			clk.Step(500 * time.Millisecond)
		}
	}
}

func isTerminal(s mesos.TaskState) bool {
	switch s {
	case mesos.TASK_FINISHED, mesos.TASK_FAILED, mesos.TASK_KILLED, mesos.TASK_ERROR, mesos.TASK_LOST, mesos.TASK_DROPPED, mesos.TASK_GONE:
		return true
	}
	return false
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFirstSubscribeRetried: an agent that is not ready for its new
// executor yet is retried, checkpointing or not.
func TestFirstSubscribeRetried(t *testing.T) {
	h := startHarness(t, nil, nil, func(a *fakeAgent, _ *fakeRunner) { a.failNext = 2 })
	if n := len(h.agent.subscribeCalls()); n != 3 {
		t.Fatalf("%d SUBSCRIBE calls, want 3", n)
	}
	h.launch("t1", podTask(t, "p", nil), nil)
	if st := h.nextUpdate(); st.GetState() != mesos.TASK_STARTING {
		t.Fatalf("update %v", st.GetState())
	}
}

// TestKillWhileStarting: a KILL that comes before the runner has started
// the pod is applied once it has.
func TestKillWhileStarting(t *testing.T) {
	release := make(chan struct{})
	h := startHarness(t, nil, nil, func(_ *fakeAgent, r *fakeRunner) { r.gate = release })
	h.launch("t1", podTask(t, "p", nil), nil)
	h.nextUpdate()
	h.agent.push(&executor.Event{Type: executor.Event_KILL, Kill: &executor.Event_Kill{TaskID: mesos.TaskID{Value: "t1"}}})
	eventually(t, "the KILL handled", func() bool { return h.logs.logged("killing pod") })
	close(release)
	pod := h.nextPod()
	if g := <-pod.kills; g != -1 {
		t.Errorf("Kill(%v), want the pod's own grace", g)
	}
	if st := h.nextUpdate(); st.GetState() != mesos.TASK_KILLED {
		t.Fatalf("update %v", st.GetState())
	}
}

func TestShutdownWithoutPods(t *testing.T) {
	h := startHarness(t, nil, nil, nil)
	h.agent.push(&executor.Event{Type: executor.Event_SHUTDOWN})
	if err := h.awaitExit(); err != nil {
		t.Fatal(err)
	}
}
