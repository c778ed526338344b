package agent_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/resources"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/kubemesos/kubemesos/mesos-sim/simtest"
	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

const wait = 60 * time.Second

// TestStandaloneAgentJoinsMaster builds the kubemesos binary, runs
// `kubemesos master --agents 1 --agent-mode process` and a standalone
// `kubemesos agent` joining it, checks that the master's state shows both
// agents with their own endpoints, and runs a command task on the
// standalone agent.
func TestStandaloneAgentJoinsMaster(t *testing.T) {
	bin := binary(t)
	masterDir := t.TempDir()
	masterCmd := run(t, bin, "master", "--listen", "127.0.0.1:0", "--work-dir", masterDir, "--agents", "1", "--agent-mode", "process",
		"--allocation-interval", "50ms", "--agent-resources", "cpus:2;mem:1024")
	var masterURL string
	eventually(t, "master.json", func() bool {
		b, err := os.ReadFile(filepath.Join(masterDir, "master.json"))
		var doc struct{ URL string }
		if err != nil || json.Unmarshal(b, &doc) != nil {
			return false
		}
		masterURL = doc.URL
		return true
	})
	agentDir := t.TempDir()
	agentCmd := run(t, bin, "agent", "--master", masterURL, "--listen", "127.0.0.1:0", "--hostname", "standalone",
		"--work-dir", agentDir, "--resources", "cpus:1;mem:512", "--attributes", "rack:r9")

	type slave struct {
		ID         string            `json:"id"`
		Hostname   string            `json:"hostname"`
		PID        string            `json:"pid"`
		Attributes map[string]string `json:"attributes"`
	}
	var slaves []slave
	eventually(t, "two agents in the master's state", func() bool {
		var state struct{ Slaves []slave }
		if err := getJSON(masterURL+"/master/state", &state); err != nil {
			return false
		}
		slaves = state.Slaves
		return len(slaves) == 2
	})
	var standalone slave
	endpoints := map[string]bool{}
	for _, s := range slaves {
		endpoint := strings.TrimPrefix(s.PID, "slave(1)@")
		if !strings.HasPrefix(s.PID, "slave(1)@127.0.0.1:") || endpoint == strings.TrimPrefix(masterURL, "http://") {
			t.Errorf("agent %s pid %q: want its own endpoint on 127.0.0.1", s.Hostname, s.PID)
		}
		endpoints[endpoint] = true
		if resp, err := http.Get("http://" + endpoint + "/health"); err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("agent %s /health: %v %v", s.Hostname, resp, err)
		} else {
			resp.Body.Close()
		}
		if s.Hostname == "standalone" {
			standalone = s
		}
	}
	if len(endpoints) != 2 || standalone.ID == "" || standalone.Attributes["rack"] != "r9" {
		t.Fatalf("agents %+v: want two endpoints and the standalone agent with rack r9", slaves)
	}
	agentURL := "http://" + strings.TrimPrefix(standalone.PID, "slave(1)@")

	// A command task on the standalone agent.
	s, err := simtest.Subscribe(masterURL+"/api/v1/scheduler", wire.JSON, &mesos.FrameworkInfo{User: "test", Name: "e2e"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var offer *mesos.Offer
	for offer == nil {
		ev, err := s.Await(scheduler.Event_OFFERS, wait)
		if err != nil {
			t.Fatal(err)
		}
		for i := range ev.Offers.Offers {
			if ev.Offers.Offers[i].AgentID.Value == standalone.ID {
				offer = &ev.Offers.Offers[i]
			}
		}
	}
	cmd := "echo ran on $MESOS_SLAVE_ID"
	refuse := 0.0
	task := mesos.TaskInfo{Name: "e2e", TaskID: mesos.TaskID{Value: "e2e"}, AgentID: offer.AgentID, Command: &mesos.CommandInfo{Value: &cmd},
		Resources: []mesos.Resource{resources.NewCPUs(0.5).Resource, resources.NewMemory(32).Resource}}
	if code, body, err := s.Call(&scheduler.Call{Type: scheduler.Call_ACCEPT, Accept: &scheduler.Call_Accept{
		OfferIDs:   []mesos.OfferID{offer.ID},
		Operations: []mesos.Offer_Operation{{Type: mesos.Offer_Operation_LAUNCH, Launch: &mesos.Offer_Operation_Launch{TaskInfos: []mesos.TaskInfo{task}}}},
		Filters:    &mesos.Filters{RefuseSeconds: &refuse},
	}}); err != nil || code != http.StatusAccepted {
		t.Fatalf("ACCEPT: %d %s %v", code, body, err)
	}
	for done := false; !done; {
		ev, err := s.Await(scheduler.Event_UPDATE, wait)
		if err != nil {
			t.Fatal(err)
		}
		st := ev.Update.Status
		if code, body, err := s.Call(&scheduler.Call{Type: scheduler.Call_ACKNOWLEDGE, Acknowledge: &scheduler.Call_Acknowledge{
			AgentID: *st.AgentID, TaskID: st.TaskID, UUID: st.UUID,
		}}); err != nil || code != http.StatusAccepted {
			t.Fatalf("ACKNOWLEDGE: %d %s %v", code, body, err)
		}
		switch st.GetState() {
		case mesos.TASK_FINISHED:
			done = true
		case mesos.TASK_STARTING, mesos.TASK_RUNNING:
		default:
			t.Fatalf("task update %v %s", st.GetState(), st.GetMessage())
		}
	}
	stdout := filepath.Join(agentDir, "slaves", standalone.ID, "frameworks", s.FrameworkID(), "executors", "e2e", "runs", "latest", "stdout")
	var chunk struct {
		Data string `json:"data"`
	}
	if err := getJSON(agentURL+"/files/read?"+url.Values{"path": {stdout}, "offset": {"0"}}.Encode(), &chunk); err != nil {
		t.Fatal(err)
	}
	if chunk.Data != "ran on "+standalone.ID+"\n" {
		t.Errorf("task stdout %q", chunk.Data)
	}

	// Both stop cleanly on SIGTERM.
	for _, c := range []*exec.Cmd{agentCmd, masterCmd} {
		_ = c.Process.Signal(syscall.SIGTERM)
		errc := make(chan error, 1)
		go func() { errc <- c.Wait() }()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("%s exited with %v", c.Args[1], err)
			}
		case <-time.After(wait):
			t.Errorf("%s did not stop on SIGTERM", c.Args[1])
		}
	}
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// binary is the kubemesos binary: the one `make test` passes, else one
// built once per test binary.
func binary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("KUBEMESOS_BINARY"); bin != "" {
		return bin
	}
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "kubemesos-agent-e2e"); buildErr != nil {
			return
		}
		if out, err := exec.Command("go", "build", "-o", filepath.Join(buildDir, "kubemesos"), "github.com/kubemesos/kubemesos/cmd/kubemesos").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "kubemesos")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// run starts the binary; it is killed at the end of the test if still
// running.
func run(t *testing.T, bin string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	log, err := os.Create(filepath.Join(t.TempDir(), args[0]+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			t.Logf("%s log:\n%s", args[0], b)
		}
	})
	return cmd
}

func getJSON(u string, v any) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return json.Unmarshal(b, v)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
