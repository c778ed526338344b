package agent_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

func TestCommandTaskFinishes(t *testing.T) {
	env := start(t, 1, nil)
	s := subscribe(t, env)
	offer := firstOffer(t, s)
	task := shellTask("hello", offer, `echo "hello from $MESOS_TASK_ID in $MESOS_SANDBOX"; echo oops >&2; pwd`)
	task.Command.Environment = &mesos.Environment{Variables: []mesos.Environment_Variable{{Name: "GREETING", Value: strPtr("hi")}}}
	*task.Command.Value += `; echo "greeting=$GREETING"`
	launch(t, s, offer, task)
	states, last := awaitTerminal(t, s, "hello")
	if got := strings.Join(states, " "); got != "TASK_STARTING TASK_RUNNING TASK_FINISHED" {
		t.Fatalf("states %s, want STARTING RUNNING FINISHED", got)
	}
	if last.GetMessage() != "Command exited with status 0" || last.GetSource() != mesos.SOURCE_EXECUTOR || len(last.UUID) != 16 {
		t.Errorf("FINISHED update %v", last)
	}
	if last.GetExecutorID().GetValue() != "hello" || last.GetAgentID().GetValue() != env.agents[0].ID() {
		t.Errorf("FINISHED update executor %v agent %v: want the task id and the agent", last.ExecutorID, last.AgentID)
	}
	dir := env.sandbox(0, s.FrameworkID(), "hello")
	stdout := readFile(t, env.agents[0], dir+"/stdout")
	if !strings.Contains(stdout, "hello from hello in ") || !strings.Contains(stdout, "greeting=hi") {
		t.Errorf("stdout %q", stdout)
	}
	if !strings.Contains(stdout, "/executors/hello/runs/") {
		t.Errorf("the task did not run in its sandbox: stdout %q", stdout)
	}
	if stderr := readFile(t, env.agents[0], dir+"/stderr"); stderr != "oops\n" {
		t.Errorf("stderr %q, want oops", stderr)
	}
}

func TestCommandTaskFails(t *testing.T) {
	env := start(t, 1, nil)
	s := subscribe(t, env)
	offer := firstOffer(t, s)
	launch(t, s, offer, shellTask("bad", offer, "exit 3"))
	states, last := awaitTerminal(t, s, "bad")
	if states[len(states)-1] != "TASK_FAILED" || last.GetMessage() != "Command exited with status 3" {
		t.Fatalf("states %v, last %q: want TASK_FAILED with exit status 3", states, last.GetMessage())
	}

	// The argv form runs without a shell.
	offer = firstOffer(t, s)
	shell := false
	argv := mesos.TaskInfo{
		Name: "argv", TaskID: mesos.TaskID{Value: "argv"}, AgentID: offer.AgentID, Resources: offer.Resources,
		Command: &mesos.CommandInfo{Shell: &shell, Value: strPtr("sh"), Arguments: []string{"sh", "-c", "echo argv-ok $0 $1", "x", "$HOME"}},
	}
	launch(t, s, offer, argv)
	if _, last := awaitTerminal(t, s, "argv"); last.GetState() != mesos.TASK_FINISHED {
		t.Fatalf("argv task: %v %s", last.GetState(), last.GetMessage())
	}
	// sh -c gets $0 and $1 from the arguments; $HOME reaches it unexpanded.
	if out := readFile(t, env.agents[0], env.sandbox(0, s.FrameworkID(), "argv")+"/stdout"); out != "argv-ok x $HOME\n" {
		t.Errorf("argv stdout %q", out)
	}
}

