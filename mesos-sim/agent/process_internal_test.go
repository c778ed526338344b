package agent

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestJoinCgroupV1 runs commands the way the agent joins them to a cgroup
// v1 group, with a plain file (in a directory whose name needs quoting)
// for cgroup.procs: the process writes its own pid there first, then runs
// the command, with its arguments and line numbers as they were.
func TestJoinCgroupV1(t *testing.T) {
	if !strings.Contains(unjoined(t, lineScript), "2") {
		t.Fatalf("the shell's message has no line number: %q", unjoined(t, lineScript))
	}
	dir := filepath.Join(t.TempDir(), `it's "quoted" $HOME`)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		cmd   *exec.Cmd
		shell bool
		want  string
	}{
		{"shell", exec.Command("/bin/sh", "-c", `echo "$0" $$`), true, "/bin/sh PID\n"},
		// The shell's message names the line as without the join.
		{"shell, second line", exec.Command("/bin/sh", "-c", lineScript), true, unjoined(t, lineScript)},
		{"argv", exec.Command("/bin/sh", "-c", `echo "$0" "$1" $$`, "zero", "one two"), false, "zero one two PID\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			procs := filepath.Join(dir, "cgroup.procs")
			if err := os.WriteFile(procs, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			joinCgroupV1(tc.cmd, procs, tc.shell)
			out, err := tc.cmd.Output()
			if err != nil {
				t.Fatalf("%v: %v", tc.cmd.Args, err)
			}
			pid := strconv.Itoa(tc.cmd.Process.Pid)
			if want := strings.ReplaceAll(tc.want, "PID", pid); string(out) != want {
				t.Errorf("output %q, want %q", out, want)
			}
			if b, _ := os.ReadFile(procs); strings.TrimSpace(string(b)) != pid {
				t.Errorf("cgroup.procs %q, want the process's pid %s", b, pid)
			}
		})
	}
}

const lineScript = "true\nno-such-command-of-kubemesos 2>&1; true"

func unjoined(t *testing.T, script string) string {
	t.Helper()
	out, err := exec.Command("/bin/sh", "-c", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
