package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubemesos/kubemesos/executor/protocol"
)

// testTiming makes a spec second 100 ms and the back-off short.
var testTiming = Timing{Second: 100 * time.Millisecond, BackOffInitial: 50 * time.Millisecond, BackOffMax: 200 * time.Millisecond, BackOffReset: time.Hour}

// harness runs one pod and records every status it reports.
type harness struct {
	t   *testing.T
	pod *Pod
	dir string

	mu       sync.Mutex
	statuses []*corev1.PodStatus
	cursor   int
	inside   atomic.Int32
}

// startPod runs pod with test timing; opts adjust the config.
func startPod(t *testing.T, pod *corev1.Pod, opts ...func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir()}
	if pod.Name == "" {
		pod.Name = "p"
	}
	pod.Namespace = "default"
	pod.UID = types.UID(fmt.Sprintf("uid-%d", time.Now().UnixNano()))
	cfg := Config{
		Pod:      pod,
		Task:     &protocol.PodTask{},
		Dir:      h.dir,
		HostIP:   "127.0.0.1",
		OnStatus: h.record,
		Env:      func(*corev1.Pod, *corev1.Container, *protocol.PodTask) ([]string, error) { return nil, nil },
		Timing:   testTiming,
	}
	for _, o := range opts {
		o(&cfg)
	}
	p, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.pod = p
	t.Cleanup(func() {
		p.Kill(0)
		select {
		case <-p.Done():
		case <-time.After(30 * time.Second):
			t.Error("pod not done 30s after Kill")
		}
		h.checkNoProcesses()
	})
	return h
}

func (h *harness) record(s *corev1.PodStatus) {
	if h.inside.Add(1) != 1 {
		h.t.Error("OnStatus called concurrently")
	}
	defer h.inside.Add(-1)
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := len(h.statuses); n > 0 && equality.Semantic.DeepEqual(h.statuses[n-1], s) {
		h.t.Errorf("status repeated: %+v", s)
	}
	h.statuses = append(h.statuses, s)
}

// waitFor waits for a reported status (after the one the last waitFor
// matched) that satisfies cond, and returns it.
func (h *harness) waitFor(what string, cond func(*corev1.PodStatus) bool) *corev1.PodStatus {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		h.mu.Lock()
		for i := h.cursor; i < len(h.statuses); i++ {
			if cond(h.statuses[i]) {
				h.cursor = i + 1
				s := h.statuses[i]
				h.mu.Unlock()
				return s
			}
		}
		h.mu.Unlock()
		if time.Now().After(deadline) {
			h.t.Fatalf("no status with %s; last: %s", what, h.describe(h.pod.Status()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitDone waits for the pod to end and returns its final status.
func (h *harness) waitDone() *corev1.PodStatus {
	h.t.Helper()
	select {
	case <-h.pod.Done():
	case <-time.After(20 * time.Second):
		h.t.Fatalf("pod not done; status %s", h.describe(h.pod.Status()))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	last := h.statuses[len(h.statuses)-1]
	if !equality.Semantic.DeepEqual(last, h.pod.Status()) {
		h.t.Errorf("last status delivered differs from Status()")
	}
	return last
}

// checkNoProcesses checks that no process of any container instance seen
// is left.
func (h *harness) checkNoProcesses() {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	pids := map[int]bool{}
	for _, s := range h.statuses {
		for _, cs := range append(append([]corev1.ContainerStatus{}, s.InitContainerStatuses...), s.ContainerStatuses...) {
			if pid, err := strconv.Atoi(strings.TrimPrefix(cs.ContainerID, "process://")); err == nil {
				pids[pid] = true
			}
		}
	}
	// The groups are gone too: nothing is left of the containers (killed
	// orphans may take a moment to be reaped by init).
	deadline := time.Now().Add(5 * time.Second)
	for pid := range pids {
		for {
			err := syscall.Kill(-pid, 0)
			if errors.Is(err, syscall.ESRCH) {
				break
			}
			if time.Now().After(deadline) {
				h.t.Errorf("process group %d still exists (%v)", pid, err)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func (h *harness) describe(s *corev1.PodStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s reason=%s message=%q", s.Phase, s.Reason, s.Message)
	for _, cs := range append(append([]corev1.ContainerStatus{}, s.InitContainerStatuses...), s.ContainerStatuses...) {
		fmt.Fprintf(&b, " [%s restarts=%d ready=%v started=%v state=%s last=%s]", cs.Name, cs.RestartCount, cs.Ready, cs.Started != nil && *cs.Started, state(cs.State), state(cs.LastTerminationState))
	}
	return b.String()
}

func state(s corev1.ContainerState) string {
	switch {
	case s.Waiting != nil:
		return "waiting:" + s.Waiting.Reason + ":" + s.Waiting.Message
	case s.Running != nil:
		return "running"
	case s.Terminated != nil:
		return fmt.Sprintf("terminated:%s:%d:%q", s.Terminated.Reason, s.Terminated.ExitCode, s.Terminated.Message)
	}
	return "none"
}

// logText returns the text of a container instance's log, without the CRI
// prefixes.
func (h *harness) logText(container string, restart int) string {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(h.dir, "logs", container, strconv.Itoa(restart)+".log"))
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		parts := strings.SplitN(line, " ", 4)
		if len(parts) < 4 {
			h.t.Fatalf("log line %q", line)
		}
		out = append(out, parts[3])
	}
	return strings.Join(out, "\n")
}

// shell is a container running script with /bin/sh.
func shell(name, script string) corev1.Container {
	return corev1.Container{Name: name, Image: "busybox:1.36", Command: []string{"/bin/sh", "-c", script}}
}

func podOf(policy corev1.RestartPolicy, containers ...corev1.Container) *corev1.Pod {
	grace := int64(20) // 2 s in test seconds
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec:       corev1.PodSpec{RestartPolicy: policy, Containers: containers, TerminationGracePeriodSeconds: &grace},
	}
}

func containerStatus(s *corev1.PodStatus, name string) corev1.ContainerStatus {
	for _, cs := range append(append([]corev1.ContainerStatus{}, s.InitContainerStatuses...), s.ContainerStatuses...) {
		if cs.Name == name {
			return cs
		}
	}
	return corev1.ContainerStatus{}
}

func condition(s *corev1.PodStatus, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range s.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

// running reports whether container name is running.
func running(name string) func(*corev1.PodStatus) bool {
	return func(s *corev1.PodStatus) bool { return containerStatus(s, name).State.Running != nil }
}

// ready reports whether container name is ready.
func ready(name string, want bool) func(*corev1.PodStatus) bool {
	return func(s *corev1.PodStatus) bool {
		cs := containerStatus(s, name)
		return cs.State.Running != nil && cs.Ready == want
	}
}

func restarted(name string, n int32) func(*corev1.PodStatus) bool {
	return func(s *corev1.PodStatus) bool { return containerStatus(s, name).RestartCount >= n }
}

// goroutinesSettle waits for the goroutine count to come back to at most n.
func goroutinesSettle(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readFile(dir, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	return string(b), err
}

// waitForFile waits for a file of the pod's directory to exist.
func (h *harness) waitForFile(name string) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, err := readFile(h.dir, name); err == nil && b != "" {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no file %s", name)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitGone waits for process pid to be gone (reaped).
func (h *harness) waitGone(pid int) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		if time.Now().After(deadline) {
			h.t.Fatalf("process %d still exists", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
