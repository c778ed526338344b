package runner

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubemesos/kubemesos/executor/container"
	"github.com/kubemesos/kubemesos/executor/protocol"
	"github.com/kubemesos/kubemesos/executor/volume"
)

// fakeVolumes mounts the same list for every container.
type fakeVolumes struct{ mounts []volume.Mount }

func (v fakeVolumes) Mounts(*corev1.Container, []string) ([]volume.Mount, error) {
	return v.mounts, nil
}
func (v fakeVolumes) Close() error { return nil }

func TestVolumesAppearAtTheirMountPath(t *testing.T) {
	if !container.CanNamespace() {
		t.Skip("mount namespaces need root on Linux")
	}
	src, roSrc := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "hello"), []byte("world\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	target, roTarget := filepath.Join(base, "mnt", "data"), filepath.Join(base, "ro")
	mounts := []volume.Mount{{Source: src, Target: target}, {Source: roSrc, Target: roTarget, ReadOnly: true}}
	c := shell("main", `cat hello; echo x > written; if echo y 2>/dev/null > `+roTarget+`/f; then echo writable; else echo read-only; fi`)
	c.WorkingDir = target // inside a mount: entered after the mounts
	c.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: target}, {Name: "ro", MountPath: roTarget, ReadOnly: true}}
	pod := podOf(corev1.RestartPolicyNever, c)
	pod.Spec.Volumes = []corev1.Volume{{Name: "data"}, {Name: "ro"}}
	h := startPod(t, pod, func(cfg *Config) {
		cfg.Volumes = func(*corev1.Pod, *protocol.PodTask, string) (Volumes, error) { return fakeVolumes{mounts}, nil }
	})
	if s := h.waitDone(); s.Phase != corev1.PodSucceeded {
		t.Fatalf("%s: %s", h.describe(s), h.logText("main", 0))
	}
	if got := h.logText("main", 0); got != "world\nread-only" {
		t.Errorf("output %q", got)
	}
	if _, err := os.Stat(filepath.Join(src, "written")); err != nil {
		t.Errorf("write through the mount: %v", err)
	}
	// The mount was private to the container; its mountpoint was created.
	if entries, err := os.ReadDir(target); err != nil || len(entries) != 0 {
		t.Errorf("mountpoint on the host: %v %v", entries, err)
	}
}

func TestMissingMountSourceFailsTheStart(t *testing.T) {
	if !container.CanNamespace() {
		t.Skip("mount namespaces need root on Linux")
	}
	c := shell("main", "exit 0")
	c.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	pod := podOf(corev1.RestartPolicyNever, c)
	pod.Spec.Volumes = []corev1.Volume{{Name: "data"}}
	h := startPod(t, pod, func(cfg *Config) {
		cfg.Volumes = func(*corev1.Pod, *protocol.PodTask, string) (Volumes, error) {
			return fakeVolumes{[]volume.Mount{{Source: filepath.Join(t.TempDir(), "missing"), Target: filepath.Join(t.TempDir(), "t")}}}, nil
		}
	})
	s := h.waitDone()
	term := containerStatus(s, "main").State.Terminated
	if s.Phase != corev1.PodFailed || term == nil || term.Reason != "StartError" || term.ExitCode != 128 {
		t.Errorf("%s", h.describe(s))
	}
}

func TestOOMKilled(t *testing.T) {
	cg := DetectCgroups("", nil)
	if cg == nil {
		t.Skip("no writable memory cgroup")
	}
	c := shell("main", "exec tail /dev/zero")
	c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")}
	h := startPod(t, podOf(corev1.RestartPolicyNever, c), func(cfg *Config) { cfg.Cgroups = cg })
	s := h.waitDone()
	term := containerStatus(s, "main").State.Terminated
	if s.Phase != corev1.PodFailed || term == nil || term.Reason != "OOMKilled" || term.ExitCode != 137 {
		t.Errorf("%s", h.describe(s))
	}
	if s.QOSClass != corev1.PodQOSBurstable {
		t.Errorf("QoS %s", s.QOSClass)
	}
}

func TestNoGoroutinesLeft(t *testing.T) {
	before := runtime.NumGoroutine()
	c := shell("main", "exec sleep 60")
	c.ReadinessProbe = probe(corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}, 1)
	c.LivenessProbe = probe(corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}, 1)
	h := startPod(t, podOf(corev1.RestartPolicyAlways, c, shell("other", "exit 1")))
	h.waitFor("ready", ready("main", true))
	h.waitFor("other restarted", restarted("other", 2))
	h.pod.Kill(0)
	h.waitDone()
	goroutinesSettle(t, before)
}

func TestCPULimit(t *testing.T) {
	cg := DetectCgroups("", nil)
	if cg == nil || !cg.CPU() || cg.Version() != "v1" {
		t.Skip("no writable cgroup v1 cpu controller")
	}
	c := shell("main", `cg=$(grep -E '^[0-9]+:([^:]*,)?cpu(,[^:]*)?:' /proc/self/cgroup | head -1 | cut -d: -f3); cat /sys/fs/cgroup/cpu$cg/cpu.cfs_quota_us`)
	c.Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}
	h := startPod(t, podOf(corev1.RestartPolicyNever, c), func(cfg *Config) { cfg.Cgroups = cg })
	if s := h.waitDone(); s.Phase != corev1.PodSucceeded {
		t.Fatalf("%s", h.describe(s))
	}
	if got := h.logText("main", 0); got != "25000" {
		t.Errorf("quota %q", got)
	}
}

func TestVolumeErrorFailsStart(t *testing.T) {
	pod := podOf(corev1.RestartPolicyNever, shell("main", "exit 0"))
	pod.Spec.Volumes = []corev1.Volume{{Name: "cm"}}
	_, err := Start(Config{Pod: pod, Dir: t.TempDir(), Volumes: func(*corev1.Pod, *protocol.PodTask, string) (Volumes, error) {
		return nil, errors.New(`configmap "cm" not found`)
	}})
	if err == nil || !strings.Contains(err.Error(), `configmap "cm" not found`) {
		t.Errorf("Start: %v", err)
	}
}
