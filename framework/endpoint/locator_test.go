package endpoint

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	procagent "github.com/kubemesos/kubemesos/mesos-sim/agent"
	"github.com/kubemesos/kubemesos/mesos-sim/local"
)

// testLocator is a LogLocator over a table the test changes as it goes.
type testLocator struct {
	mu   sync.Mutex
	logs map[string]located
}

type located struct {
	agentURL, current, previous string
	stopped                     bool
}

func newTestLocator() *testLocator { return &testLocator{logs: map[string]located{}} }

func (l *testLocator) set(namespace, pod, container string, loc located) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.logs[namespace+"/"+pod+"/"+container] = loc
}

func (l *testLocator) remove(namespace, pod, container string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.logs, namespace+"/"+pod+"/"+container)
}

func (l *testLocator) LogFile(namespace, pod, container string, previous bool) (string, string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	loc, ok := l.logs[namespace+"/"+pod+"/"+container]
	switch {
	case !ok:
		return "", "", fmt.Errorf("pod %q does not exist or has no container %q: %w", pod, container, ErrNotFound)
	case previous && loc.previous == "":
		return "", "", fmt.Errorf("previous terminated container %q in pod %q not found: %w", container, pod, ErrNotFound)
	case previous:
		return loc.agentURL, loc.previous, nil
	}
	return loc.agentURL, loc.current, nil
}

// runningLocator is a testLocator that also reports whether containers run.
type runningLocator struct{ *testLocator }

func (l runningLocator) Running(namespace, pod, container string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	loc, ok := l.logs[namespace+"/"+pod+"/"+container]
	return ok && !loc.stopped
}

// testAgent is a real mesos-sim process agent, registered with a mesos-sim
// master, whose /files API serves its work directory.
type testAgent struct {
	url string
	dir string
}

func startAgent(t *testing.T) *testAgent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cluster, err := local.Start(ctx, ln, local.Config{})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "agent")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	a, err := procagent.New(procagent.Config{
		MasterURL: cluster.URL,
		Listen:    "127.0.0.1:0",
		WorkDir:   dir,
		Isolation: procagent.IsolationNone,
		Resources: mesos.Resources{{Name: "cpus", Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: 1}}},
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
		stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		if err := cluster.Stop(stopCtx); err != nil {
			t.Errorf("master: %v", err)
		}
	})
	select {
	case <-a.Registered():
	case <-time.After(30 * time.Second):
		t.Fatal("the agent did not register with the master")
	}
	return &testAgent{url: a.URL(), dir: dir}
}

// path is a file under the agent's work directory, as a pod's log would be.
func (a *testAgent) path(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(a.dir, "slaves", "S0", "frameworks", "F0", "executors", "E0", "runs", "latest", "pods", "ns_pod", "logs", name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// appendFile appends text to the file at path, creating it.
func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// cri is one line of a CRI log file.
func cri(ts time.Time, stream, tag, text string) string {
	return ts.Format(time.RFC3339Nano) + " " + stream + " " + tag + " " + text + "\n"
}
