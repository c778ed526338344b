package local_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/resources"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/kubemesos/kubemesos/mesos-sim/local"
	"github.com/kubemesos/kubemesos/mesos-sim/master"
	"github.com/kubemesos/kubemesos/mesos-sim/simtest"
	"github.com/kubemesos/kubemesos/mesos-sim/spec"
	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

// commandLaunch launches n command tasks (`sleep 600`) in one ACCEPT on a
// single process agent and returns the time from the ACCEPT until every
// task is TASK_RUNNING, and the process's RSS then (master and agent; the
// tasks are processes of their own).
func commandLaunch(tb testing.TB, n int, isolation string) (time.Duration, float64) {
	tb.Helper()
	res, err := spec.ParseResources(fmt.Sprintf("cpus:%d;mem:%d", n, 64*n))
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	c, err := local.Start(context.Background(), ln, local.Config{
		Master: master.Config{AllocationInterval: 100 * time.Millisecond},
		Agents: 1, AgentMode: local.AgentsProcess, AgentResources: res, WorkDir: tb.TempDir(), AgentIsolation: isolation,
	})
	if err != nil {
		tb.Fatal(err)
	}
	defer func() {
		ctx, done := context.WithTimeout(context.Background(), time.Minute)
		defer done()
		if err := c.Stop(ctx); err != nil {
			tb.Errorf("stop: %v", err)
		}
	}()
	name := "command-launch"
	s, err := simtest.Subscribe(c.URL+"/api/v1/scheduler", wire.Protobuf, &mesos.FrameworkInfo{User: "root", Name: name}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	ev, err := s.Await(scheduler.Event_OFFERS, time.Minute)
	if err != nil {
		tb.Fatal(err)
	}
	offer := ev.Offers.Offers[0]
	tasks := make([]mesos.TaskInfo, n)
	shell := "sleep 600"
	for i := range tasks {
		id := "sleep-" + strconv.Itoa(i)
		tasks[i] = mesos.TaskInfo{
			Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: offer.AgentID,
			Command:   &mesos.CommandInfo{Value: &shell},
			Resources: []mesos.Resource{resources.NewCPUs(1).Resource, resources.NewMemory(32).Resource},
		}
	}
	start := time.Now()
	code, body, err := s.Call(&scheduler.Call{Type: scheduler.Call_ACCEPT, Accept: &scheduler.Call_Accept{
		OfferIDs:   []mesos.OfferID{offer.ID},
		Operations: []mesos.Offer_Operation{{Type: mesos.Offer_Operation_LAUNCH, Launch: &mesos.Offer_Operation_Launch{TaskInfos: tasks}}},
	}})
	if err != nil || code != http.StatusAccepted {
		tb.Fatalf("ACCEPT: %d %q %v", code, body, err)
	}
	running := map[string]bool{}
	for len(running) < n {
		ev, err := s.Next(2 * time.Minute)
		if err != nil {
			tb.Fatalf("%d of %d running: %v", len(running), n, err)
		}
		if ev.Type != scheduler.Event_UPDATE {
			continue
		}
		st := ev.Update.Status
		if len(st.UUID) > 0 {
			if code, body, err := s.Call(&scheduler.Call{Type: scheduler.Call_ACKNOWLEDGE, Acknowledge: &scheduler.Call_Acknowledge{
				AgentID: *st.AgentID, TaskID: st.TaskID, UUID: st.UUID,
			}}); err != nil || code != http.StatusAccepted {
				tb.Fatalf("ACKNOWLEDGE: %d %q %v", code, body, err)
			}
		}
		switch st.GetState() {
		case mesos.TASK_RUNNING:
			running[st.TaskID.Value] = true
		case mesos.TASK_STARTING, mesos.TASK_STAGING:
		default:
			tb.Fatalf("task %s: %v %v %q", st.TaskID.Value, st.GetState(), st.GetReason(), st.GetMessage())
		}
	}
	elapsed := time.Since(start)
	runtime.GC()
	debug.FreeOSMemory()
	return elapsed, rssMiB()
}

// TestCommandLaunchSmoke runs the command-task launch benchmark small, so
// that it cannot rot; it also checks that stopping the cluster leaves none
// of the task processes behind.
func TestCommandLaunchSmoke(t *testing.T) {
	commandLaunch(t, 10, "")
	if out, _ := exec.Command("pgrep", "-f", "^sleep 600$").Output(); len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("task processes left after stop: %s", out)
	}
}

// BenchmarkCommandLaunch is issue 3's figure: 1,000 command tasks launched
// on one process agent, ACCEPT to all RUNNING. Run with -benchtime 1x.
// The agent isolates memory where the machine allows (cgroups/mem, a cgroup
// per task); BenchmarkCommandLaunchNoIsolation is the same without.
func BenchmarkCommandLaunch(b *testing.B) { benchCommandLaunch(b, "") }

// BenchmarkCommandLaunchNoIsolation is BenchmarkCommandLaunch on an agent
// with isolation none.
func BenchmarkCommandLaunchNoIsolation(b *testing.B) { benchCommandLaunch(b, "none") }

func benchCommandLaunch(b *testing.B, isolation string) {
	var elapsed time.Duration
	var rss float64
	for i := 0; i < b.N; i++ {
		elapsed, rss = commandLaunch(b, 1000, isolation)
	}
	b.ReportMetric(elapsed.Seconds(), "s-to-all-running")
	b.ReportMetric(rss, "RSS-MiB")
}

// rssMiB reads the process's resident set size (VmRSS).
func rssMiB() float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
