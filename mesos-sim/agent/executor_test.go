package agent_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/resources"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/kubemesos/kubemesos/mesos-sim/agent"
	"github.com/kubemesos/kubemesos/mesos-sim/simtest"
	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

// executorInfo runs the test executor, fetched from its local path into
// the sandbox as frameworks ship their executors.
func executorInfo(t *testing.T, id string) *mesos.ExecutorInfo {
	return &mesos.ExecutorInfo{
		ExecutorID: mesos.ExecutorID{Value: id},
		Name:       strPtr("test executor " + id),
		Command: &mesos.CommandInfo{
			Value: strPtr("./test-executor"),
			URIs:  []mesos.CommandInfo_URI{{Value: "file://" + testExecutor(t), Executable: boolPtr(true), OutputFile: strPtr("test-executor")}},
		},
		Resources: []mesos.Resource{resources.NewCPUs(0.1).Resource, resources.NewMemory(32).Resource},
	}
}

func executorTask(id string, offer *mesos.Offer, exec *mesos.ExecutorInfo, behaviour string) mesos.TaskInfo {
	return mesos.TaskInfo{
		Name:      id,
		TaskID:    mesos.TaskID{Value: id},
		AgentID:   offer.AgentID,
		Executor:  exec,
		Data:      []byte(behaviour),
		Resources: []mesos.Resource{resources.NewCPUs(0.5).Resource, resources.NewMemory(64).Resource},
	}
}

// collect reads events (acknowledging updates) until done says so. Offers
// it meets are kept for later firstOffer calls.
func collect(t *testing.T, s *keeper, done func(*scheduler.Event) bool) {
	t.Helper()
	var offers []*scheduler.Event
	defer func() { s.backlog = append(s.backlog, offers...) }()
	deadline := time.Now().Add(wait)
	for {
		ev, err := s.Next(time.Until(deadline))
		if err != nil {
			t.Fatalf("waiting for events: %v", err)
		}
		if ev.Type == scheduler.Event_OFFERS {
			offers = append(offers, ev)
		}
		if ev.Type == scheduler.Event_UPDATE && len(ev.Update.Status.UUID) > 0 {
			st := ev.Update.Status
			if code, body, err := s.Call(&scheduler.Call{Type: scheduler.Call_ACKNOWLEDGE, Acknowledge: &scheduler.Call_Acknowledge{
				AgentID: *st.AgentID, TaskID: st.TaskID, UUID: st.UUID,
			}}); err != nil || code != http.StatusAccepted {
				t.Fatalf("ACKNOWLEDGE: %d %q %v", code, body, err)
			}
		}
		if done(ev) {
			return
		}
	}
}

