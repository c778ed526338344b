package volume

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestFSGroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing a file's group to the pod's fsGroup needs root; without it volumes keep the executor's group")
	}
	const group = 4321
	pod := testPod(
		configMapVolume("cfg", "cfg", func(s *corev1.ConfigMapVolumeSource) {
			s.DefaultMode = ptr(int32(0o400))
		}),
		emptyDirVolume("scratch", "", ""),
		projectedVolume("token", nil, corev1.VolumeProjection{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}}),
	)
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: ptr(int64(group))}
	s, dir, err := materialize(t, pod, testTask())
	if err != nil {
		t.Fatal(err)
	}
	vols := filepath.Join(dir, "volumes")
	tests := []struct {
		path string
		mode fs.FileMode
	}{
		{"cfg/app.conf", 0o440},
		{"cfg", 0o755 | fs.ModeSetgid},
		{"cfg/..data", 0o755 | fs.ModeSetgid},
		{"scratch", 0o777 | fs.ModeSetgid},
		{"token/token", 0o640},
	}
	for _, tt := range tests {
		info, err := os.Stat(filepath.Join(vols, tt.path))
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode() & (fs.ModePerm | fs.ModeSetgid); got != tt.mode {
			t.Errorf("%s: mode %v, want %v", tt.path, got, tt.mode)
		}
		if g := groupOf(info); g != group {
			t.Errorf("%s: group %d, want %d", tt.path, g, group)
		}
	}

	// A file a container creates in the emptyDir inherits the group.
	scratch, _ := s.Path("scratch")
	mustWrite(t, filepath.Join(scratch, "new"), "x")
	info, err := os.Stat(filepath.Join(scratch, "new"))
	if err != nil {
		t.Fatal(err)
	}
	if g := groupOf(info); g != group {
		t.Errorf("new file in the emptyDir: group %d, want %d", g, group)
	}
}

func TestFSGroupOnRootMismatchSkipsAMatchingVolume(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing a file's group to the pod's fsGroup needs root")
	}
	pod := testPod(emptyDirVolume("scratch", "", ""))
	policy := corev1.FSGroupChangeOnRootMismatch
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: ptr(int64(4321)), FSGroupChangePolicy: &policy}
	dir := t.TempDir()
	s, err := Materialize(pod, testTask(), dir)
	if err != nil {
		t.Fatal(err)
	}
	scratch, _ := s.Path("scratch")
	f := filepath.Join(scratch, "private")
	mustWrite(t, f, "x")
	if err := os.Chown(f, -1, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(f, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Materialize(pod, testTask(), dir); err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(f)
	if info.Mode().Perm() != 0o600 || groupOf(info) != 0 {
		t.Errorf("OnRootMismatch changed a file under a matching root: %v group %d", info.Mode(), groupOf(info))
	}

	pod.Spec.SecurityContext.FSGroupChangePolicy = nil
	if _, err := Materialize(pod, testTask(), dir); err != nil {
		t.Fatal(err)
	}
	info, _ = os.Stat(f)
	if info.Mode().Perm() != 0o660 || groupOf(info) != 4321 {
		t.Errorf("Always policy: %v group %d, want 0660 group 4321", info.Mode(), groupOf(info))
	}
}
