package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
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

	"github.com/kubemesos/kubemesos/mesos-sim/agent"
	"github.com/kubemesos/kubemesos/mesos-sim/master"
	"github.com/kubemesos/kubemesos/mesos-sim/simtest"
	"github.com/kubemesos/kubemesos/mesos-sim/spec"
	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

// wait is a generous deadline for anything the tests poll or await.
const wait = 30 * time.Second

type testEnv struct {
	*simtest.Env
	agents []*agent.Agent
	dirs   []string
	stops  []func()     // stop agent i and wait for it
	ended  []chan error // agent i's Run result
}

// start runs a master with n process agents, each on its own port.
func start(t *testing.T, n int, mutate func(*agent.Config)) *testEnv {
	return startWith(t, master.Config{}, n, mutate)
}

// startWith is start with a master configuration.
func startWith(t *testing.T, mcfg master.Config, n int, mutate func(*agent.Config)) *testEnv {
	t.Helper()
	var logger *slog.Logger
	if os.Getenv("SIMTEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	mcfg.AllocationInterval = 50 * time.Millisecond
	mcfg.Logger = logger
	env := &testEnv{Env: simtest.Start(t, simtest.Options{Master: mcfg})}
	res, err := spec.ParseResources("cpus:4;mem:4096;disk:10240;ports:[31000-32000]")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		cfg := agent.Config{
			MasterURL: env.URL,
			Hostname:  fmt.Sprintf("agent-%d", i),
			Resources: res,
			WorkDir:   t.TempDir(),
			Logger:    logger,
		}
		if mutate != nil {
			mutate(&cfg)
		}
		a, err := agent.New(cfg)
		if err != nil {
			t.Fatalf("new agent: %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		ended := make(chan error, 1)
		go func() {
			defer close(done)
			ended <- a.Run(ctx)
		}()
		env.ended = append(env.ended, ended)
		stop := func() {
			cancel()
			<-done
		}
		t.Cleanup(stop)
		env.stops = append(env.stops, stop)
		select {
		case <-a.Registered():
		case <-time.After(wait):
			t.Fatal("agent did not register")
		}
		env.agents = append(env.agents, a)
		env.dirs = append(env.dirs, cfg.WorkDir)
	}
	return env
}

func subscribe(t *testing.T, env *testEnv, caps ...mesos.FrameworkInfo_Capability_Type) *keeper {
	t.Helper()
	info := &mesos.FrameworkInfo{User: "test", Name: "agent-test"}
	for _, c := range caps {
		info.Capabilities = append(info.Capabilities, mesos.FrameworkInfo_Capability{Type: c})
	}
	s, err := simtest.Subscribe(env.SchedulerURL(), wire.JSON, info, nil)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	t.Cleanup(s.Close)
	if _, err := s.Await(scheduler.Event_SUBSCRIBED, wait); err != nil {
		t.Fatal(err)
	}
	return keep(s)
}

// firstOffer returns the first offer with room for any test's launch (1
// cpu, 256 MB): smaller ones (what a finished task gave back) are left
// outstanding.
func firstOffer(t *testing.T, s simtest.Client) *mesos.Offer {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		ev, err := s.Await(scheduler.Event_OFFERS, time.Until(deadline))
		if err != nil {
			t.Fatal(err)
		}
		for i := range ev.Offers.Offers {
			o := &ev.Offers.Offers[i]
			cpus, _ := resources.CPUs(o.Resources...)
			mem, _ := resources.Memory(o.Resources...)
			if cpus >= 1 && mem >= 256 {
				return o
			}
		}
	}
}

func launch(t *testing.T, s simtest.Client, offer *mesos.Offer, tasks ...mesos.TaskInfo) {
	t.Helper()
	refuse := 0.0
	code, body, err := s.Call(&scheduler.Call{Type: scheduler.Call_ACCEPT, Accept: &scheduler.Call_Accept{
		OfferIDs:   []mesos.OfferID{offer.ID},
		Operations: []mesos.Offer_Operation{{Type: mesos.Offer_Operation_LAUNCH, Launch: &mesos.Offer_Operation_Launch{TaskInfos: tasks}}},
		Filters:    &mesos.Filters{RefuseSeconds: &refuse},
	}})
	if err != nil || code != http.StatusAccepted {
		t.Fatalf("ACCEPT: %d %q %v", code, body, err)
	}
}

func shellTask(id string, offer *mesos.Offer, command string) mesos.TaskInfo {
	return mesos.TaskInfo{
		Name:      id,
		TaskID:    mesos.TaskID{Value: id},
		AgentID:   offer.AgentID,
		Command:   &mesos.CommandInfo{Value: &command},
		Resources: []mesos.Resource{resources.NewCPUs(0.5).Resource, resources.NewMemory(64).Resource},
	}
}

// awaitUpdate waits for the next UPDATE of a task and acknowledges it.
// Updates of other tasks stay queued, unacknowledged, for later calls.
func awaitUpdate(t *testing.T, s *keeper, taskID string) mesos.TaskStatus {
	t.Helper()
	var others []*scheduler.Event
	defer func() { s.backlog = append(others, s.backlog...) }()
	deadline := time.Now().Add(wait)
	for {
		ev, err := s.Await(scheduler.Event_UPDATE, time.Until(deadline))
		if err != nil {
			t.Fatalf("waiting for an update of %s: %v", taskID, err)
		}
		st := ev.Update.Status
		if st.TaskID.Value != taskID {
			others = append(others, ev)
			continue
		}
		if len(st.UUID) > 0 {
			code, body, err := s.Call(&scheduler.Call{Type: scheduler.Call_ACKNOWLEDGE, Acknowledge: &scheduler.Call_Acknowledge{
				AgentID: *st.AgentID, TaskID: st.TaskID, UUID: st.UUID,
			}})
			if err != nil || code != http.StatusAccepted {
				t.Fatalf("ACKNOWLEDGE: %d %q %v", code, body, err)
			}
		}
		return st
	}
}

// awaitTerminal collects a task's states up to a terminal one.
func awaitTerminal(t *testing.T, s *keeper, taskID string) ([]string, mesos.TaskStatus) {
	t.Helper()
	var states []string
	for {
		st := awaitUpdate(t, s, taskID)
		states = append(states, st.GetState().String())
		switch st.GetState() {
		case mesos.TASK_FINISHED, mesos.TASK_FAILED, mesos.TASK_KILLED, mesos.TASK_ERROR, mesos.TASK_LOST, mesos.TASK_DROPPED, mesos.TASK_GONE:
			return states, st
		}
	}
}

// awaitState waits for a task to reach state.
func awaitState(t *testing.T, s *keeper, taskID string, state mesos.TaskState) mesos.TaskStatus {
	t.Helper()
	for {
		st := awaitUpdate(t, s, taskID)
		if st.GetState() == state {
			return st
		}
		if st.GetState() == mesos.TASK_FAILED || st.GetState() == mesos.TASK_FINISHED || st.GetState() == mesos.TASK_KILLED {
			t.Fatalf("task %s ended %v (%s) while waiting for %v", taskID, st.GetState(), st.GetMessage(), state)
		}
	}
}

// sandbox is the latest run directory of an executor on agent i.
func (e *testEnv) sandbox(i int, fwID, execID string) string {
	return filepath.Join(e.dirs[i], "slaves", e.agents[i].ID(), "frameworks", fwID, "executors", execID, "runs", "latest")
}

// readFile reads a sandbox file whole through the agent's /files/read.
func readFile(t *testing.T, a *agent.Agent, path string) string {
	t.Helper()
	var out strings.Builder
	offset := 0
	for {
		q := url.Values{"path": {path}, "offset": {fmt.Sprint(offset)}, "length": {"4096"}}
		resp, err := http.Get(a.URL() + "/files/read?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/files/read %s: %d %s", path, resp.StatusCode, body)
		}
		var chunk struct {
			Data   string `json:"data"`
			Offset int    `json:"offset"`
		}
		if err := json.Unmarshal(body, &chunk); err != nil {
			t.Fatalf("/files/read answer %s: %v", body, err)
		}
		if chunk.Offset != offset {
			t.Fatalf("/files/read offset %d, want %d", chunk.Offset, offset)
		}
		if chunk.Data == "" {
			return out.String()
		}
		out.WriteString(chunk.Data)
		offset += len(chunk.Data)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// testExecutor builds testdata/executor once per test binary.
func testExecutor(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "agent-test-executor")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "executor")
		out, err := exec.Command("go", "build", "-o", buildPath, "./testdata/executor").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build testdata/executor: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildPath != "" {
		os.RemoveAll(filepath.Dir(buildPath))
	}
	os.Exit(code)
}