func TestKillCommandTask(t *testing.T) {
	env := start(t, 1, nil)
	s := subscribe(t, env, mesos.FrameworkInfo_Capability_TASK_KILLING_STATE)
	offer := firstOffer(t, s)
	// The task ignores SIGTERM: only SIGKILL after the grace period ends it.
	task := shellTask("stubborn", offer, `trap "" TERM; echo started; while true; do sleep 0.1; done`)
	task.KillPolicy = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(300 * time.Millisecond)}}
	launch(t, s, offer, task)
	awaitState(t, s, "stubborn", mesos.TASK_RUNNING)
	eventually(t, "the task to set its trap", func() bool {
		return readFile(t, env.agents[0], env.sandbox(0, s.FrameworkID(), "stubborn")+"/stdout") == "started\n"
	})
	code, body, err := s.Call(&scheduler.Call{Type: scheduler.Call_KILL, Kill: &scheduler.Call_Kill{TaskID: mesos.TaskID{Value: "stubborn"}}})
	if err != nil || code != http.StatusAccepted {
		t.Fatalf("KILL: %d %s %v", code, body, err)
	}
	states, last := awaitTerminal(t, s, "stubborn")
	if got := strings.Join(states, " "); got != "TASK_KILLING TASK_KILLED" {
		t.Fatalf("states after KILL %s, want KILLING KILLED", got)
	}
	if last.GetMessage() != "Command terminated with signal Killed" {
		t.Errorf("KILLED message %q, want the SIGKILL", last.GetMessage())
	}

	// A task that honours SIGTERM ends with it.
	offer = firstOffer(t, s)
	launch(t, s, offer, shellTask("polite", offer, "exec sleep 1000"))
	awaitState(t, s, "polite", mesos.TASK_RUNNING)
	if code, _, _ := s.Call(&scheduler.Call{Type: scheduler.Call_KILL, Kill: &scheduler.Call_Kill{TaskID: mesos.TaskID{Value: "polite"}}}); code != http.StatusAccepted {
		t.Fatalf("KILL: %d", code)
	}
	if _, last := awaitTerminal(t, s, "polite"); last.GetState() != mesos.TASK_KILLED || last.GetMessage() != "Command terminated with signal Terminated" {
		t.Fatalf("polite task: %v %q", last.GetState(), last.GetMessage())
	}
}

func TestFetcher(t *testing.T) {
	archive := tarGz(t, map[string]string{"data/hello.txt": "hello from the archive\n"})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/bundle.tar.gz":
			_, _ = w.Write(archive)
		case "/tool":
			fmt.Fprint(w, "#!/bin/sh\necho tool ran\n")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	env := start(t, 1, nil)
	s := subscribe(t, env)
	offer := firstOffer(t, s)
	task := shellTask("fetch", offer, "./run-me && cat data/hello.txt")
	task.Command.URIs = []mesos.CommandInfo_URI{
		{Value: srv.URL + "/bundle.tar.gz"},
		{Value: srv.URL + "/tool", Executable: boolPtr(true), OutputFile: strPtr("run-me")},
	}
	launch(t, s, offer, task)
	if _, last := awaitTerminal(t, s, "fetch"); last.GetState() != mesos.TASK_FINISHED {
		t.Fatalf("fetch task: %v %q", last.GetState(), last.GetMessage())
	}
	if out := readFile(t, env.agents[0], env.sandbox(0, s.FrameworkID(), "fetch")+"/stdout"); out != "tool ran\nhello from the archive\n" {
		t.Errorf("stdout %q", out)
	}

	// A URI that cannot be fetched fails the task before it starts.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	offer = firstOffer(t, s)
	bad := shellTask("unfetchable", offer, "true")
	bad.Command.URIs = []mesos.CommandInfo_URI{{Value: "http://" + closed + "/missing.tar.gz"}}
	launch(t, s, offer, bad)
	states, last := awaitTerminal(t, s, "unfetchable")
	if strings.Join(states, " ") != "TASK_FAILED" || last.GetReason() != mesos.REASON_CONTAINER_LAUNCH_FAILED || last.GetSource() != mesos.SOURCE_AGENT {
		t.Fatalf("unfetchable task: states %v reason %v source %v", states, last.GetReason(), last.GetSource())
	}
	offer = firstOffer(t, s)
	missing := shellTask("missing", offer, "true")
	missing.Command.URIs = []mesos.CommandInfo_URI{{Value: srv.URL + "/nothing-here"}}
	launch(t, s, offer, missing)
	if _, last := awaitTerminal(t, s, "missing"); last.GetReason() != mesos.REASON_CONTAINER_LAUNCH_FAILED || !strings.Contains(last.GetMessage(), "404") {
		t.Fatalf("404 fetch: %v %q", last.GetReason(), last.GetMessage())
	}
}

func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func strPtr(s string) *string { return &s }
func boolPtr(b bool) *bool    { return &b }
