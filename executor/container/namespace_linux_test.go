package container

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/kubemesos/kubemesos/executor/volume"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if !CanNamespace() {
		t.Skip("mount namespaces need root on Linux")
	}
}

// openDir is a new directory that any user can enter, removed at the end
// of the test (t.TempDir's are closed to other users).
func openDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "kubemesos-container-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// mountedAt reports whether the calling process's mount namespace has a
// mount at target.
func mountedAt(t *testing.T, target string) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == target {
			return true
		}
	}
	return false
}

func TestMountsInANamespaceOfTheirOwn(t *testing.T) {
	requireRoot(t)
	dir := openDir(t)
	rw, ro := filepath.Join(dir, "rw-source"), filepath.Join(dir, "ro-source")
	for _, d := range []string{rw, ro} {
		if err := os.Mkdir(d, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "file"), []byte(filepath.Base(d)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	termLog := filepath.Join(dir, "termination-log")
	if err := os.WriteFile(termLog, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(termLog, 0o666); err != nil {
		t.Fatal(err)
	}
	// Missing targets, created on the way; the working directory too.
	rwAt, roAt, logAt := filepath.Join(dir, "at", "rw"), filepath.Join(dir, "at", "ro"), filepath.Join(dir, "at", "dev", "termination-log")
	workDir := filepath.Join(dir, "at", "rw", "work")
	script := `cat "$RW/file" "$RO/file"; echo
pwd
id -u
touch "$RW/written-by-$(id -u)" && echo rw writable
touch "$RO/written" 2>/dev/null && echo ro writable || echo ro read-only
echo bye > "$T"`
	for _, tc := range []struct {
		name string
		cred *syscall.Credential
		user string
	}{
		{"as root", nil, "0"},
		{"as another user", &syscall.Credential{Uid: 65534, Gid: 65534}, "65534"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := &bytes.Buffer{}
			p, err := Start(Spec{
				Argv:           []string{"sh", "-c", script},
				Env:            []string{"PATH=/usr/bin:/bin", "RW=" + rwAt, "RO=" + roAt, "T=" + logAt},
				Dir:            dir,
				WorkingDir:     workDir,
				Mounts:         []volume.Mount{{Source: rw, Target: rwAt}, {Source: ro, Target: roAt, ReadOnly: true}},
				TerminationLog: volume.Mount{Source: termLog, Target: logAt},
				Credential:     tc.cred,
				Stdout:         out,
				Stderr:         out,
			})
			if err != nil {
				t.Fatal(err)
			}
			// The executor never sees the container's mounts.
			for _, at := range []string{rwAt, roAt, logAt} {
				if mountedAt(t, at) {
					t.Errorf("the executor sees a mount at %s", at)
				}
			}
			if exit, err := p.Wait(); err != nil || exit.Code != 0 {
				t.Fatalf("exit %+v %v: %s", exit, err, out)
			}
			want := "rw-sourcero-source\n" + workDir + "\n" + tc.user + "\nrw writable\nro read-only\n"
			if out.String() != want {
				t.Errorf("output %q, want %q", out, want)
			}
			if _, err := os.Stat(filepath.Join(rw, "written-by-"+tc.user)); err != nil {
				t.Errorf("write through the read-write mount: %v", err)
			}
			if b, err := os.ReadFile(termLog); err != nil || string(b) != "bye\n" {
				t.Errorf("termination log %q %v", b, err)
			}
			// Seen from the host, the mountpoints are empty.
			if entries, err := os.ReadDir(roAt); err != nil || len(entries) != 0 {
				t.Errorf("host's %s: %v %v", roAt, entries, err)
			}
		})
	}
}

func TestFailedMountStartsNothing(t *testing.T) {
	requireRoot(t)
	dir := openDir(t)
	target := filepath.Join(dir, "target")
	// Many times: the goroutine that mounts lands on any thread, the main
	// one (which /proc/self shows) included; with one P, on the caller's,
	// the main one at first.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for range 20 {
		_, err := Start(Spec{
			Argv:   []string{"true"},
			Dir:    dir,
			Mounts: []volume.Mount{{Source: dir, Target: target}, {Source: filepath.Join(dir, "missing"), Target: filepath.Join(dir, "other")}},
		})
		if err == nil || !strings.Contains(err.Error(), "volume source") {
			t.Fatalf("error %v, want a missing volume source", err)
		}
		if mountedAt(t, target) {
			t.Fatalf("the first mount leaked to the executor")
		}
	}
}

// threads is the number of the process's threads.
func threads(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Threads: in /proc/self/status")
	return 0
}

// TestNamespaceThreadsEnd also checks, 50 times, that the executor's main
// thread never takes a container's namespace.
func TestNamespaceThreadsEnd(t *testing.T) {
	requireRoot(t)
	dir := openDir(t)
	src := filepath.Join(dir, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	const containers = 50
	before := threads(t)
	for i := range containers {
		target := filepath.Join(dir, "at", strconv.Itoa(i))
		p, err := Start(Spec{Argv: []string{"true"}, Dir: dir, Mounts: []volume.Mount{{Source: src, Target: target}}})
		if err != nil {
			t.Fatal(err)
		}
		if mountedAt(t, target) {
			t.Fatalf("the executor sees the mount at %s", target)
		}
		if exit, err := p.Wait(); err != nil || exit.Code != 0 {
			t.Fatalf("exit %+v %v", exit, err)
		}
	}
	// The runtime may keep a few idle threads, not one per container.
	if after := threads(t); after-before >= containers/2 {
		t.Errorf("%d threads before %d containers, %d after", before, containers, after)
	}
}