func TestCustomExecutor(t *testing.T) {
	env := start(t, 1, nil)
	mg, err := simtest.SubscribeMesosGo(env.SchedulerURL(), &mesos.FrameworkInfo{User: "test", Name: "mesos-go"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mg.Close)
	s := keep(mg)
	offer := firstOffer(t, s)
	exec := executorInfo(t, "exec-1")
	launch(t, s, offer, executorTask("t-finish", offer, exec, "finish"))
	running := awaitUpdate(t, s, "t-finish")
	if running.GetState() != mesos.TASK_RUNNING || running.GetSource() != mesos.SOURCE_EXECUTOR || running.GetExecutorID().GetValue() != "exec-1" {
		t.Fatalf("first update %v", running)
	}
	if st := awaitUpdate(t, s, "t-finish"); st.GetState() != mesos.TASK_FINISHED {
		t.Fatalf("second update %v", st)
	}
	stdoutPath := env.sandbox(0, s.FrameworkID(), "exec-1") + "/stdout"
	eventually(t, "the executor's log of its events", func() bool {
		return strings.Contains(readFile(t, env.agents[0], stdoutPath), "EVENT ACKNOWLEDGED t-finish")
	})
	out := readFile(t, env.agents[0], stdoutPath)
	for _, want := range []string{"CONFIG OK grace=5secs sandbox=", "EVENT SUBSCRIBED agent=" + env.agents[0].ID(), "EVENT LAUNCH t-finish", "SENT t-finish TASK_RUNNING", "SENT t-finish TASK_FINISHED"} {
		if !strings.Contains(out, want) {
			t.Errorf("executor stdout lacks %q:\n%s", want, out)
		}
	}

	// Framework messages reach the executor, and its answer the framework.
	agentID := mesos.AgentID{Value: env.agents[0].ID()}
	if code, body, err := s.Call(&scheduler.Call{Type: scheduler.Call_MESSAGE, Message: &scheduler.Call_Message{
		AgentID: agentID, ExecutorID: exec.ExecutorID, Data: []byte("ping"),
	}}); err != nil || code != http.StatusAccepted {
		t.Fatalf("MESSAGE: %d %s %v", code, body, err)
	}
	ev, err := s.Await(scheduler.Event_MESSAGE, wait)
	if err != nil {
		t.Fatal(err)
	}
	if string(ev.Message.Data) != "echo: ping" || ev.Message.ExecutorID.Value != "exec-1" || ev.Message.AgentID != agentID {
		t.Fatalf("MESSAGE event %v", ev.Message)
	}

	// A second task on the same executor, killed by the framework.
	offer = firstOffer(t, s)
	launch(t, s, offer, executorTask("t-run", offer, exec, "run"))
	awaitState(t, s, "t-run", mesos.TASK_RUNNING)
	if code, _, err := s.Call(&scheduler.Call{Type: scheduler.Call_KILL, Kill: &scheduler.Call_Kill{TaskID: mesos.TaskID{Value: "t-run"}}}); err != nil || code != http.StatusAccepted {
		t.Fatalf("KILL: %d %v", code, err)
	}
	if st := awaitUpdate(t, s, "t-run"); st.GetState() != mesos.TASK_KILLED {
		t.Fatalf("after KILL: %v", st)
	}

	// SHUTDOWN: the executor exits and the framework hears of it.
	if code, _, err := s.Call(&scheduler.Call{Type: scheduler.Call_SHUTDOWN, Shutdown: &scheduler.Call_Shutdown{ExecutorID: exec.ExecutorID, AgentID: agentID}}); err != nil || code != http.StatusAccepted {
		t.Fatalf("SHUTDOWN: %d %v", code, err)
	}
	ev, err = s.Await(scheduler.Event_FAILURE, wait)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Failure.GetExecutorID().GetValue() != "exec-1" || ev.Failure.GetStatus() != 0 {
		t.Fatalf("FAILURE after SHUTDOWN %v, want exec-1 with status 0", ev.Failure)
	}
	if out := readFile(t, env.agents[0], stdoutPath); !strings.Contains(out, "EVENT SHUTDOWN") || !strings.Contains(out, "EVENT KILL t-run") {
		t.Errorf("executor stdout:\n%s", out)
	}
}

func TestExecutorCrash(t *testing.T) {
	env := start(t, 1, nil)
	s := subscribe(t, env)
	offer := firstOffer(t, s)
	launch(t, s, offer, executorTask("doomed", offer, executorInfo(t, "crasher"), "crash"))
	var failed *mesos.TaskStatus
	var failure *scheduler.Event_Failure
	collect(t, s, func(ev *scheduler.Event) bool {
		switch {
		case ev.Type == scheduler.Event_UPDATE && ev.Update.Status.GetState() == mesos.TASK_FAILED:
			st := ev.Update.Status
			failed = &st
		case ev.Type == scheduler.Event_FAILURE:
			failure = ev.Failure
		}
		return failed != nil && failure != nil
	})
	if failed.GetReason() != mesos.REASON_EXECUTOR_TERMINATED || failed.GetSource() != mesos.SOURCE_AGENT || len(failed.UUID) != 16 {
		t.Errorf("TASK_FAILED %v: want REASON_EXECUTOR_TERMINATED from the agent, reliable", failed)
	}
	if failure.GetExecutorID().GetValue() != "crasher" || failure.GetAgentID().GetValue() != env.agents[0].ID() || failure.GetStatus() == 0 {
		t.Errorf("FAILURE %v: want the executor, the agent and a non-zero status", failure)
	}
	if st := failure.GetStatus(); st>>8 != 2 {
		t.Errorf("FAILURE status %d, want the wait status of exit code 2 (%d)", st, 2<<8)
	}
}

// TestExecutorShutdownGracePeriod: an executor that ignores SHUTDOWN is
// killed after its grace period, which it was told in stout format.
func TestExecutorShutdownGracePeriod(t *testing.T) {
	env := start(t, 1, nil)
	s := subscribe(t, env)
	offer := firstOffer(t, s)
	exec := executorInfo(t, "stubborn")
	exec.ShutdownGracePeriod = &mesos.DurationInfo{Nanoseconds: int64(300 * time.Millisecond)}
	launch(t, s, offer, executorTask("hold", offer, exec, "stubborn"))
	awaitState(t, s, "hold", mesos.TASK_RUNNING)
	agentID := mesos.AgentID{Value: env.agents[0].ID()}
	if code, _, err := s.Call(&scheduler.Call{Type: scheduler.Call_SHUTDOWN, Shutdown: &scheduler.Call_Shutdown{ExecutorID: exec.ExecutorID, AgentID: agentID}}); err != nil || code != http.StatusAccepted {
		t.Fatalf("SHUTDOWN: %d %v", code, err)
	}
	var failed *mesos.TaskStatus
	var failure *scheduler.Event_Failure
	collect(t, s, func(ev *scheduler.Event) bool {
		switch {
		case ev.Type == scheduler.Event_UPDATE && ev.Update.Status.GetState() == mesos.TASK_FAILED:
			st := ev.Update.Status
			failed = &st
		case ev.Type == scheduler.Event_FAILURE:
			failure = ev.Failure
		}
		return failed != nil && failure != nil
	})
	if failed.GetReason() != mesos.REASON_EXECUTOR_TERMINATED {
		t.Errorf("TASK_FAILED reason %v", failed.GetReason())
	}
	if failure.GetStatus() != int32(syscall.SIGKILL) {
		t.Errorf("FAILURE status %d, want the wait status of SIGKILL", failure.GetStatus())
	}
	out := readFile(t, env.agents[0], env.sandbox(0, s.FrameworkID(), "stubborn")+"/stdout")
	if !strings.Contains(out, "CONFIG OK grace=300ms") || !strings.Contains(out, "IGNORING SHUTDOWN") {
		t.Errorf("executor stdout:\n%s", out)
	}
}

func TestExecutorRegistrationTimeout(t *testing.T) {
	env := start(t, 1, func(c *agent.Config) { c.ExecutorRegistrationTimeout = 300 * time.Millisecond })
	s := subscribe(t, env)
	offer := firstOffer(t, s)
	silent := &mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: "silent"}, Command: &mesos.CommandInfo{Value: strPtr("exec sleep 1000")}}
	launch(t, s, offer, executorTask("never", offer, silent, "finish"))
	var failed *mesos.TaskStatus
	gotFailure := false
	collect(t, s, func(ev *scheduler.Event) bool {
		switch {
		case ev.Type == scheduler.Event_UPDATE && ev.Update.Status.GetState() == mesos.TASK_FAILED:
			st := ev.Update.Status
			failed = &st
		case ev.Type == scheduler.Event_FAILURE:
			gotFailure = ev.Failure.GetExecutorID().GetValue() == "silent"
		}
		return failed != nil && gotFailure
	})
	if failed.GetReason() != mesos.REASON_EXECUTOR_REGISTRATION_TIMEOUT {
		t.Errorf("TASK_FAILED reason %v, want REASON_EXECUTOR_REGISTRATION_TIMEOUT", failed.GetReason())
	}
}

