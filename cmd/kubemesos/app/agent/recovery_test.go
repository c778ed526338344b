package agent_test

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/resources"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/kubemesos/kubemesos/mesos-sim/simtest"
	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

// TestStandaloneAgentRecoversAfterKill: a `kubemesos agent` killed with
// SIGKILL and started again on its work directory and port is the same
// agent for the master; the command task of a checkpointing framework,
// whose process the dead agent left behind, is killed and reported
// TASK_FAILED (the built-in command executor does not survive its agent).
func TestStandaloneAgentRecoversAfterKill(t *testing.T) {
	bin := binary(t)
	masterDir := t.TempDir()
	run(t, bin, "master", "--listen", "127.0.0.1:0", "--work-dir", masterDir, "--allocation-interval", "50ms")
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	agentDir := t.TempDir()
	agentArgs := []string{"agent", "--master", masterURL, "--listen", listen, "--work-dir", agentDir, "--resources", "cpus:1;mem:512"}
	first := run(t, bin, agentArgs...)

	checkpoint := true
	s, err := simtest.Subscribe(masterURL+"/api/v1/scheduler", wire.JSON, &mesos.FrameworkInfo{User: "test", Name: "e2e", Checkpoint: &checkpoint}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ev, err := s.Await(scheduler.Event_OFFERS, wait)
	if err != nil {
		t.Fatal(err)
	}
	offer := ev.Offers.Offers[0]
	agentID := offer.AgentID.Value
	cmd := "echo $$ > pid; exec sleep 1000"
	task := mesos.TaskInfo{Name: "sleeper", TaskID: mesos.TaskID{Value: "sleeper"}, AgentID: offer.AgentID, Command: &mesos.CommandInfo{Value: &cmd},
		Resources: []mesos.Resource{resources.NewCPUs(0.5).Resource, resources.NewMemory(32).Resource}}
	if code, body, err := s.Call(&scheduler.Call{Type: scheduler.Call_ACCEPT, Accept: &scheduler.Call_Accept{
		OfferIDs:   []mesos.OfferID{offer.ID},
		Operations: []mesos.Offer_Operation{{Type: mesos.Offer_Operation_LAUNCH, Launch: &mesos.Offer_Operation_Launch{TaskInfos: []mesos.TaskInfo{task}}}},
	}}); err != nil || code != http.StatusAccepted {
		t.Fatalf("ACCEPT: %d %s %v", code, body, err)
	}
	next := func() mesos.TaskStatus {
		t.Helper()
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
		return st
	}
	for st := next(); st.GetState() != mesos.TASK_RUNNING; st = next() {
		if st.GetState() != mesos.TASK_STARTING {
			t.Fatalf("task update %v %s", st.GetState(), st.GetMessage())
		}
	}
	var pid int
	pidFile := filepath.Join(agentDir, "slaves", agentID, "frameworks", s.FrameworkID(), "executors", "sleeper", "runs", "latest", "pid")
	eventually(t, "the task's pid", func() bool {
		b, err := os.ReadFile(pidFile)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	})
	t.Cleanup(func() { _ = syscall.Kill(-pid, syscall.SIGKILL) })

	_ = first.Process.Kill()
	_ = first.Wait()
	if syscall.Kill(pid, 0) != nil {
		t.Fatal("the task's process died with its agent's SIGKILL")
	}
	run(t, bin, agentArgs...)

	st := next()
	for st.GetState() == mesos.TASK_RUNNING { // a resend: the dead agent may have missed the ack
		st = next()
	}
	if st.GetState() != mesos.TASK_FAILED || st.GetReason() != mesos.REASON_EXECUTOR_TERMINATED || st.GetAgentID().GetValue() != agentID {
		t.Fatalf("after the restart: %v %v from %s (%s)", st.GetState(), st.GetReason(), st.GetAgentID().GetValue(), st.GetMessage())
	}
	eventually(t, "the left-behind task process to be killed", func() bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		_, rest, _ := strings.Cut(string(b), ") ")
		return err != nil || strings.HasPrefix(rest, "Z")
	})
	var state struct {
		Slaves []struct {
			ID     string `json:"id"`
			Active bool   `json:"active"`
		} `json:"slaves"`
	}
	if err := getJSON(masterURL+"/master/state", &state); err != nil {
		t.Fatal(err)
	}
	if len(state.Slaves) != 1 || state.Slaves[0].ID != agentID || !state.Slaves[0].Active {
		t.Fatalf("master's agents %+v: want the one agent %s, active", state.Slaves, agentID)
	}
}
