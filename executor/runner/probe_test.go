package runner

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// probe returns a probe every test second with a generous timeout.
func probe(h corev1.ProbeHandler, failureThreshold int32) *corev1.Probe {
	return &corev1.Probe{ProbeHandler: h, PeriodSeconds: 1, TimeoutSeconds: 20, FailureThreshold: failureThreshold, SuccessThreshold: 1}
}

func TestReadinessHTTPGetDrivesReadyConditions(t *testing.T) {
	var healthy atomic.Bool
	var badHeader atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" || r.Header.Get("X-Probe") != "yes" || r.Host != "example.test" {
			badHeader.Store(true)
		}
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	n, _ := strconv.Atoi(port)
	c := shell("web", "exec sleep 60")
	c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: int32(n)}}
	c.ReadinessProbe = probe(corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
		Path: "healthz", Port: intstr.FromString("http"),
		HTTPHeaders: []corev1.HTTPHeader{{Name: "X-Probe", Value: "yes"}, {Name: "Host", Value: "example.test"}},
	}}, 2)
	h := startPod(t, podOf(corev1.RestartPolicyAlways, c))
	s := h.waitFor("started, not ready", func(s *corev1.PodStatus) bool {
		cs := containerStatus(s, "web")
		return cs.Started != nil && *cs.Started
	})
	if containerStatus(s, "web").Ready || condition(s, corev1.PodReady) != "False" || condition(s, corev1.ContainersReady) != "False" {
		t.Errorf("ready before a successful probe: %s", h.describe(s))
	}
	healthy.Store(true)
	s = h.waitFor("ready", ready("web", true))
	if condition(s, corev1.PodReady) != "True" || condition(s, corev1.ContainersReady) != "True" {
		t.Errorf("conditions: %+v", s.Conditions)
	}
	healthy.Store(false)
	s = h.waitFor("unready", ready("web", false))
	if condition(s, corev1.PodReady) != "False" || containerStatus(s, "web").RestartCount != 0 {
		t.Errorf("after failures: %s", h.describe(s))
	}
	if badHeader.Load() {
		t.Error("probe request without its path, header or host")
	}
}

func TestLivenessFailureRestartsTheContainer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	for _, tc := range []struct {
		name  string
		probe corev1.ProbeHandler
		fail  func(dir string)
	}{
		{"tcpSocket", corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt(port)}}, func(string) { ln.Close() }},
		{"exec", corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"test", "!", "-f", "sick"}}}, func(dir string) {
			_ = os.WriteFile(filepath.Join(dir, "sick"), nil, 0o644)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := shell("main", "exec sleep 60")
			c.LivenessProbe = probe(tc.probe, 2)
			h := startPod(t, podOf(corev1.RestartPolicyAlways, c))
			h.waitFor("started", func(s *corev1.PodStatus) bool { return ready("main", true)(s) })
			tc.fail(h.dir)
			s := h.waitFor("restart", restarted("main", 1))
			last := containerStatus(s, "main").LastTerminationState.Terminated
			if last == nil || !strings.Contains(last.Message, "liveness probe failed") || last.ExitCode != 143 {
				t.Errorf("after liveness failure: %s", h.describe(s))
			}
		})
	}
}

func TestStartupProbeGatesStartedAndLiveness(t *testing.T) {
	c := shell("main", "exec sleep 60")
	c.StartupProbe = probe(corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"test", "-f", "up"}}}, 1000)
	// A liveness probe that would fail before the file exists.
	c.LivenessProbe = probe(corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"test", "-f", "up"}}}, 1)
	h := startPod(t, podOf(corev1.RestartPolicyAlways, c))
	s := h.waitFor("running", running("main"))
	if cs := containerStatus(s, "main"); *cs.Started || cs.Ready {
		t.Errorf("started before the startup probe: %s", h.describe(s))
	}
	if err := os.WriteFile(filepath.Join(h.dir, "up"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s = h.waitFor("started", ready("main", true))
	if cs := containerStatus(s, "main"); !*cs.Started || cs.RestartCount != 0 {
		t.Errorf("after startup: %s", h.describe(s))
	}
}

func TestStartupProbeFailureRestarts(t *testing.T) {
	c := shell("main", "exec sleep 60")
	grace := int64(0)
	c.StartupProbe = probe(corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"false"}}}, 2)
	c.StartupProbe.TerminationGracePeriodSeconds = &grace
	h := startPod(t, podOf(corev1.RestartPolicyAlways, c))
	s := h.waitFor("restart", restarted("main", 1))
	last := containerStatus(s, "main").LastTerminationState.Terminated
	// The probe's own grace of 0: SIGKILL at once.
	if last == nil || !strings.Contains(last.Message, "startup probe failed") || last.Signal != 9 {
		t.Errorf("after startup failure: %s", h.describe(s))
	}
}

func TestProbeTimingFields(t *testing.T) {
	var mu sync.Mutex
	var requests []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		mu.Lock()
		requests = append(requests, time.Now())
		mu.Unlock()
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	c := shell("main", "exec sleep 60")
	c.ReadinessProbe = probe(corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt(port)}}, 1)
	c.ReadinessProbe.InitialDelaySeconds = 3 // 300 ms
	c.ReadinessProbe.SuccessThreshold = 3
	h := startPod(t, podOf(corev1.RestartPolicyAlways, c))
	s := h.waitFor("ready", ready("main", true))
	mu.Lock()
	defer mu.Unlock()
	startedAt := containerStatus(s, "main").State.Running.StartedAt.Time
	if len(requests) < 3 {
		t.Errorf("ready after %d successes, want 3", len(requests))
	}
	if first := requests[0].Sub(startedAt); first < 300*time.Millisecond {
		t.Errorf("first probe %s after the start, before its initial delay", first)
	}
	for i := 1; i < len(requests); i++ {
		if gap := requests[i].Sub(requests[i-1]); gap < 100*time.Millisecond {
			t.Errorf("probes %s apart, less than their period", gap)
		}
	}
}

func TestProbeTimeout(t *testing.T) {
	c := shell("main", "exec sleep 60")
	c.LivenessProbe = probe(corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"sleep", "60"}}}, 1)
	c.LivenessProbe.TimeoutSeconds = 1
	h := startPod(t, podOf(corev1.RestartPolicyAlways, c))
	s := h.waitFor("restart", restarted("main", 1))
	if last := containerStatus(s, "main").LastTerminationState.Terminated; last == nil || !strings.Contains(last.Message, "timed out") {
		t.Errorf("%s", h.describe(s))
	}
}
