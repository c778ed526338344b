package agent

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestMountPointsUnder(t *testing.T) {
	table := `22 1 0:21 / /proc rw - proc proc rw
30 22 0:40 / /work/sandbox/pods/a/volumes/secret rw - tmpfs tmpfs rw
31 22 0:41 / /work/sandbox/pods/a/volumes/secret/inner rw - tmpfs tmpfs rw
32 22 0:42 / /work/sandbox-other/x rw - tmpfs tmpfs rw
33 22 0:43 / /work/sandbox/with\040space rw - tmpfs tmpfs rw
short line
`
	got, err := mountPointsUnder(bufio.NewScanner(strings.NewReader(table)), "/work/sandbox")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/work/sandbox/pods/a/volumes/secret/inner", "/work/sandbox/pods/a/volumes/secret", "/work/sandbox/with space"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mountPointsUnder = %q, want %q (deepest first, not the sibling directory)", got, want)
	}
}

// A tmpfs left in a sandbox by an executor that died is detached.
func TestUnmountUnder(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	point := filepath.Join(dir, "pods", "p", "volumes", "v")
	if err := os.MkdirAll(point, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", point, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	done, err := unmountUnder(dir)
	if err != nil || len(done) != 1 || done[0] != point {
		_ = unix.Unmount(point, unix.MNT_DETACH)
		t.Fatalf("unmountUnder = %q, %v; want %s", done, err, point)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Errorf("sandbox still pinned after unmountUnder: %v", err)
	}
}
