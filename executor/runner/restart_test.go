package runner

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// countingScript exits with the codes given, one per run, counting runs in
// a file of the pod's directory; after the list it exits with the last.
func countingScript(codes string) string {
	return `n=$(cat runs 2>/dev/null || echo 0); echo $((n+1)) > runs; set -- ` + codes + `; shift $n 2>/dev/null || shift $(($#-1)); exit $1`
}

func TestRestartPolicies(t *testing.T) {
	for _, tc := range []struct {
		name     string
		policy   corev1.RestartPolicy
		codes    string
		phase    corev1.PodPhase
		restarts int32
		lastCode int32 // exit code of lastState, -1 for none
	}{
		{"never, failure", corev1.RestartPolicyNever, "3", corev1.PodFailed, 0, -1},
		{"never, success", corev1.RestartPolicyNever, "0", corev1.PodSucceeded, 0, -1},
		{"on failure, fails twice", corev1.RestartPolicyOnFailure, "1 2 0", corev1.PodSucceeded, 2, 2},
		{"on failure, success", corev1.RestartPolicyOnFailure, "0", corev1.PodSucceeded, 0, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startPod(t, podOf(tc.policy, shell("main", countingScript(tc.codes))))
			s := h.waitDone()
			cs := containerStatus(s, "main")
			if s.Phase != tc.phase || cs.RestartCount != tc.restarts {
				t.Fatalf("got %s", h.describe(s))
			}
			if tc.phase == corev1.PodFailed && (s.Message == "" || cs.State.Terminated.Reason != "Error" || cs.State.Terminated.ExitCode != 3) {
				t.Errorf("failed pod: %s", h.describe(s))
			}
			if last := cs.LastTerminationState.Terminated; (last == nil) != (tc.lastCode < 0) || (last != nil && last.ExitCode != tc.lastCode) {
				t.Errorf("last state %s", state(cs.LastTerminationState))
			}
		})
	}
}

