package agent_test

import (
	"bytes"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/kubemesos/kubemesos/mesos-sim/agent"
)

// TestReliableStatusUpdates: an update the framework does not acknowledge
// is resent (same uuid) with back-off, and the next one waits behind it.
func TestReliableStatusUpdates(t *testing.T) {
	env := start(t, 1, func(c *agent.Config) { c.StatusUpdateRetryMin = 100 * time.Millisecond })
	s := subscribe(t, env)
	offer := firstOffer(t, s)
	launch(t, s, offer, shellTask("quick", offer, "true"))
	var first *mesos.TaskStatus
	for n := 0; n < 3; {
		ev, err := s.Await(scheduler.Event_UPDATE, wait)
		if err != nil {
			t.Fatal(err)
		}
		st := ev.Update.Status
		if first == nil {
			first = &st
		}
		if st.GetState() != mesos.TASK_STARTING || !bytes.Equal(st.UUID, first.UUID) {
			t.Fatalf("update %v %x while STARTING %x is not acknowledged", st.GetState(), st.UUID, first.UUID)
		}
		n++
	}
	// Acknowledging it lets RUNNING, then FINISHED through.
	if code, body, err := s.Call(&scheduler.Call{Type: scheduler.Call_ACKNOWLEDGE, Acknowledge: &scheduler.Call_Acknowledge{
		AgentID: *first.AgentID, TaskID: first.TaskID, UUID: first.UUID,
	}}); err != nil || code != http.StatusAccepted {
		t.Fatalf("ACKNOWLEDGE: %d %s %v", code, body, err)
	}
	var states []string
	for len(states) == 0 || states[len(states)-1] != "TASK_FINISHED" {
		st := awaitUpdate(t, s, "quick")
		if bytes.Equal(st.UUID, first.UUID) {
			continue // a resend already on its way
		}
		states = append(states, st.GetState().String())
	}
	if strings.Join(states, " ") != "TASK_RUNNING TASK_FINISHED" {
		t.Fatalf("states after the acknowledgement: %v", states)
	}
}

// TestExecutorEnvironment checks the MESOS_* variables a task sees.
func TestExecutorEnvironment(t *testing.T) {
	env := start(t, 1, nil)
	s := subscribe(t, env)
	offer := firstOffer(t, s)
	launch(t, s, offer, shellTask("env", offer, "env | grep -E '^(MESOS|LIBPROCESS)_' | sort"))
	if _, last := awaitTerminal(t, s, "env"); last.GetState() != mesos.TASK_FINISHED {
		t.Fatalf("env task: %v", last.GetState())
	}
	dir := env.sandbox(0, s.FrameworkID(), "env")
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(readFile(t, env.agents[0], dir+"/stdout")), "\n") {
		k, v, _ := strings.Cut(line, "=")
		got[k] = v
	}
	real := resolved(t, dir)
	want := map[string]string{
		"MESOS_FRAMEWORK_ID":                   s.FrameworkID(),
		"MESOS_EXECUTOR_ID":                    "env",
		"MESOS_TASK_ID":                        "env",
		"MESOS_AGENT_ENDPOINT":                 env.agents[0].Endpoint(),
		"MESOS_SLAVE_ID":                       env.agents[0].ID(),
		"MESOS_SLAVE_PID":                      "slave(1)@" + env.agents[0].Endpoint(),
		"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": "5secs",
		"MESOS_CHECKPOINT":                     "0",
		"MESOS_HTTP_COMMAND_EXECUTOR":          "0",
		"LIBPROCESS_PORT":                      "0",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s=%q, want %q", k, got[k], v)
		}
	}
	for _, k := range []string{"MESOS_DIRECTORY", "MESOS_SANDBOX"} {
		if got[k] != real {
			t.Errorf("%s=%q, want the sandbox %q", k, got[k], real)
		}
	}
}

// TestKillReachesTheProcessGroup: a task's children die with it.
func TestKillReachesTheProcessGroup(t *testing.T) {
	env := start(t, 1, nil)
	s := subscribe(t, env)
	offer := firstOffer(t, s)
	launch(t, s, offer, shellTask("parent", offer, "sleep 1000 & echo $! > child.pid; wait"))
	awaitState(t, s, "parent", mesos.TASK_RUNNING)
	pidFile := env.sandbox(0, s.FrameworkID(), "parent") + "/child.pid"
	var pid int
	eventually(t, "the child's pid", func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	if code, _, err := s.Call(&scheduler.Call{Type: scheduler.Call_KILL, Kill: &scheduler.Call_Kill{TaskID: mesos.TaskID{Value: "parent"}}}); err != nil || code != http.StatusAccepted {
		t.Fatalf("KILL: %d %v", code, err)
	}
	if _, last := awaitTerminal(t, s, "parent"); last.GetState() != mesos.TASK_KILLED {
		t.Fatalf("parent: %v", last.GetState())
	}
	eventually(t, "the child to die", func() bool { return dead(pid) })
}

// dead reports whether a process is gone or a zombie (an orphan whose
// reaper has not come by yet).
func dead(pid int) bool {
	if syscall.Kill(pid, 0) == syscall.ESRCH {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return strings.HasPrefix(rest, "Z")
}
