package runner

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubemesos/kubemesos/executor/protocol"
)

func TestEmptyDirOverSizeLimitEvictsThePod(t *testing.T) {
	for _, tc := range []struct {
		name      string
		write     int    // bytes the test writes into the volume
		script    string // of the container, which mounts the volume at $CACHE if set
		evicted   bool
		namespace bool // needs a mount namespace
	}{
		{"over the limit", 256 << 10, "", true, false},
		{"under the limit", 0, "", false, false},
		{"the container writes", 0, "dd if=/dev/zero of=$CACHE/big bs=1024 count=256 2>/dev/null; sleep 1", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.namespace {
				requireNamespace(t)
			}
			limit := resource.MustParse("64Ki")
			// The container runs until the pod is evicted, or a while.
			c := shell("main", "sleep 1")
			if tc.script != "" {
				c = shell("main", tc.script)
				at := filepath.Join(t.TempDir(), "cache")
				c.VolumeMounts = []corev1.VolumeMount{{Name: "cache", MountPath: at}}
				c.Env = []corev1.EnvVar{{Name: "CACHE", Value: at}}
			}
			pod := podOf(corev1.RestartPolicyNever, c)
			pod.Spec.Volumes = []corev1.Volume{{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &limit}}}}
			h := startPod(t, pod, withRealEnvAndVolumes(&protocol.PodTask{}), func(cfg *Config) { cfg.Timing.VolumeCheck = 10 * time.Millisecond })
			h.waitFor("running", running("main"))
			if tc.write > 0 {
				// Written from outside: the test runs without root too.
				if err := os.WriteFile(filepath.Join(h.dir, "volumes", "cache", "big"), make([]byte, tc.write), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			s := h.waitDone()
			if !tc.evicted {
				if s.Phase != corev1.PodSucceeded {
					t.Errorf("%s", h.describe(s))
				}
				return
			}
			const prefix = `Usage of EmptyDir volume "cache" exceeds the limit "64Ki" (usage `
			used, _ := strings.CutSuffix(strings.TrimPrefix(s.Message, prefix), "). ")
			q, err := resource.ParseQuantity(used)
			if s.Phase != corev1.PodFailed || s.Reason != ReasonEvicted || !strings.HasPrefix(s.Message, prefix) || err != nil || q.Cmp(limit) <= 0 {
				t.Errorf("%s (usage %q: %v)", h.describe(s), used, err)
			}
			var disruption *corev1.PodCondition
			for i := range s.Conditions {
				if s.Conditions[i].Type == corev1.DisruptionTarget {
					disruption = &s.Conditions[i]
				}
			}
			if disruption == nil || disruption.Status != corev1.ConditionTrue || disruption.Reason != "TerminationByKubelet" || disruption.Message != s.Message {
				t.Errorf("DisruptionTarget condition %+v", disruption)
			}
			if term := containerStatus(s, "main").State.Terminated; term == nil || term.Signal == 0 {
				t.Errorf("container not killed: %s", h.describe(s))
			}
		})
	}
}

func TestTerminationMessageFile(t *testing.T) {
	requireNamespace(t)
	long := strings.Repeat("x", 5000)
	for _, tc := range []struct {
		name   string
		path   string // terminationMessagePath; empty: the default
		policy corev1.TerminationMessagePolicy
		script string
		want   string
	}{
		{"default path", "", "", "printf bye > /dev/termination-log; exit 3", "bye"},
		{"own path", "msg", "", "printf 'custom\nmessage' > $MSG", "custom\nmessage"},
		{"at most 4096 bytes", "", "", "printf " + long + " > /dev/termination-log", long[:4096]},
		{"the file before the logs", "", corev1.TerminationMessageFallbackToLogsOnError, "echo log; printf file > /dev/termination-log; exit 1", "file"},
		{"the logs when the file is empty", "", corev1.TerminationMessageFallbackToLogsOnError, "echo log; exit 1", "log\n"},
		{"nothing written", "", "", "echo log; exit 1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := shell("main", tc.script)
			c.TerminationMessagePolicy = tc.policy
			if tc.path != "" {
				c.TerminationMessagePath = filepath.Join(t.TempDir(), tc.path)
				c.Env = []corev1.EnvVar{{Name: "MSG", Value: c.TerminationMessagePath}}
			}
			h := startPod(t, podOf(corev1.RestartPolicyNever, c), func(cfg *Config) { cfg.Env = nil })
			term := containerStatus(h.waitDone(), "main").State.Terminated
			if term == nil || term.Message != tc.want {
				t.Errorf("%s, want message %q", h.describe(h.pod.Status()), tc.want)
			}
		})
	}
}

