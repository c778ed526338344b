// Command executor is a custom executor for the agent's tests, built on
// mesos-go's executor library as a real framework's executor would be. What
// it does with a task depends on the task's data: "finish" (RUNNING then
// FINISHED), "crash" (RUNNING, then exit 2 once RUNNING is acknowledged),
// "run" (RUNNING until killed), "stubborn" (RUNNING, and SHUTDOWN is
// ignored). It echoes framework messages back, exits on
// SHUTDOWN and prints every event it gets to stdout. With MESOS_CHECKPOINT=1
// it outlives a disconnection as Mesos' executor libraries do: it subscribes
// again (with its unacknowledged tasks and updates) until
// MESOS_RECOVERY_TIMEOUT. With TEST_SUBSCRIBE_GATE=FILE it waits for FILE
// to exist before it first subscribes.
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/executor/calls"
	"github.com/mesos/mesos-go/api/v1/lib/executor/config"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpexec"
)

func main() {
	cfg, err := config.FromEnv()
	if err != nil {
		fmt.Println("CONFIG ERROR", err)
		os.Exit(3)
	}
	fmt.Println("CONFIG OK grace=" + os.Getenv("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD") + " sandbox=" + cfg.Sandbox)
	fmt.Println("PID", os.Getpid())
	if gate := os.Getenv("TEST_SUBSCRIBE_GATE"); gate != "" {
		for {
			if _, err := os.Stat(gate); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	u := url.URL{Scheme: "http", Host: cfg.AgentEndpoint, Path: "/api/v1/executor"}
	cli := httpcli.New(
		httpcli.Endpoint(u.String()),
		httpcli.Codec(codecs.ByMediaType[codecs.MediaTypeProtobuf]),
		httpcli.Do(httpcli.With(httpcli.Timeout(10*time.Second))),
	)
	opts := executor.CallOptions{calls.Framework(cfg.FrameworkID), calls.Executor(cfg.ExecutorID)}
	sender := calls.SenderWith(httpexec.NewSender(cli.Send), opts...)
	subscriber := calls.SenderWith(httpexec.NewSender(cli.Send, httpcli.Close(true)), opts...)
	ctx := context.Background()

	// Unacknowledged tasks (no update acknowledged yet) and updates, sent
	// again when the executor subscribes again.
	unackedTasks := map[string]mesos.TaskInfo{}
	unackedUpdates := map[string]executor.Call_Update{}
	subscribe := func() mesos.Response {
		deadline := time.Now().Add(cfg.RecoveryTimeout)
		for {
			var tasks []mesos.TaskInfo
			for _, t := range unackedTasks {
				tasks = append(tasks, t)
			}
			var updates []executor.Call_Update
			for _, u := range unackedUpdates {
				updates = append(updates, u)
			}
			resp, err := subscriber.Send(ctx, calls.NonStreaming(calls.Subscribe(tasks, updates)))
			if err == nil {
				return resp
			}
			if !cfg.Checkpoint || time.Now().After(deadline) {
				fmt.Println("SUBSCRIBE ERROR", err)
				os.Exit(4)
			}
			time.Sleep(min(100*time.Millisecond, cfg.SubscriptionBackoffMax))
		}
	}
	resp := subscribe()
	defer func() { resp.Close() }()
	execID := mesos.ExecutorID{Value: cfg.ExecutorID}
	behaviour := map[string]string{}
	update := func(taskID mesos.TaskID, state mesos.TaskState) {
		uuid := make([]byte, 16)
		_, _ = rand.Read(uuid)
		st := mesos.TaskStatus{TaskID: taskID, State: state.Enum(), Source: mesos.SOURCE_EXECUTOR.Enum(), ExecutorID: &execID, UUID: uuid}
		unackedUpdates[string(uuid)] = executor.Call_Update{Status: st}
		r, err := sender.Send(ctx, calls.NonStreaming(calls.Update(st)))
		if r != nil {
			r.Close()
		}
		if err != nil && !cfg.Checkpoint {
			fmt.Println("UPDATE ERROR", err)
			os.Exit(5)
		}
		fmt.Println("SENT", taskID.Value, state)
	}
	start := func(t mesos.TaskInfo) {
		behaviour[t.TaskID.Value] = string(t.Data)
		unackedTasks[t.TaskID.Value] = t
		update(t.TaskID, mesos.TASK_RUNNING)
		if string(t.Data) == "finish" {
			update(t.TaskID, mesos.TASK_FINISHED)
		}
	}
	for {
		var ev executor.Event
		if err := resp.Decode(&ev); err != nil {
			fmt.Println("STREAM ENDED", err)
			if !cfg.Checkpoint {
				os.Exit(6)
			}
			resp.Close()
			resp = subscribe()
			continue
		}
		switch ev.Type {
		case executor.Event_SUBSCRIBED:
			fmt.Println("EVENT SUBSCRIBED agent=" + ev.Subscribed.AgentInfo.GetID().GetValue())
		case executor.Event_LAUNCH:
			t := ev.Launch.Task
			fmt.Println("EVENT LAUNCH", t.TaskID.Value)
			start(t)
		case executor.Event_LAUNCH_GROUP:
			for _, t := range ev.LaunchGroup.TaskGroup.Tasks {
				fmt.Println("EVENT LAUNCH_GROUP", t.TaskID.Value)
				start(t)
			}
		case executor.Event_ACKNOWLEDGED:
			id := ev.Acknowledged.TaskID.Value
			fmt.Println("EVENT ACKNOWLEDGED", id)
			delete(unackedUpdates, string(ev.Acknowledged.UUID))
			delete(unackedTasks, id)
			if behaviour[id] == "crash" {
				fmt.Println("CRASHING")
				os.Exit(2)
			}
		case executor.Event_KILL:
			fmt.Println("EVENT KILL", ev.Kill.TaskID.Value)
			update(ev.Kill.TaskID, mesos.TASK_KILLED)
		case executor.Event_MESSAGE:
			fmt.Println("EVENT MESSAGE", string(ev.Message.Data))
			r, err := sender.Send(ctx, calls.NonStreaming(calls.Message(append([]byte("echo: "), ev.Message.Data...))))
			if r != nil {
				r.Close()
			}
			if err != nil {
				fmt.Println("MESSAGE ERROR", err)
			}
		case executor.Event_SHUTDOWN:
			fmt.Println("EVENT SHUTDOWN")
			if !stubborn(behaviour) {
				os.Exit(0)
			}
			fmt.Println("IGNORING SHUTDOWN")
		default:
			fmt.Println("EVENT", ev.Type)
		}
	}
}

func stubborn(behaviour map[string]string) bool {
	for _, b := range behaviour {
		if b == "stubborn" {
			return true
		}
	}
	return false
}
