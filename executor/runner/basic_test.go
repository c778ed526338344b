package runner

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubemesos/kubemesos/executor/container"
	"github.com/kubemesos/kubemesos/executor/protocol"
)

func TestSucceededPodReportsKubeletStatus(t *testing.T) {
	h := startPod(t, podOf(corev1.RestartPolicyNever, shell("main", "echo hello; echo oops >&2")))
	s := h.waitDone()
	if s.Phase != corev1.PodSucceeded {
		t.Fatalf("phase %s: %s", s.Phase, h.describe(s))
	}
	cs := containerStatus(s, "main")
	if cs.State.Terminated == nil || cs.State.Terminated.Reason != "Completed" || cs.State.Terminated.ExitCode != 0 {
		t.Errorf("main: %s", state(cs.State))
	}
	if cs.Image != "busybox:1.36" || !strings.HasPrefix(cs.ContainerID, "process://") || cs.Ready || cs.State.Terminated.StartedAt.IsZero() {
		t.Errorf("main status %+v", cs)
	}
	if s.HostIP != "127.0.0.1" || s.PodIP != "127.0.0.1" || len(s.PodIPs) != 1 || len(s.HostIPs) != 1 || s.StartTime == nil {
		t.Errorf("addresses %+v", s)
	}
	for tp, want := range map[corev1.PodConditionType]corev1.ConditionStatus{
		corev1.PodScheduled: "True", corev1.PodInitialized: "True", corev1.PodReadyToStartContainers: "True",
		corev1.ContainersReady: "False", corev1.PodReady: "False",
	} {
		if got := condition(s, tp); got != want {
			t.Errorf("condition %s = %s, want %s", tp, got, want)
		}
	}
	if s.QOSClass != corev1.PodQOSBestEffort {
		t.Errorf("QoS %s", s.QOSClass)
	}
	if got := h.logText("main", 0); got != "hello\noops" && got != "oops\nhello" {
		t.Errorf("log %q", got)
	}
	h.mu.Lock()
	first := h.statuses[0]
	h.mu.Unlock()
	if first.Phase != corev1.PodPending {
		t.Errorf("first status %s", first.Phase)
	}
}

func TestRunningPodIsReady(t *testing.T) {
	h := startPod(t, podOf(corev1.RestartPolicyAlways, shell("a", "exec sleep 60"), shell("b", "exec sleep 60")))
	s := h.waitFor("pod ready", func(s *corev1.PodStatus) bool { return condition(s, corev1.PodReady) == "True" })
	if s.Phase != corev1.PodRunning {
		t.Errorf("phase %s", s.Phase)
	}
	for _, name := range []string{"a", "b"} {
		cs := containerStatus(s, name)
		if !cs.Ready || cs.Started == nil || !*cs.Started || cs.State.Running == nil {
			t.Errorf("%s: %s", name, h.describe(s))
		}
	}
	h.pod.Kill(-1)
	s = h.waitDone()
	if s.Phase != corev1.PodFailed || s.Reason != ReasonKilled {
		t.Errorf("after Kill: %s", h.describe(s))
	}
	if cs := containerStatus(s, "a"); cs.State.Terminated == nil || cs.State.Terminated.Signal != 15 || cs.State.Terminated.ExitCode != 143 {
		t.Errorf("a after Kill: %s", state(cs.State))
	}
}

func TestContainerThatCannotBeCreatedFailsThePod(t *testing.T) {
	failingEnv := func(c *Config) {
		c.Env = func(*corev1.Pod, *corev1.Container, *protocol.PodTask) ([]string, error) {
			return nil, errors.New(`configmap "cm" not found`)
		}
	}
	mount := corev1.Container{Name: "main", Image: "img", Command: []string{"true"}, VolumeMounts: []corev1.VolumeMount{{Name: "v", MountPath: "/data"}}}
	// A mount needs a namespace (an executor running as root) first, then
	// a volume of the pod.
	mountError := "needs an executor running as root"
	if container.CanNamespace() {
		mountError = "mounts volumes but the pod has none"
	}
	envUser := corev1.Container{Name: "main", Image: "img", Command: []string{"true"}, Env: []corev1.EnvVar{{Name: "A", Value: "b"}}}
	for _, tc := range []struct {
		name    string
		c       corev1.Container
		opts    []func(*Config)
		reason  string
		message string
	}{
		{"no command", corev1.Container{Name: "main", Image: "nginx:1.25"}, nil, ReasonNoCommand, `image "nginx:1.25" is not used`},
		{"env error", envUser, []func(*Config){failingEnv}, ReasonConfigError, `configmap "cm" not found`},
		{"mount", mount, nil, ReasonCreateError, mountError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startPod(t, podOf(corev1.RestartPolicyAlways, tc.c), tc.opts...)
			s := h.waitDone()
			cs := containerStatus(s, "main")
			if s.Phase != corev1.PodFailed || s.Reason != tc.reason || !strings.Contains(s.Message, tc.message) {
				t.Errorf("pod: %s", h.describe(s))
			}
			if cs.State.Waiting == nil || cs.State.Waiting.Reason != tc.reason || cs.Image != tc.c.Image {
				t.Errorf("container: %s", state(cs.State))
			}
		})
	}
}