func TestTerminationMessageAfterALivenessFailure(t *testing.T) {
	requireNamespace(t)
	c := shell("main", "printf dying > /dev/termination-log; exec sleep 60")
	c.LivenessProbe = probe(corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"false"}}}, 1)
	// A probe at once could kill the shell before its printf (it flaked).
	c.LivenessProbe.InitialDelaySeconds = 1
	h := startPod(t, podOf(corev1.RestartPolicyNever, c))
	term := containerStatus(h.waitDone(), "main").State.Terminated
	if term == nil || !strings.HasPrefix(term.Message, "liveness probe failed: ") || !strings.HasSuffix(term.Message, ": dying") {
		t.Errorf("%s", h.describe(h.pod.Status()))
	}
}

func int64p(v int64) *int64 { return &v }
func boolp(v bool) *bool    { return &v }

func TestSecurityContextUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only an executor running as root runs containers as other users")
	}
	for _, tc := range []struct {
		name   string
		pod    *corev1.PodSecurityContext
		ctr    *corev1.SecurityContext
		dir    string // the container's workingDir, missing, under a directory closed to the user
		want   string
		reason string // waiting reason of a container that cannot run
	}{
		{"pod level", &corev1.PodSecurityContext{RunAsUser: int64p(65534), RunAsGroup: int64p(65533), SupplementalGroups: []int64{1234}, FSGroup: int64p(2000)}, nil, "",
			"65534 65533 65533 1234 2000", ""},
		{"container overrides the pod", &corev1.PodSecurityContext{RunAsUser: int64p(65534), RunAsGroup: int64p(65533)}, &corev1.SecurityContext{RunAsUser: int64p(1001), RunAsGroup: int64p(1002)}, "",
			"1001 1002 1002", ""},
		{"missing working directory", nil, &corev1.SecurityContext{RunAsUser: int64p(65534), RunAsGroup: int64p(65534)}, "missing/a/b",
			"65534 65534 65534", ""},
		{"runAsNonRoot with a user", &corev1.PodSecurityContext{RunAsNonRoot: boolp(true)}, &corev1.SecurityContext{RunAsUser: int64p(65534), RunAsGroup: int64p(65534)}, "",
			"65534 65534 65534", ""},
		{"runAsNonRoot as root", &corev1.PodSecurityContext{RunAsNonRoot: boolp(true)}, nil, "",
			`container has runAsNonRoot and image will run as root (pod: "p_default(`, ReasonConfigError},
		{"runAsNonRoot with user 0", nil, &corev1.SecurityContext{RunAsNonRoot: boolp(true), RunAsUser: int64p(0)}, "",
			`container's runAsUser breaks non-root policy (pod: "p_default(`, ReasonConfigError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := shell("main", `echo $(id -u) $(id -g) $(id -G)`)
			c.SecurityContext = tc.ctr
			// Probes run as the container's user too.
			c.StartupProbe = probe(corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/bin/sh", "-c", `test "$(id -u)" != 0 || test -z "$NONROOT"`}}}, 1)
			c.Env = []corev1.EnvVar{{Name: "NONROOT", Value: "yes"}}
			if tc.dir != "" {
				c.WorkingDir = filepath.Join(t.TempDir(), tc.dir)
			}
			pod := podOf(corev1.RestartPolicyNever, c)
			pod.Spec.SecurityContext = tc.pod
			h := startPod(t, pod, func(cfg *Config) {
				cfg.Env = nil
			})
			s := h.waitDone()
			cs := containerStatus(s, "main")
			if tc.reason != "" {
				if w := cs.State.Waiting; w == nil || w.Reason != tc.reason || !strings.HasPrefix(w.Message, tc.want) || !strings.HasSuffix(w.Message, ", container: main)") {
					t.Errorf("%s", h.describe(s))
				}
				return
			}
			if s.Phase != corev1.PodSucceeded {
				t.Fatalf("%s", h.describe(s))
			}
			if got := h.logText("main", 0); got != tc.want {
				t.Errorf("id: %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReadinessGates(t *testing.T) {
	for _, tc := range []struct {
		name    string
		preset  []corev1.PodCondition // conditions of the pod as launched
		ready   corev1.ConditionStatus
		reason  string
		message string
	}{
		{"gate never set", nil, corev1.ConditionFalse, ReasonReadinessGatesNotReady,
			`corresponding condition of pod readiness gate "example.com/lb" does not exist.`},
		{"gate False at launch", []corev1.PodCondition{{Type: "example.com/lb", Status: corev1.ConditionFalse}}, corev1.ConditionFalse, ReasonReadinessGatesNotReady,
			`the status of pod readiness gate "example.com/lb" is not "True", but False`},
		{"gate True at launch", []corev1.PodCondition{{Type: "example.com/lb", Status: corev1.ConditionTrue}}, corev1.ConditionTrue, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := podOf(corev1.RestartPolicyAlways, shell("main", "exec sleep 60"))
			pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}}
			pod.Status.Conditions = tc.preset
			h := startPod(t, pod)
			s := h.waitFor("containers ready", func(s *corev1.PodStatus) bool { return condition(s, corev1.ContainersReady) == corev1.ConditionTrue })
			for _, c := range s.Conditions {
				if c.Type == corev1.PodReady && (c.Status != tc.ready || c.Reason != tc.reason || c.Message != tc.message) {
					t.Errorf("Ready condition %+v", c)
				}
			}
		})
	}
}

// healthServer serves the standard health service on 127.0.0.1 (or no
// service at all) and returns its port.
func healthServer(t *testing.T, hs *health.Server) int32 {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	if hs != nil {
		healthpb.RegisterHealthServer(srv, hs)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Stop()
		<-served
	})
	return int32(lis.Addr().(*net.TCPAddr).Port)
}

