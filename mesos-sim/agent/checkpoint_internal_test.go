package agent

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// TestLivePID: a pid file names a live process only while that process
// (pid and start time) runs.
func TestLivePID(t *testing.T) {
	exited := exec.Command("true")
	if err := exited.Run(); err != nil {
		t.Fatal(err)
	}
	self := os.Getpid()
	for name, c := range map[string]struct {
		record string
		live   bool
	}{
		"this process":       {string(pidRecord(self)), true},
		"pid without start":  {strconv.Itoa(self), true},
		"another start time": {strconv.Itoa(self) + " 1", false},
		"an exited process":  {string(pidRecord(exited.Process.Pid)), false},
		"garbage":            {"x y", false},
		"empty":              {"", false},
		"not a positive pid": {"0", false},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "forked.pid")
			if err := os.WriteFile(path, []byte(c.record), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := livePID(path) != nil; got != c.live {
				t.Errorf("livePID(%q) live = %v, want %v", c.record, got, c.live)
			}
		})
	}
	if livePID(filepath.Join(t.TempDir(), "missing")) != nil {
		t.Error("a missing pid file names a process")
	}
}
