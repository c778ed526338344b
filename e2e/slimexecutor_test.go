package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestUpRunsSlimExecutor: the kubemesos of `make build` carries the slim
// executor (`kubemesos version` says so, with its hash); `kubemesos up`
// extracts it into its data directory and its agents run that file for
// pods. It reports the same version and takes the same command line as
// `kubemesos executor`. A binary built with a plain `go build` (what this
// package builds without KUBEMESOS_BINARY) embeds none: the test is skipped.
func TestUpRunsSlimExecutor(t *testing.T) {
	needBinary(t)
	out, err := exec.Command(binary, "version").Output()
	if err != nil {
		t.Fatalf("kubemesos version: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "executor: ") {
		t.Fatalf("kubemesos version printed %q, want the version and the executor on two lines", out)
	}
	_, hash, embedded := strings.Cut(lines[1], "executor: slim, embedded (sha256:")
	if !embedded {
		if os.Getenv("KUBEMESOS_BINARY") != "" {
			// make test passes the binary `make build` made: it must embed one.
			t.Fatalf("%s embeds no slim executor (%s)", binary, lines[1])
		}
		t.Skipf("%s (built by this package with a plain go build) embeds no slim executor (%s): run with KUBEMESOS_BINARY from `make build`", binary, lines[1])
	}
	hash, _, _ = strings.Cut(hash, ",")

	dataDir := t.TempDir()
	c := startUp(t, dataDir, t.TempDir())
	defer c.stop()
	c.eventuallyNodes(t, 2)
	c.apply(t, deployment("slim", 2, "v1"))
	c.eventuallyRunning(t, "app=slim", 2)

	// Executors start from a link that keeps its name across versions (an
	// executor's command must not change) to the content-addressed file.
	link := filepath.Join(dataDir, "kubemesos-executor")
	want := filepath.Join(dataDir, "kubemesos-executor-"+hash)
	var execs []int
	eventually(t, time.Minute, func() string {
		execs = executors(c.cmd.Process.Pid)
		if len(execs) == 0 {
			return "no executor process under kubemesos up"
		}
		return ""
	})
	for _, pid := range execs {
		exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "exe"))
		if err != nil || exe != want {
			t.Errorf("executor %d runs %q (%v), want the extracted slim executor %s", pid, exe, err, want)
		}
		if args := cmdline(pid); len(args) == 0 || args[0] != link {
			t.Errorf("executor %d was started as %q, want %s", pid, args, link)
		}
	}
	got, err := exec.Command(want, "version").Output()
	if err != nil || strings.TrimSpace(string(got)) != lines[0] {
		t.Errorf("the slim executor's version: %q (%v), want %q", got, err, lines[0])
	}
	// The same command line: the same flags and help.
	slimHelp, err1 := exec.Command(want, "executor", "--help").Output()
	fullHelp, err2 := exec.Command(binary, "executor", "--help").Output()
	if err1 != nil || err2 != nil || string(slimHelp) != string(fullHelp) {
		t.Errorf("`executor --help` of the slim executor (%v):\n%s\nof kubemesos (%v):\n%s", err1, slimHelp, err2, fullHelp)
	}
	if fi, err := os.Stat(want); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("the slim executor's file: %v (%v), want mode 0755", fi.Mode(), err)
	}
}