// TestExecutorAPI checks the executor endpoint's validation and status codes
// (Mesos' executor_http_api_tests), then subscribes with plain HTTP and JSON
// in place of a silent executor.
func TestExecutorAPI(t *testing.T) {
	env := start(t, 1, func(c *agent.Config) { c.ExecutorHeartbeatInterval = 100 * time.Millisecond })
	s := subscribe(t, env)
	offer := firstOffer(t, s)
	silent := &mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: "manual"}, Command: &mesos.CommandInfo{Value: strPtr("exec sleep 1000")}}
	launch(t, s, offer, executorTask("manual-task", offer, silent, ""))
	a := env.agents[0]
	url := a.URL() + "/api/v1/executor"
	fwID := mesos.FrameworkID{Value: s.FrameworkID()}
	eventually(t, "the executor to start", func() bool {
		code, _, _ := simtest.Post(url, wire.JSON, &executor.Call{Type: executor.Call_HEARTBEAT, FrameworkID: fwID, ExecutorID: silent.ExecutorID}, nil)
		return code == http.StatusForbidden
	})
	uuid := bytes.Repeat([]byte{1}, 16)
	update := func(st mesos.TaskStatus) *executor.Call {
		return &executor.Call{Type: executor.Call_UPDATE, FrameworkID: fwID, ExecutorID: silent.ExecutorID, Update: &executor.Call_Update{Status: st}}
	}
	running := mesos.TaskStatus{TaskID: mesos.TaskID{Value: "manual-task"}, State: mesos.TASK_RUNNING.Enum(), Source: mesos.SOURCE_EXECUTOR.Enum(), UUID: uuid}
	cases := []struct {
		name        string
		method      string
		contentType string
		accept      string
		call        *executor.Call
		body        string
		want        int
	}{
		{name: "GET", method: http.MethodGet, want: http.StatusMethodNotAllowed},
		{name: "no content type", contentType: "", body: "{}", want: http.StatusBadRequest},
		{name: "unsupported media type", contentType: "text/plain", body: "{}", want: http.StatusUnsupportedMediaType},
		{name: "malformed JSON", contentType: wire.MediaTypeJSON, body: "{", want: http.StatusBadRequest},
		{name: "valid JSON, invalid protobuf", contentType: wire.MediaTypeProtobuf, body: "{}", want: http.StatusBadRequest},
		{name: "no executor id", call: &executor.Call{Type: executor.Call_HEARTBEAT, FrameworkID: fwID}, want: http.StatusBadRequest},
		{name: "unknown framework", call: &executor.Call{Type: executor.Call_HEARTBEAT, FrameworkID: mesos.FrameworkID{Value: "nope"}, ExecutorID: silent.ExecutorID}, want: http.StatusBadRequest},
		{name: "unknown executor", call: &executor.Call{Type: executor.Call_HEARTBEAT, FrameworkID: fwID, ExecutorID: mesos.ExecutorID{Value: "nope"}}, want: http.StatusBadRequest},
		{name: "not acceptable", accept: "text/html", call: &executor.Call{Type: executor.Call_SUBSCRIBE, FrameworkID: fwID, ExecutorID: silent.ExecutorID, Subscribe: &executor.Call_Subscribe{}}, want: http.StatusNotAcceptable},
		{name: "subscribe without subscribe", call: &executor.Call{Type: executor.Call_SUBSCRIBE, FrameworkID: fwID, ExecutorID: silent.ExecutorID}, want: http.StatusBadRequest},
		{name: "update from the wrong source", call: update(withSource(running, mesos.SOURCE_AGENT)), want: http.StatusBadRequest},
		{name: "update with a bad uuid", call: update(withUUID(running, []byte("short"))), want: http.StatusBadRequest},
		{name: "update to TASK_STAGING", call: update(withState(running, mesos.TASK_STAGING)), want: http.StatusBadRequest},
		{name: "update before subscribing", call: update(running), want: http.StatusForbidden},
		{name: "message before subscribing", call: &executor.Call{Type: executor.Call_MESSAGE, FrameworkID: fwID, ExecutorID: silent.ExecutorID, Message: &executor.Call_Message{Data: []byte("x")}}, want: http.StatusForbidden},
	}
	for _, c := range cases {
		codecs := []wire.Codec{wire.JSON}
		if c.call != nil {
			codecs = append(codecs, wire.Protobuf)
		}
		for _, codec := range codecs {
			t.Run(c.name+"/"+codec.MediaType, func(t *testing.T) {
				runCase(t, url, c.method, c.contentType, c.accept, c.body, c.call, codec, c.want)
			})
		}
	}
	// Subscribing in the executor's place: SUBSCRIBED, then the queued
	// LAUNCH; an unacknowledged update sent with SUBSCRIBE is taken and
	// acknowledged.
	subscribeCall := &executor.Call{Type: executor.Call_SUBSCRIBE, FrameworkID: fwID, ExecutorID: silent.ExecutorID,
		Subscribe: &executor.Call_Subscribe{UnacknowledgedUpdates: []executor.Call_Update{{Status: withUUID(running, uuid)}}}}
	events := subscribeExecutor(t, url, subscribeCall)
	heartbeats := 0
	// next returns the next event other than HEARTBEAT (they are counted).
	next := func() *executor.Event {
		t.Helper()
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatal("executor stream ended")
				}
				if ev.Type == executor.Event_HEARTBEAT {
					heartbeats++
					continue
				}
				return ev
			case <-time.After(wait):
				t.Fatal("timed out waiting for an executor event")
			}
		}
	}
	if ev := next(); ev.Type != executor.Event_SUBSCRIBED || ev.Subscribed.AgentInfo.GetID().GetValue() != a.ID() || ev.Subscribed.ExecutorInfo.ExecutorID.Value != "manual" || ev.Subscribed.ContainerID == nil {
		t.Fatalf("first event %v", ev)
	}
	got := map[executor.Event_Type]bool{}
	for !got[executor.Event_LAUNCH] || !got[executor.Event_ACKNOWLEDGED] {
		ev := next()
		got[ev.Type] = true
		switch ev.Type {
		case executor.Event_LAUNCH:
			if ev.Launch.Task.TaskID.Value != "manual-task" {
				t.Fatalf("LAUNCH of %v", ev.Launch.Task.TaskID)
			}
		case executor.Event_ACKNOWLEDGED:
			if !bytes.Equal(ev.Acknowledged.UUID, uuid) {
				t.Fatalf("ACKNOWLEDGED %v", ev.Acknowledged)
			}
		}
	}
	if st := awaitUpdate(t, s, "manual-task"); st.GetState() != mesos.TASK_RUNNING || !bytes.Equal(st.UUID, uuid) {
		t.Fatalf("the replayed update reached the framework as %v", st)
	}
	// Now subscribed: UPDATE is 202 and acknowledged on the stream.
	finished := withUUID(withState(running, mesos.TASK_FINISHED), bytes.Repeat([]byte{2}, 16))
	if code, body, _ := simtest.Post(url, wire.JSON, update(finished), nil); code != http.StatusAccepted {
		t.Fatalf("UPDATE: %d %s", code, body)
	}
	if ev := next(); ev.Type != executor.Event_ACKNOWLEDGED || !bytes.Equal(ev.Acknowledged.UUID, finished.UUID) {
		t.Fatalf("after UPDATE: %v", ev)
	}
	if st := awaitUpdate(t, s, "manual-task"); st.GetState() != mesos.TASK_FINISHED {
		t.Fatalf("FINISHED reached the framework as %v", st)
	}

	// HEARTBEAT events come every ExecutorHeartbeatInterval.
	for deadline := time.Now().Add(wait); heartbeats < 2; {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("executor stream ended")
			}
			if ev.Type == executor.Event_HEARTBEAT {
				heartbeats++
			}
		case <-time.After(time.Until(deadline)):
			t.Fatalf("%d HEARTBEAT events, want 2", heartbeats)
		}
	}

	// A second SUBSCRIBE takes over: the first stream ends.
	second := subscribeExecutor(t, url, &executor.Call{Type: executor.Call_SUBSCRIBE, FrameworkID: fwID, ExecutorID: silent.ExecutorID, Subscribe: &executor.Call_Subscribe{}})
	select {
	case ev := <-second:
		if ev == nil || ev.Type != executor.Event_SUBSCRIBED {
			t.Fatalf("second subscription's first event %v", ev)
		}
	case <-time.After(wait):
		t.Fatal("no SUBSCRIBED on the second subscription")
	}
	for closed := false; !closed; {
		select {
		case _, ok := <-events:
			closed = !ok
		case <-time.After(wait):
			t.Fatal("the first subscription was not closed")
		}
	}
}