func TestAlwaysRestartsWithCrashLoopBackOff(t *testing.T) {
	h := startPod(t, podOf(corev1.RestartPolicyAlways, shell("main", "exit 0")))
	s := h.waitFor("CrashLoopBackOff", func(s *corev1.PodStatus) bool {
		w := containerStatus(s, "main").State.Waiting
		return w != nil && w.Reason == "CrashLoopBackOff"
	})
	cs := containerStatus(s, "main")
	if cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.Reason != "Completed" || s.Phase != corev1.PodRunning {
		t.Errorf("in back-off: %s", h.describe(s))
	}
	h.waitFor("4 restarts", restarted("main", 4))
	h.pod.Kill(0)
	s = h.waitDone()
	// Killed while backing off: the pod fails, the container stays waiting.
	if s.Phase != corev1.PodFailed || s.Reason != ReasonKilled {
		t.Errorf("after kill: %s", h.describe(s))
	}
	// Only the logs of the last two instances are kept.
	n := int(containerStatus(s, "main").RestartCount)
	entries, err := os.ReadDir(filepath.Join(h.dir, "logs", "main"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{strconv.Itoa(n-1) + ".log", strconv.Itoa(n) + ".log"}; !slices.Equal(names, want) {
		t.Errorf("log files %v, want %v", names, want)
	}
}

func TestBackOffDoublesToTheMaximum(t *testing.T) {
	c := &ctr{pod: &Pod{timing: Timing{}.withDefaults()}}
	want := []time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 300 * time.Second, 300 * time.Second}
	for crashes, w := range want {
		if got := c.backOff(crashes); got != w {
			t.Errorf("back-off after %d crashes: %s, want %s", crashes, got, w)
		}
	}
}

func TestBackOffResetsAfterALongRun(t *testing.T) {
	// A back-off of an hour would stop the test; a run longer than the
	// reset time restarts at once.
	h := startPod(t, podOf(corev1.RestartPolicyAlways, shell("main", "sleep 0.2; exit 1")), func(c *Config) {
		c.Timing.BackOffInitial = time.Hour
		c.Timing.BackOffMax = time.Hour
		c.Timing.BackOffReset = 100 * time.Millisecond
	})
	s := h.waitFor("3 restarts", restarted("main", 3))
	if w := containerStatus(s, "main").State.Waiting; w != nil {
		t.Errorf("backing off: %s", h.describe(s))
	}
}

func TestInitContainersRunInOrder(t *testing.T) {
	pod := podOf(corev1.RestartPolicyNever, shell("main", "cat order; echo main >> order"))
	pod.Spec.InitContainers = []corev1.Container{shell("one", "echo one >> order"), shell("two", "echo two >> order")}
	h := startPod(t, pod)
	first := h.waitFor("pending", func(s *corev1.PodStatus) bool { return true })
	if first.Phase != corev1.PodPending || condition(first, corev1.PodInitialized) != "False" {
		t.Errorf("first status: %s", h.describe(first))
	}
	if w := containerStatus(first, "main").State.Waiting; w == nil || w.Reason != "PodInitializing" {
		t.Errorf("main before init: %s", state(containerStatus(first, "main").State))
	}
	s := h.waitDone()
	if s.Phase != corev1.PodSucceeded || condition(s, corev1.PodInitialized) != "True" {
		t.Fatalf("%s", h.describe(s))
	}
	if got := h.logText("main", 0); got != "one\ntwo" {
		t.Errorf("main saw %q", got)
	}
	for _, name := range []string{"one", "two"} {
		if cs := containerStatus(s, name); cs.State.Terminated == nil || cs.State.Terminated.Reason != "Completed" || !cs.Ready {
			t.Errorf("%s: %s", name, state(cs.State))
		}
	}
}

func TestFailedInitContainer(t *testing.T) {
	// Under Never a failed init container fails the pod; otherwise it is
	// retried until it succeeds.
	for _, policy := range []corev1.RestartPolicy{corev1.RestartPolicyNever, corev1.RestartPolicyAlways} {
		t.Run(string(policy), func(t *testing.T) {
			pod := podOf(policy, shell("main", "exec sleep 60"))
			pod.Spec.InitContainers = []corev1.Container{shell("init", countingScript("1 0"))}
			h := startPod(t, pod)
			if policy == corev1.RestartPolicyNever {
				s := h.waitDone()
				if s.Phase != corev1.PodFailed || containerStatus(s, "main").State.Waiting == nil {
					t.Errorf("%s", h.describe(s))
				}
				return
			}
			s := h.waitFor("main running", running("main"))
			if cs := containerStatus(s, "init"); cs.RestartCount != 1 || cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 {
				t.Errorf("init: %s", h.describe(s))
			}
		})
	}
}

func TestSidecarInitContainer(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	sidecar := shell("sidecar", `echo up >> sidecar; n=$(wc -l < sidecar); [ $n -ge 2 ] || exit 1; trap 'echo stopped >> events; exit 0' TERM; while :; do sleep 0.05; done`)
	sidecar.RestartPolicy = &always
	pod := podOf(corev1.RestartPolicyNever, shell("main", "sleep 0.3; echo main-done >> events"))
	// The next init container runs while the sidecar runs. It starts as
	// soon as the sidecar's process does, which may be before the sidecar's
	// first line wrote its file (a loaded machine): it waits for it, up to 5 s.
	pod.Spec.InitContainers = []corev1.Container{sidecar, shell("check", "for i in $(seq 100); do test -f sidecar && exit 0; sleep 0.05; done; exit 1")}
	h := startPod(t, pod)
	s := h.waitFor("main running with the sidecar restarted", func(s *corev1.PodStatus) bool {
		return running("main")(s) && ready("sidecar", true)(s) && restarted("sidecar", 1)(s)
	})
	if cs := containerStatus(s, "sidecar"); cs.RestartCount != 1 || !cs.Ready || cs.LastTerminationState.Terminated == nil {
		t.Errorf("sidecar (restarted once) while main runs: %s", h.describe(s))
	}
	if condition(s, corev1.PodInitialized) != "True" {
		t.Errorf("not initialized: %s", h.describe(s))
	}
	s = h.waitDone()
	if s.Phase != corev1.PodSucceeded {
		t.Fatalf("%s", h.describe(s))
	}
	side, main := containerStatus(s, "sidecar").State.Terminated, containerStatus(s, "main").State.Terminated
	if side == nil || main == nil || side.FinishedAt.Before(&main.FinishedAt) {
		t.Errorf("sidecar must stop after main: %s", h.describe(s))
	}
	b, _ := readFile(h.dir, "events")
	if b != "main-done\nstopped\n" {
		t.Errorf("events %q", b)
	}
}

func TestActiveDeadline(t *testing.T) {
	pod := podOf(corev1.RestartPolicyAlways, shell("main", "exec sleep 60"))
	d := int64(3) // 300 ms
	pod.Spec.ActiveDeadlineSeconds = &d
	h := startPod(t, pod)
	s := h.waitDone()
	if s.Phase != corev1.PodFailed || s.Reason != ReasonDeadlineExceeded || s.Message == "" {
		t.Errorf("%s", h.describe(s))
	}
}

func TestKillDuringInit(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	sidecar := shell("sidecar", "exec sleep 60")
	sidecar.RestartPolicy = &always
	pod := podOf(corev1.RestartPolicyAlways, shell("main", "exec sleep 60"))
	pod.Spec.InitContainers = []corev1.Container{sidecar, shell("slow", "exec sleep 60")}
	h := startPod(t, pod)
	h.waitFor("slow init running", running("slow"))
	h.pod.Kill(0)
	s := h.waitDone()
	if s.Phase != corev1.PodFailed || s.Reason != ReasonKilled || condition(s, corev1.PodInitialized) != "False" {
		t.Errorf("%s", h.describe(s))
	}
	for _, name := range []string{"sidecar", "slow"} {
		if term := containerStatus(s, name).State.Terminated; term == nil || term.Signal != 9 {
			t.Errorf("%s not killed: %s", name, h.describe(s))
		}
	}
	if w := containerStatus(s, "main").State.Waiting; w == nil || w.Reason != "PodInitializing" {
		t.Errorf("main started: %s", h.describe(s))
	}
}
