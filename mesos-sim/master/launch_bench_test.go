package master_test

import (
	"fmt"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/resources"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/kubemesos/kubemesos/mesos-sim/behavior"
	"github.com/kubemesos/kubemesos/mesos-sim/master"
	"github.com/kubemesos/kubemesos/mesos-sim/simtest"
)

// launchShape is a launch-throughput run: tasksPerAgent tasks on each of
// agents simulated agents.
type launchShape struct{ agents, tasksPerAgent int }

// launchResult is what one run measured.
type launchResult struct {
	tasks   int
	elapsed time.Duration // first ACCEPT to the last RUNNING acknowledged
	calls   int64         // ACCEPT and ACKNOWLEDGE calls made
	rssMiB  float64       // process RSS with every task running, after a GC
}

// launchAll has one framework, driven through mesos-go's httpsched client
// (protobuf), launch every task of shape on agents that start tasks at
// once, acknowledging every update as a framework must, and measures the
// time from the first ACCEPT until the last TASK_RUNNING is acknowledged.
func launchAll(tb testing.TB, shape launchShape) launchResult {
	tb.Helper()
	env := simtest.Start(tb, simtest.Options{
		Agents:   shape.agents,
		Master:   master.Config{},    // Mesos defaults: 1s allocation interval
		Behavior: &behavior.Config{}, // STARTING and RUNNING at once
	})
	s, err := simtest.SubscribeMesosGo(env.SchedulerURL(), frameworkInfo("launch-throughput"))
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()

	total := shape.agents * shape.tasksPerAgent
	calls := make(chan *scheduler.Call, 4096)
	var failed atomic.Value
	var made atomic.Int64
	var workers sync.WaitGroup
	for w := 0; w < 8; w++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for c := range calls {
				made.Add(1)
				if code, body, err := s.Call(c); err != nil || code != http.StatusAccepted {
					failed.Store(fmt.Sprintf("%v call: %d %s %v", c.Type, code, body, err))
				}
			}
		}()
	}
	defer func() {
		close(calls)
		workers.Wait()
	}()

	var start time.Time
	launched, running := 0, 0
	deadline := time.Now().Add(10 * time.Minute)
	for running < total {
		if msg := failed.Load(); msg != nil {
			tb.Fatal(msg)
		}
		ev, err := s.Next(time.Until(deadline))
		if err != nil {
			tb.Fatalf("after %d of %d tasks running: %v", running, total, err)
		}
		switch ev.Type {
		case scheduler.Event_OFFERS:
			for _, offer := range ev.Offers.Offers {
				n := min(shape.tasksPerAgent, total-launched)
				if n == 0 {
					calls <- declineCall(offer.ID)
					continue
				}
				if start.IsZero() {
					start = time.Now()
				}
				calls <- acceptCall(offer, launched, n)
				launched += n
			}
		case scheduler.Event_UPDATE:
			st := ev.Update.Status
			if len(st.UUID) > 0 {
				calls <- &scheduler.Call{Type: scheduler.Call_ACKNOWLEDGE, Acknowledge: &scheduler.Call_Acknowledge{
					AgentID: *st.AgentID, TaskID: st.TaskID, UUID: st.UUID,
				}}
			}
			switch st.GetState() {
			case mesos.TASK_RUNNING:
				running++
			case mesos.TASK_STARTING, mesos.TASK_STAGING:
			default:
				tb.Fatalf("task %s: %v %v %q", st.TaskID.Value, st.GetState(), st.GetReason(), st.GetMessage())
			}
		}
	}
	elapsed := time.Since(start)
	// The cluster is still up: what it holds now is the master's memory
	// with every task running (plus this small client).
	runtime.GC()
	debug.FreeOSMemory()
	return launchResult{tasks: total, elapsed: elapsed, calls: made.Load(), rssMiB: simtest.RSSMiB()}
}

func acceptCall(offer mesos.Offer, first, n int) *scheduler.Call {
	tasks := make([]mesos.TaskInfo, n)
	cmd := "sleep 600"
	for i := range tasks {
		id := "task-" + strconv.Itoa(first+i)
		tasks[i] = mesos.TaskInfo{
			Name:      id,
			TaskID:    mesos.TaskID{Value: id},
			AgentID:   offer.AgentID,
			Command:   &mesos.CommandInfo{Value: &cmd},
			Resources: []mesos.Resource{resources.NewCPUs(0.1).Resource, resources.NewMemory(32).Resource},
		}
	}
	refuse := 3600.0
	return &scheduler.Call{Type: scheduler.Call_ACCEPT, Accept: &scheduler.Call_Accept{
		OfferIDs:   []mesos.OfferID{offer.ID},
		Operations: []mesos.Offer_Operation{{Type: mesos.Offer_Operation_LAUNCH, Launch: &mesos.Offer_Operation_Launch{TaskInfos: tasks}}},
		Filters:    &mesos.Filters{RefuseSeconds: &refuse},
	}}
}

func declineCall(id mesos.OfferID) *scheduler.Call {
	refuse := 3600.0
	return &scheduler.Call{Type: scheduler.Call_DECLINE, Decline: &scheduler.Call_Decline{
		OfferIDs: []mesos.OfferID{id}, Filters: &mesos.Filters{RefuseSeconds: &refuse},
	}}
}

// TestLaunchThroughputSmoke runs the launch benchmark's smallest size, so
// that the benchmark cannot rot: every task must reach TASK_RUNNING.
func TestLaunchThroughputSmoke(t *testing.T) {
	r := launchAll(t, launchShape{agents: 10, tasksPerAgent: 10})
	if r.tasks != 100 || r.calls < 100+10 {
		t.Fatalf("launched %d tasks with %d calls; want 100 tasks, each acknowledged twice", r.tasks, r.calls)
	}
}

// BenchmarkLaunchThroughput reports tasks/s from the first ACCEPT until the
// last TASK_RUNNING is acknowledged, and the process's RSS with every task
// running (master, simulated agents and client in one process). Run with
// -benchtime 1x.
func BenchmarkLaunchThroughput(b *testing.B) {
	for _, shape := range []launchShape{{1000, 10}, {10000, 10}} {
		b.Run(fmt.Sprintf("agents=%d/tasks=%d", shape.agents, shape.agents*shape.tasksPerAgent), func(b *testing.B) {
			var r launchResult
			for i := 0; i < b.N; i++ {
				r = launchAll(b, shape)
			}
			b.ReportMetric(float64(r.tasks)/r.elapsed.Seconds(), "tasks/s")
			b.ReportMetric(r.rssMiB, "RSS-MiB")
		})
	}
}
