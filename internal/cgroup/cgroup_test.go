package cgroup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeRoot lays out a cgroup mount as plain files: the controller's
// files are regular files, so Create and the readers work on them.
func fakeRoot(t *testing.T, v2 bool) string {
	t.Helper()
	root := t.TempDir()
	if v2 {
		write(t, filepath.Join(root, "cgroup.controllers"), "cpu io memory pids\n")
		return root
	}
	if err := os.Mkdir(filepath.Join(root, "memory"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(root, "memory", "memory.limit_in_bytes"), "9223372036854771712\n")
	return root
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name    string
		v2      bool
		version string
		dir     string
	}{
		{"v1", false, "v1", "memory"},
		{"v2", true, "v2", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := fakeRoot(t, tc.v2)
			c, err := Detect(root)
			if err != nil {
				t.Fatal(err)
			}
			if c.Version() != tc.version || c.Dir() != filepath.Join(root, tc.dir) || c.Name() != "cgroups/mem" {
				t.Fatalf("controller %s at %s", c.Version(), c.Dir())
			}
			entries, _ := os.ReadDir(c.Dir())
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), "kubemesos-probe-") {
					t.Errorf("probe cgroup left behind: %s", e.Name())
				}
			}
		})
	}
	if _, err := Detect(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no cgroup memory controller") {
		t.Errorf("empty root: %v", err)
	}
	root := t.TempDir()
	write(t, filepath.Join(root, "cgroup.controllers"), "cpu pids\n")
	if _, err := Detect(root); err == nil || !strings.Contains(err.Error(), "no memory controller") {
		t.Errorf("v2 without memory: %v", err)
	}
}

func TestGroupV1(t *testing.T) {
	c, err := Detect(fakeRoot(t, false))
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.Create("kubemesos-agent-a", "c1", 32<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(g.Dir(), "memory.limit_in_bytes")); got != "33554432" {
		t.Errorf("limit %q", got)
	}
	if g.ProcsFile() != filepath.Join(c.Dir(), "kubemesos-agent-a", "c1", "cgroup.procs") {
		t.Errorf("procs file %s", g.ProcsFile())
	}
	if g.OOMKilled(true) {
		t.Error("OOM-killed without memory.oom_control or failcnt")
	}
	write(t, filepath.Join(g.Dir(), "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
	write(t, filepath.Join(g.Dir(), "memory.failcnt"), "3\n")
	if g.OOMKilled(true) {
		t.Error("oom_kill 0 reads as OOM-killed")
	}
	write(t, filepath.Join(g.Dir(), "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n")
	if !g.OOMKilled(false) {
		t.Error("oom_kill 1 not seen")
	}
	// A kernel without the oom_kill count: failcnt and a SIGKILL.
	write(t, filepath.Join(g.Dir(), "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\n")
	if !g.OOMKilled(true) || g.OOMKilled(false) {
		t.Error("failcnt fallback")
	}
	write(t, filepath.Join(g.Dir(), "memory.max_usage_in_bytes"), "34603008\n")
	if g.MaxUsage() != 33<<20 {
		t.Errorf("max usage %d", g.MaxUsage())
	}
}

func TestGroupV2(t *testing.T) {
	root := fakeRoot(t, true)
	c, err := Detect(root)
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.Create("kubemesos-agent-a", "c1", 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(g.Dir(), "memory.max")); got != "67108864" {
		t.Errorf("memory.max %q", got)
	}
	for _, d := range []string{root, filepath.Join(root, "kubemesos-agent-a")} {
		if got := read(t, filepath.Join(d, "cgroup.subtree_control")); got != "+memory" {
			t.Errorf("%s subtree_control %q", d, got)
		}
	}
	f, ok, err := g.Open()
	if err != nil || !ok {
		t.Fatalf("open v2 group: %v %v", ok, err)
	}
	f.Close()
	write(t, filepath.Join(g.Dir(), "memory.events"), "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n")
	if !g.OOMKilled(false) {
		t.Error("memory.events oom_kill 1 not seen")
	}
}

func TestCPULimit(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "v1", true: "v2"}[v2], func(t *testing.T) {
			root := fakeRoot(t, v2)
			if v2 {
				write(t, filepath.Join(root, "cgroup.controllers"), "cpu memory\n")
			} else {
				if err := os.Mkdir(filepath.Join(root, "cpu"), 0o755); err != nil {
					t.Fatal(err)
				}
				write(t, filepath.Join(root, "cpu", "cpu.cfs_quota_us"), "-1\n")
			}
			c, err := Detect(root)
			if err != nil || !c.CPU() {
				t.Fatalf("cpu controller: %v %v", c, err)
			}
			g, err := c.Create("pod", "c-0", 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(g.Dir(), "memory.max")); !os.IsNotExist(err) {
				t.Errorf("memory limit written without a limit: %v", err)
			}
			if ok, err := g.SetCPU(250); !ok || err != nil {
				t.Fatalf("SetCPU: %v %v", ok, err)
			}
			if v2 {
				if got := read(t, filepath.Join(g.Dir(), "cpu.max")); got != "25000 100000" {
					t.Errorf("cpu.max %q", got)
				}
				return
			}
			dir := filepath.Join(root, "cpu", "pod", "c-0")
			if got := read(t, filepath.Join(dir, "cpu.cfs_quota_us")); got != "25000" {
				t.Errorf("quota %q", got)
			}
			if files := g.ProcsFiles(); len(files) != 2 || files[1] != filepath.Join(dir, "cgroup.procs") {
				t.Errorf("procs files %v", files)
			}
		})
	}
	c, err := Detect(fakeRoot(t, false))
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.Create("pod", "c", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := g.SetCPU(100); ok || err != nil || c.CPU() {
		t.Errorf("SetCPU without a cpu controller: %v %v", ok, err)
	}
}