// subscribeExecutor posts a SUBSCRIBE in JSON and returns its events.
func subscribeExecutor(t *testing.T, url string, call *executor.Call) <-chan *executor.Event {
	t.Helper()
	body, err := wire.JSON.Marshal(call)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", wire.MediaTypeJSON)
	req.Header.Set("Accept", wire.MediaTypeJSON)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != wire.MediaTypeJSON {
		t.Fatalf("SUBSCRIBE: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return readEvents(resp.Body)
}

// runCase posts one request to the executor endpoint and checks its status.
func runCase(t *testing.T, url, method, contentType, accept, rawBody string, call *executor.Call, codec wire.Codec, want int) {
	t.Helper()
	body := []byte(rawBody)
	if call != nil {
		var err error
		if body, err = codec.Marshal(call); err != nil {
			t.Fatal(err)
		}
		contentType = codec.MediaType
	}
	if method == "" {
		method = http.MethodPost
	}
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("status %d, want %d", resp.StatusCode, want)
	}
}

func withSource(st mesos.TaskStatus, src mesos.TaskStatus_Source) mesos.TaskStatus {
	st.Source = src.Enum()
	return st
}

func withUUID(st mesos.TaskStatus, uuid []byte) mesos.TaskStatus {
	st.UUID = uuid
	return st
}

func withState(st mesos.TaskStatus, state mesos.TaskState) mesos.TaskStatus {
	st.State = state.Enum()
	return st
}

// readEvents decodes a JSON RecordIO executor event stream.
func readEvents(r interface{ Read([]byte) (int, error) }) <-chan *executor.Event {
	out := make(chan *executor.Event, 64)
	go func() {
		defer close(out)
		rr := wire.NewRecordReader(bufio.NewReader(r))
		for {
			rec, err := rr.Next()
			if err != nil {
				return
			}
			var ev executor.Event
			if err := wire.JSON.Unmarshal(rec, &ev); err != nil {
				panic(fmt.Sprintf("bad event %s: %v", rec, err))
			}
			out <- &ev
		}
	}()
	return out
}
