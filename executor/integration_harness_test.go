package executor_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/resources"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubemesos/kubemesos/executor/protocol"
	"github.com/kubemesos/kubemesos/mesos-sim/local"
	"github.com/kubemesos/kubemesos/mesos-sim/master"
	"github.com/kubemesos/kubemesos/mesos-sim/simtest"
	"github.com/kubemesos/kubemesos/mesos-sim/spec"
	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

// wait bounds anything an integration test awaits.
const wait = 30 * time.Second

// executorID is the executor id the framework gives the kubemesos executor.
const executorID = "kubemesos"

var (
	buildOnce sync.Once
	buildDir  string
	buildPath string
	buildErr  error
)

// testExecutor builds executor/internal/testexecutor once per test binary.
// KUBEMESOS_BINARY=<path to kubemesos> runs `kubemesos executor` instead,
// to measure the production binary.
func testExecutor(tb testing.TB) string {
	tb.Helper()
	if bin := os.Getenv("KUBEMESOS_BINARY"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			tb.Fatal(err)
		}
		return abs
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "kubemesos-testexecutor")
		if buildErr != nil {
			return
		}
		buildPath = filepath.Join(buildDir, "testexecutor")
		out, err := exec.Command("go", "build", "-o", buildPath, "./internal/testexecutor").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./internal/testexecutor: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return buildPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// framework is a test framework on a mesos-sim master: it acknowledges
// every update and sorts them by task.
type framework struct {
	tb   testing.TB
	s    *simtest.Scheduler
	exec *mesos.ExecutorInfo

	mu       sync.Mutex
	updates  map[string]chan mesos.TaskStatus
	offers   chan mesos.Offer
	failures chan *scheduler.Event_Failure
}

// startFramework starts mesos-sim with one process agent of the given
// resources and subscribes a framework to it.
func startFramework(tb testing.TB, agentResources string) *framework {
	tb.Helper()
	res, err := spec.ParseResources(agentResources)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	c, err := local.Start(context.Background(), ln, local.Config{
		Master: master.Config{AllocationInterval: 20 * time.Millisecond},
		Agents: 1, AgentMode: local.AgentsProcess, AgentResources: res, WorkDir: tb.TempDir(), AgentIsolation: "none",
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, done := context.WithTimeout(context.Background(), time.Minute)
		defer done()
		_ = c.Stop(ctx)
	})
	return subscribeFramework(tb, c.URL, false)
}

// subscribeFramework subscribes a framework (checkpointing or not) to the
// master at masterURL; its executor is testExecutor's.
func subscribeFramework(tb testing.TB, masterURL string, checkpoint bool) *framework {
	tb.Helper()
	// The event stream ends before the cluster stops (cleanups run last
	// first).
	s, err := simtest.Subscribe(masterURL+"/api/v1/scheduler", wire.Protobuf, &mesos.FrameworkInfo{User: "root", Name: "executor-test", Checkpoint: &checkpoint}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	bin := testExecutor(tb)
	level := "info"
	if os.Getenv("EXECUTOR_TEST_LOG") != "" {
		level = "debug"
	}
	args := []string{bin}
	if os.Getenv("KUBEMESOS_BINARY") != "" {
		args = append(args, "executor", "--log-level="+level)
	}
	f := &framework{
		tb: tb, s: s,
		exec: &mesos.ExecutorInfo{
			ExecutorID: mesos.ExecutorID{Value: executorID},
			Name:       strPtr("kubemesos executor"),
			Command: &mesos.CommandInfo{
				Value: strPtr(bin), Shell: boolPtr(false), Arguments: args,
				Environment: &mesos.Environment{Variables: []mesos.Environment_Variable{{Name: "KUBEMESOS_EXECUTOR_LOG_LEVEL", Value: strPtr(level)}}},
			},
			Resources: []mesos.Resource{resources.NewCPUs(0.1).Resource, resources.NewMemory(32).Resource},
		},
		updates:  map[string]chan mesos.TaskStatus{},
		offers:   make(chan mesos.Offer, 1000),
		failures: make(chan *scheduler.Event_Failure, 10),
	}
	if _, err := s.Await(scheduler.Event_SUBSCRIBED, wait); err != nil {
		tb.Fatal(err)
	}
	go f.pump()
	return f
}

// pump reads the event stream: updates are acknowledged and queued by task,
// offers and executor failures are queued.
func (f *framework) pump() {
	for {
		ev, err := f.s.Next(time.Hour)
		if err != nil {
			return
		}
		switch ev.Type {
		case scheduler.Event_UPDATE:
			st := ev.Update.Status
			if len(st.UUID) > 0 {
				_, _, _ = f.s.Call(&scheduler.Call{Type: scheduler.Call_ACKNOWLEDGE, Acknowledge: &scheduler.Call_Acknowledge{
					AgentID: *st.AgentID, TaskID: st.TaskID, UUID: st.UUID,
				}})
			}
			f.updatesOf(st.TaskID.Value) <- st
		case scheduler.Event_OFFERS:
			for _, o := range ev.Offers.Offers {
				f.offers <- o
			}
		case scheduler.Event_FAILURE:
			f.failures <- ev.Failure
		}
	}
}

func (f *framework) updatesOf(taskID string) chan mesos.TaskStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.updates[taskID]
	if c == nil {
		c = make(chan mesos.TaskStatus, 100)
		f.updates[taskID] = c
	}
	return c
}

