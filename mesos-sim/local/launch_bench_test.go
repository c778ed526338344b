package local_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
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

// commandLaunch launches n command tasks (`sleep <seconds>`) in one ACCEPT on a
// single process agent and returns the time from the ACCEPT until every
// task is TASK_RUNNING and until half of them are, and the process's RSS
// then (master and agent; the tasks are processes of their own). The
// agent's work directory is workDir.
func commandLaunch(tb testing.TB, n int, seconds, isolation, workDir string) (all, half time.Duration, rss float64) {
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
		Agents: 1, AgentMode: local.AgentsProcess, AgentResources: res, WorkDir: workDir, AgentIsolation: isolation,
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
	shell := "sleep " + seconds
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
	// Acknowledge as frameworks do, off the event loop and concurrently.
	acks := make(chan *scheduler.Call, n)
	ackErr := make(chan error, 1)
	var ackers sync.WaitGroup
	for range 8 {
		ackers.Add(1)
		go func() {
			defer ackers.Done()
			for call := range acks {
				if code, body, err := s.Call(call); err != nil || code != http.StatusAccepted {
					select {
					case ackErr <- fmt.Errorf("ACKNOWLEDGE: %d %q %v", code, body, err):
					default:
					}
				}
			}
		}()
	}
	defer func() {
		close(acks)
		ackers.Wait()
	}()
	running := map[string]bool{}
	for len(running) < n {
		select {
		case err := <-ackErr:
			tb.Fatal(err)
		default:
		}
		ev, err := s.Next(2 * time.Minute)
		if err != nil {
			tb.Fatalf("%d of %d running: %v", len(running), n, err)
		}
		if ev.Type != scheduler.Event_UPDATE {
			continue
		}
		st := ev.Update.Status
		if len(st.UUID) > 0 {
			acks <- &scheduler.Call{Type: scheduler.Call_ACKNOWLEDGE, Acknowledge: &scheduler.Call_Acknowledge{
				AgentID: *st.AgentID, TaskID: st.TaskID, UUID: st.UUID,
			}}
		}
		switch st.GetState() {
		case mesos.TASK_RUNNING:
			running[st.TaskID.Value] = true
			if len(running) == (n+1)/2 {
				half = time.Since(start)
			}
		case mesos.TASK_STARTING, mesos.TASK_STAGING:
		default:
			tb.Fatalf("task %s: %v %v %q", st.TaskID.Value, st.GetState(), st.GetReason(), st.GetMessage())
		}
	}
	all = time.Since(start)
	runtime.GC()
	debug.FreeOSMemory()
	return all, half, simtest.RSSMiB()
}

// TestCommandLaunchSmoke runs the command-task launch benchmark small, so
// that it cannot rot; it also checks that stopping the cluster leaves none
// of the task processes behind.
func TestCommandLaunchSmoke(t *testing.T) {
	// A duration no other test uses names this test's processes.
	seconds := fmt.Sprintf("600.%d", os.Getpid())
	// The check below must see such a process when there is one.
	probe := exec.Command("sleep", seconds)
	if err := probe.Start(); err != nil {
		t.Fatal(err)
	}
	found := len(sleepsRunning(seconds)) == 1
	probe.Process.Kill()
	probe.Wait()
	if !found {
		t.Fatal("sleepsRunning does not find a running sleep")
	}
	all, half, _ := commandLaunch(t, 10, seconds, "", t.TempDir())
	if half > all {
		t.Errorf("half the tasks running after %v, all after %v", half, all)
	}
	if left := sleepsRunning(seconds); len(left) > 0 {
		t.Fatalf("task processes left after stop: %v", left)
	}
}

// sleepsRunning lists the pids of `sleep seconds` processes (argv[0] may be
// a path: the agent execs commands through a shell).
func sleepsRunning(seconds string) []string {
	var pids []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		argv := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
		if len(argv) == 2 && filepath.Base(argv[0]) == "sleep" && argv[1] == seconds {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// BenchmarkCommandLaunch is issue 3's figure: 1,000 command tasks launched
// on one process agent, ACCEPT to all RUNNING. Run with -benchtime 1x.
// The agent isolates memory where the machine allows (cgroups/mem, a cgroup
// per task); BenchmarkCommandLaunchNoIsolation is the same without.
func BenchmarkCommandLaunch(b *testing.B) { benchCommandLaunch(b, "", "") }

// BenchmarkCommandLaunchNoIsolation is BenchmarkCommandLaunch on an agent
// with isolation none.
func BenchmarkCommandLaunchNoIsolation(b *testing.B) { benchCommandLaunch(b, "none", "") }

// BenchmarkCommandLaunchTmpfs is BenchmarkCommandLaunch with the agent's
// work directory on tmpfs (/dev/shm): the sandboxes' six inodes per task
// (three directories, the latest link, stdout, stderr) cost what the file
// system makes them cost, which on a slow disk dominates the launch.
func BenchmarkCommandLaunchTmpfs(b *testing.B) {
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err != nil || st.Type != tmpfsMagic {
		b.Skip("no tmpfs at /dev/shm")
	}
	benchCommandLaunch(b, "", "/dev/shm")
}

// tmpfsMagic is tmpfs's statfs(2) f_type.
const tmpfsMagic = 0x01021994

func benchCommandLaunch(b *testing.B, isolation, tempRoot string) {
	var all, half time.Duration
	var rss float64
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		if tempRoot != "" {
			var err error
			if dir, err = os.MkdirTemp(tempRoot, "command-launch-"); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = os.RemoveAll(dir) })
		}
		all, half, rss = commandLaunch(b, 1000, "600", isolation, dir)
	}
	b.ReportMetric(all.Seconds(), "s-to-all-running")
	// Tasks whose TASK_RUNNING waits for others' launches show here.
	b.ReportMetric(half.Seconds(), "s-to-half-running")
	b.ReportMetric(rss, "RSS-MiB")
}
