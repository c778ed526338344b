package runner

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestPostStartHook(t *testing.T) {
	var called atomic.Bool
	calledFile := filepath.Join(t.TempDir(), "called")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/started" {
			called.Store(true)
			_ = os.WriteFile(calledFile, nil, 0o644)
		}
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	for _, tc := range []struct {
		name    string
		handler corev1.LifecycleHandler
		script  string
		ok      bool
	}{
		// The container waits for what its hook writes.
		{"exec", corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"/bin/sh", "-c", "echo hooked > hook"}}}, "while ! test -f hook; do sleep 0.02; done; exit 0", true},
		{"httpGet", corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/started", Port: intstr.FromInt(port)}}, "while ! test -f " + calledFile + "; do sleep 0.02; done", true},
		{"failing exec", corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"/bin/sh", "-c", "echo no way; exit 2"}}}, "exec sleep 60", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := shell("main", tc.script)
			c.Lifecycle = &corev1.Lifecycle{PostStart: &tc.handler}
			h := startPod(t, podOf(corev1.RestartPolicyNever, c))
			s := h.waitDone()
			term := containerStatus(s, "main").State.Terminated
			if tc.ok != (s.Phase == corev1.PodSucceeded) || term == nil {
				t.Fatalf("%s", h.describe(s))
			}
			if !tc.ok && (!strings.Contains(term.Message, "PostStartHookError") || !strings.Contains(term.Message, "no way")) {
				t.Errorf("failed hook message %q", term.Message)
			}
		})
	}
	if !called.Load() {
		t.Error("httpGet hook not called")
	}
}

func TestTerminationOrder(t *testing.T) {
	// preStop runs first, then SIGTERM, which the container traps.
	c := shell("main", `trap 'echo term >> events; exit 0' TERM; while :; do sleep 0.02; done`)
	c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"/bin/sh", "-c", "echo prestop >> events"}}}}
	h := startPod(t, podOf(corev1.RestartPolicyAlways, c))
	h.waitFor("running", ready("main", true))
	h.pod.Kill(10 * time.Second)
	s := h.waitDone()
	if got, _ := readFile(h.dir, "events"); got != "prestop\nterm\n" {
		t.Errorf("events %q", got)
	}
	if term := containerStatus(s, "main").State.Terminated; term == nil || term.ExitCode != 0 {
		t.Errorf("%s", h.describe(s))
	}
	if s.Phase != corev1.PodFailed || s.Reason != ReasonKilled {
		t.Errorf("killed pod: %s", h.describe(s))
	}
}

func TestGracePeriodEndsWithSIGKILLToTheGroup(t *testing.T) {
	for _, tc := range []struct {
		name  string
		grace time.Duration // for Kill
		spec  int64         // terminationGracePeriodSeconds
	}{
		{"kill grace", 300 * time.Millisecond, 600},
		{"pod grace", -1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The shell ignores SIGTERM and so does its background child.
			c := shell("main", `trap '' TERM; sleep 60 & echo $! > child; wait; wait`)
			pod := podOf(corev1.RestartPolicyAlways, c)
			pod.Spec.TerminationGracePeriodSeconds = &tc.spec
			h := startPod(t, pod)
			h.waitFor("running", ready("main", true))
			h.waitForFile("child")
			h.pod.Kill(tc.grace)
			s := h.waitDone()
			term := containerStatus(s, "main").State.Terminated
			if term == nil || term.Signal != 9 || term.ExitCode != 137 || term.Reason != "Error" {
				t.Fatalf("%s", h.describe(s))
			}
			child, _ := readFile(h.dir, "child")
			pid, err := strconv.Atoi(strings.TrimSpace(child))
			if err != nil {
				t.Fatal(err)
			}
			h.waitGone(pid)
		})
	}
}

func TestPreStopSleepAndHTTPGet(t *testing.T) {
	var called atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called.Store(true) }))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	for _, tc := range []struct {
		name    string
		handler corev1.LifecycleHandler
		check   func(t *testing.T, killed time.Time, term *corev1.ContainerStateTerminated)
	}{
		{"sleep", corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 3}}, func(t *testing.T, killed time.Time, term *corev1.ContainerStateTerminated) {
			if d := term.FinishedAt.Sub(killed); d < 300*time.Millisecond {
				t.Errorf("stopped %s after Kill, before the 300 ms preStop sleep", d)
			}
		}},
		{"httpGet", corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt(port)}}, func(t *testing.T, _ time.Time, _ *corev1.ContainerStateTerminated) {
			if !called.Load() {
				t.Error("preStop httpGet not called")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := shell("main", "exec sleep 60")
			c.Lifecycle = &corev1.Lifecycle{PreStop: &tc.handler}
			h := startPod(t, podOf(corev1.RestartPolicyAlways, c))
			h.waitFor("running", ready("main", true))
			killed := time.Now()
			h.pod.Kill(10 * time.Second)
			term := containerStatus(h.waitDone(), "main").State.Terminated
			if term == nil || term.Signal != 15 {
				t.Fatalf("%s", h.describe(h.pod.Status()))
			}
			tc.check(t, killed, term)
		})
	}
}