// offer returns the latest offer.
func (f *framework) offer() mesos.Offer {
	f.tb.Helper()
	var o mesos.Offer
	select {
	case o = <-f.offers:
	case <-time.After(wait):
		f.tb.Fatal("no offer")
	}
	for {
		select {
		case o = <-f.offers:
		default:
			return o
		}
	}
}

// launch accepts an offer with one pod task per payload, on the kubemesos
// executor, and returns when the master took the ACCEPT.
func (f *framework) launch(tasks map[string][]byte) {
	f.tb.Helper()
	offer := f.offer()
	f.accept(offer, tasks)
}

func (f *framework) accept(offer mesos.Offer, tasks map[string][]byte) {
	f.tb.Helper()
	var infos []mesos.TaskInfo
	for id, data := range tasks {
		infos = append(infos, mesos.TaskInfo{
			Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: offer.AgentID, Executor: f.exec, Data: data,
			Resources: []mesos.Resource{resources.NewCPUs(0.05).Resource, resources.NewMemory(16).Resource},
		})
	}
	refuse := 0.0
	code, body, err := f.s.Call(&scheduler.Call{Type: scheduler.Call_ACCEPT, Accept: &scheduler.Call_Accept{
		OfferIDs:   []mesos.OfferID{offer.ID},
		Operations: []mesos.Offer_Operation{{Type: mesos.Offer_Operation_LAUNCH, Launch: &mesos.Offer_Operation_Launch{TaskInfos: infos}}},
		Filters:    &mesos.Filters{RefuseSeconds: &refuse},
	}})
	if err != nil || code != http.StatusAccepted {
		f.tb.Fatalf("ACCEPT: %d %q %v", code, body, err)
	}
}

// next returns a task's next update.
func (f *framework) next(taskID string) mesos.TaskStatus {
	f.tb.Helper()
	select {
	case st := <-f.updatesOf(taskID):
		return st
	case <-time.After(wait):
		f.tb.Fatalf("no update of %s", taskID)
	}
	return mesos.TaskStatus{}
}

// until collects a task's updates up to one in state (or a terminal one).
func (f *framework) until(taskID string, state mesos.TaskState) []mesos.TaskStatus {
	f.tb.Helper()
	var seen []mesos.TaskStatus
	for {
		st := f.next(taskID)
		seen = append(seen, st)
		if st.GetState() == state || terminal(st.GetState()) {
			if st.GetState() != state {
				f.tb.Fatalf("task %s: %s, want %s; updates %s", taskID, describe(st), state, states(seen))
			}
			return seen
		}
	}
}