func TestGRPCProbeDrivesReadiness(t *testing.T) {
	hs := health.NewServer()
	hs.SetServingStatus("app", healthpb.HealthCheckResponse_SERVING)
	port, service := healthServer(t, hs), "app"
	c := shell("main", "exec sleep 60")
	c.ReadinessProbe = probe(corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: port, Service: &service}}, 1)
	h := startPod(t, podOf(corev1.RestartPolicyAlways, c))
	h.waitFor("ready", ready("main", true))
	hs.SetServingStatus("app", healthpb.HealthCheckResponse_NOT_SERVING)
	h.waitFor("not ready", ready("main", false))
	hs.SetServingStatus("app", healthpb.HealthCheckResponse_SERVING)
	h.waitFor("ready again", ready("main", true))
}

func TestGRPCCheck(t *testing.T) {
	hs := health.NewServer()
	hs.SetServingStatus("up", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("down", healthpb.HealthCheckResponse_NOT_SERVING)
	port := healthServer(t, hs)
	bare := healthServer(t, nil)
	closed := func() int32 { // a port nothing listens on
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer lis.Close()
		return int32(lis.Addr().(*net.TCPAddr).Port)
	}()
	str := func(s string) *string { return &s }
	for _, tc := range []struct {
		name    string
		action  corev1.GRPCAction
		wantErr string // prefix; empty: the probe passes
	}{
		{"server", corev1.GRPCAction{Port: port}, ""},
		{"serving service", corev1.GRPCAction{Port: port, Service: str("up")}, ""},
		{"not serving", corev1.GRPCAction{Port: port, Service: str("down")}, `service unhealthy (responded with "NOT_SERVING")`},
		{"unknown service", corev1.GRPCAction{Port: port, Service: str("nope")}, "error: health rpc probe failed: "},
		{"no health service", corev1.GRPCAction{Port: bare}, "this server does not implement the grpc health protocol"},
		{"nothing listening", corev1.GRPCAction{Port: closed}, "timeout: failed to connect service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &instanceRun{c: &ctr{pod: &Pod{cfg: Config{HostIP: "127.0.0.1"}}}}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := r.grpcCheck(ctx, &tc.action)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.wantErr)):
				t.Errorf("error %v, want %q...", err, tc.wantErr)
			}
		})
	}
}