// keeper wraps a scheduler client so that Await keeps the events it skips
// (offers that came while a test waited for updates, say) for later calls.
type keeper struct {
	simtest.Client
	backlog []*scheduler.Event
}

func keep(c simtest.Client) *keeper { return &keeper{Client: c} }

func (k *keeper) Next(timeout time.Duration) (*scheduler.Event, error) {
	if len(k.backlog) > 0 {
		ev := k.backlog[0]
		k.backlog = k.backlog[1:]
		return ev, nil
	}
	return k.Client.Next(timeout)
}

func (k *keeper) Await(typ scheduler.Event_Type, timeout time.Duration) (*scheduler.Event, error) {
	for i, ev := range k.backlog {
		if ev.Type == typ {
			k.backlog = append(k.backlog[:i:i], k.backlog[i+1:]...)
			return ev, nil
		}
	}
	deadline := time.Now().Add(timeout)
	for {
		ev, err := k.Client.Next(time.Until(deadline))
		if err != nil {
			return nil, err
		}
		if ev.Type == typ {
			return ev, nil
		}
		if ev.Type != scheduler.Event_HEARTBEAT {
			k.backlog = append(k.backlog, ev)
		}
	}
}

// resolved is path with symlinks resolved (the sandbox's "latest" link).
func resolved(t *testing.T, path string) string {
	t.Helper()
	p, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