func (f *framework) kill(taskID string) {
	f.tb.Helper()
	if code, body, err := f.s.Call(&scheduler.Call{Type: scheduler.Call_KILL, Kill: &scheduler.Call_Kill{TaskID: mesos.TaskID{Value: taskID}}}); err != nil || code != http.StatusAccepted {
		f.tb.Fatalf("KILL: %d %q %v", code, body, err)
	}
}

// shutdown asks the agent to shut the executor down and waits until it has
// exited.
func (f *framework) shutdown(agentID mesos.AgentID) *scheduler.Event_Failure {
	f.tb.Helper()
	if code, body, err := f.s.Call(&scheduler.Call{Type: scheduler.Call_SHUTDOWN, Shutdown: &scheduler.Call_Shutdown{ExecutorID: f.exec.ExecutorID, AgentID: agentID}}); err != nil || code != http.StatusAccepted {
		f.tb.Fatalf("SHUTDOWN: %d %q %v", code, body, err)
	}
	select {
	case ev := <-f.failures:
		return ev
	case <-time.After(wait):
		f.tb.Fatal("the executor did not exit after SHUTDOWN")
	}
	return nil
}

// podTask is the payload of a one-container pod running script with sh.
func podTask(tb testing.TB, name string, policy corev1.RestartPolicy, script string) []byte {
	tb.Helper()
	return podTaskWith(tb, name, policy, script, &protocol.PodTask{})
}

// podTaskWith is podTask with the PodTask's other fields from pt.
func podTaskWith(tb testing.TB, name string, policy corev1.RestartPolicy, script string, pt *protocol.PodTask) []byte {
	tb.Helper()
	grace := int64(5)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{
			RestartPolicy:                 policy,
			TerminationGracePeriodSeconds: &grace,
			Containers:                    []corev1.Container{{Name: "main", Image: "busybox", Command: []string{"/bin/sh", "-c", script}}},
		},
	}
	data, err := protocol.EncodePodTask(pod, pt)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// podStatus decodes an update's data.
func podStatus(tb testing.TB, st mesos.TaskStatus) (*protocol.PodStatus, *corev1.PodStatus) {
	tb.Helper()
	m, ps, err := protocol.DecodePodStatus(st.Data)
	if err != nil {
		tb.Fatalf("%s update of %s: %v", st.GetState(), st.TaskID.Value, err)
	}
	return m, ps
}

// containerLog reads a container's current log file from the pod's
// directory, as the PodStatus names it.
func containerLog(tb testing.TB, m *protocol.PodStatus, container string) string {
	tb.Helper()
	files := m.GetLogs()[container].GetPaths()
	if len(files) == 0 {
		tb.Fatalf("no log files of %s in %v", container, m.GetLogs())
	}
	b, err := os.ReadFile(filepath.Join(m.Directory, files[len(files)-1]))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// readLog is the current log of a container as far as it is written, ""
// if there is none yet.
func readLog(m *protocol.PodStatus, container string) string {
	files := m.GetLogs()[container].GetPaths()
	if len(files) == 0 {
		return ""
	}
	b, _ := os.ReadFile(filepath.Join(m.Directory, files[len(files)-1]))
	return string(b)
}

func terminal(s mesos.TaskState) bool {
	switch s {
	case mesos.TASK_FINISHED, mesos.TASK_FAILED, mesos.TASK_KILLED, mesos.TASK_ERROR, mesos.TASK_LOST, mesos.TASK_DROPPED, mesos.TASK_GONE:
		return true
	}
	return false
}

func describe(st mesos.TaskStatus) string {
	return fmt.Sprintf("%s (%s, %s)", st.GetState(), st.GetReason(), st.GetMessage())
}

func states(sts []mesos.TaskStatus) string {
	var s []string
	for _, st := range sts {
		s = append(s, st.GetState().String())
	}
	return strings.Join(s, " ")
}

// distinctStates lists the states of updates, each repeat once.
func distinctStates(sts []mesos.TaskStatus) string {
	var s []string
	for _, st := range sts {
		if name := st.GetState().String(); len(s) == 0 || s[len(s)-1] != name {
			s = append(s, name)
		}
	}
	return strings.Join(s, " ")
}

func strPtr(s string) *string { return &s }
func boolPtr(b bool) *bool    { return &b }
