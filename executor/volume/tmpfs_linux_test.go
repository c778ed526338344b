package volume

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

const tmpfsMagic = 0x01021994

func isTmpfs(t *testing.T, path string) bool {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Type == tmpfsMagic
}

func TestTmpfs(t *testing.T) {
	if !canMountTmpfs() {
		t.Skip("mounting tmpfs needs root on Linux; TestMemoryVolumesWithoutRoot covers the fallback")
	}
	dir := t.TempDir()
	pod := testPod(
		emptyDirVolume("mem", corev1.StorageMediumMemory, "1Mi"),
		emptyDirVolume("disk", "", ""),
		secretVolume("sec", "creds", nil),
		configMapVolume("cfg", "cfg", nil),
	)
	s, err := Materialize(pod, testTask(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	mem, _ := s.Path("mem")
	if !s.Memory("mem") {
		if mounted, _ := isMountPoint(mem); !mounted {
			t.Skip("root without the privilege to mount tmpfs (an unprivileged container): the fallback is a plain directory")
		}
	}
	for name, want := range map[string]bool{"mem": true, "disk": false, "sec": true, "cfg": false} {
		p, _ := s.Path(name)
		if got := isTmpfs(t, p); got != want || s.Memory(name) != want {
			t.Errorf("%s: tmpfs %v, Memory %v; want %v", name, got, s.Memory(name), want)
		}
	}
	if info, _ := os.Stat(mem); info.Mode().Perm() != 0o777 {
		t.Errorf("memory emptyDir mode %v, want 0777", info.Mode().Perm())
	}
	if got := visible(t, filepath.Join(dir, "volumes", "sec")); len(got) != 2 {
		t.Errorf("secret on tmpfs: %v", got)
	}

	// The sizeLimit bounds the tmpfs.
	err = os.WriteFile(filepath.Join(mem, "big"), bytes.Repeat([]byte("x"), 2<<20), 0o644)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("writing 2 MiB into a 1 MiB tmpfs: %v, want ENOSPC", err)
	}

	// Materializing again reuses the mounts instead of stacking new ones.
	s2, err := Materialize(pod, testTask(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s2.mounted) != 2 || !s2.Memory("mem") {
		t.Errorf("second Materialize: mounts %v", s2.mounted)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatalf("closing again after the mounts are gone: %v", err)
	}
	for _, name := range []string{"mem", "sec"} {
		p, _ := s.Path(name)
		if mounted, _ := isMountPoint(p); mounted || s.Memory(name) {
			t.Errorf("%s still mounted after Close", name)
		}
	}
}