func TestEnvironmentWithoutEnvIgnoresEnvError(t *testing.T) {
	h := startPod(t, podOf(corev1.RestartPolicyNever, shell("main", "exit 0")), func(c *Config) {
		c.Env = func(*corev1.Pod, *corev1.Container, *protocol.PodTask) ([]string, error) {
			return nil, errors.New("environment could not be computed")
		}
	})
	if s := h.waitDone(); s.Phase != corev1.PodSucceeded {
		t.Errorf("pod: %s", h.describe(s))
	}
}

func TestCommandArgsEnvAndWorkingDir(t *testing.T) {
	work := t.TempDir()
	c := corev1.Container{
		Name: "main", Image: "img",
		Command:    []string{"/bin/sh", "-c"},
		Args:       []string{`echo "$(GREETING) $GREETING $(pwd) $HOSTNAME"`},
		Env:        []corev1.EnvVar{{Name: "GREETING", Value: "hi"}},
		WorkingDir: work,
	}
	var expanded []string
	h := startPod(t, podOf(corev1.RestartPolicyNever, c), func(cfg *Config) {
		cfg.Env = func(_ *corev1.Pod, c *corev1.Container, _ *protocol.PodTask) ([]string, error) {
			return []string{"GREETING=" + c.Env[0].Value}, nil
		}
		cfg.Expand = func(s string, env []string) string {
			expanded = append(expanded, s)
			return strings.ReplaceAll(s, "$(GREETING)", "hello")
		}
	})
	if s := h.waitDone(); s.Phase != corev1.PodSucceeded {
		t.Fatalf("pod: %s", h.describe(s))
	}
	// $(pwd) is not a variable the expander knows: the shell runs it.
	if got, want := h.logText("main", 0), "hello hi "+work+" p"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
	if len(expanded) != 3 {
		t.Errorf("expanded %q, want command and args", expanded)
	}
}

// With no image there is no entrypoint: args alone are the command line, as
// `kubectl run NAME --image=X -- cmd args` writes them.
func TestArgsWithoutCommandAreTheCommandLine(t *testing.T) {
	c := corev1.Container{Name: "main", Image: "busybox", Args: []string{"/bin/sh", "-c", "echo only args"}}
	h := startPod(t, podOf(corev1.RestartPolicyNever, c))
	if s := h.waitDone(); s.Phase != corev1.PodSucceeded {
		t.Fatalf("pod: %s", h.describe(s))
	}
	if got := h.logText("main", 0); got != "only args" {
		t.Errorf("output %q, want %q", got, "only args")
	}
}

func TestLogsPerRestartInCRIFormat(t *testing.T) {
	long := strings.Repeat("x", 40000)
	script := `n=$(cat count 2>/dev/null || echo 0); echo $((n+1)) > count; echo run $n; printf '` + long + `\n'; [ $n -ge 1 ]`
	h := startPod(t, podOf(corev1.RestartPolicyOnFailure, shell("main", script)))
	if s := h.waitDone(); s.Phase != corev1.PodSucceeded || containerStatus(s, "main").RestartCount != 1 {
		t.Fatalf("pod: %s", h.describe(h.pod.Status()))
	}
	for restart, want := range []string{"run 0", "run 1"} {
		b, err := os.ReadFile(filepath.Join(h.dir, "logs", "main", []string{"0.log", "1.log"}[restart]))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(lines) != 4 {
			t.Fatalf("restart %d: %d lines", restart, len(lines))
		}
		tags := ""
		for _, l := range lines {
			tags += strings.Fields(l)[2]
		}
		if tags != "FPPF" || !strings.HasSuffix(lines[0], " stdout F "+want) {
			t.Errorf("restart %d: tags %s, first line %q", restart, tags, lines[0])
		}
	}
}

func TestTerminationMessageFallsBackToLogs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy corev1.TerminationMessagePolicy
		script string
		want   string
	}{
		{"fallback on error", corev1.TerminationMessageFallbackToLogsOnError, "seq 1 100; echo boom; exit 1", "boom\n"},
		{"fallback, success", corev1.TerminationMessageFallbackToLogsOnError, "echo fine", ""},
		{"file policy", corev1.TerminationMessageReadFile, "echo boom; exit 1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := shell("main", tc.script)
			c.TerminationMessagePolicy = tc.policy
			h := startPod(t, podOf(corev1.RestartPolicyNever, c))
			term := containerStatus(h.waitDone(), "main").State.Terminated
			if term == nil || !strings.HasSuffix(term.Message, tc.want) || (tc.want == "" && term.Message != "") {
				t.Fatalf("%s", h.describe(h.pod.Status()))
			}
			if tc.want != "" && (strings.Count(term.Message, "\n") != 80 || !strings.HasPrefix(term.Message, "22\n")) {
				t.Errorf("message is not the last 80 lines: %q", term.Message)
			}
		})
	}
}
