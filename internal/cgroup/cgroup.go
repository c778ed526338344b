// Package cgroup limits the memory (and, where the cpu controller is
// writable too, the CPU time) of groups of processes with the kernel's
// cgroup controllers, cgroup v1 (hierarchies mounted at <root>/memory and
// <root>/cpu) or v2 (the unified hierarchy at <root>, with "memory" in
// cgroup.controllers), and tells whether the OOM killer ended a process of
// a group. Detect finds a writable controller by creating (and removing) a
// probe cgroup; a Group is one cgroup under a parent of the caller's
// naming, directly below the hierarchy's root, as Mesos keeps its
// containers under /sys/fs/cgroup/memory/mesos.
package cgroup

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultRoot is where cgroup hierarchies are mounted.
const DefaultRoot = "/sys/fs/cgroup"

// Controller is a writable memory controller.
type Controller struct {
	dir    string // the root of the memory hierarchy
	cpuDir string // the root of the cpu hierarchy, "" without a usable one
	v2     bool
}

// Detect finds the memory controller under root (DefaultRoot if empty)
// and checks that cgroups can be created there. The error says why there
// is no usable controller.
func Detect(root string) (*Controller, error) {
	if root == "" {
		root = DefaultRoot
	}
	var c *Controller
	if b, err := os.ReadFile(filepath.Join(root, "cgroup.controllers")); err == nil {
		if !hasWord(string(b), "memory") {
			return nil, fmt.Errorf("cgroup v2 at %s has no memory controller", root)
		}
		c = &Controller{dir: root, v2: true}
	} else if _, err := os.Stat(filepath.Join(root, "memory", "memory.limit_in_bytes")); err == nil {
		c = &Controller{dir: filepath.Join(root, "memory")}
	} else {
		return nil, fmt.Errorf("no cgroup memory controller under %s", root)
	}
	probe := filepath.Join(c.dir, "kubemesos-probe-"+randomHex())
	if err := os.Mkdir(probe, 0o755); err != nil {
		return nil, fmt.Errorf("memory controller at %s is not writable: %w", c.dir, err)
	}
	if err := os.Remove(probe); err != nil {
		return nil, fmt.Errorf("remove probe cgroup: %w", err)
	}
	c.cpuDir = detectCPU(root, c.v2)
	return c, nil
}

// detectCPU finds a writable cpu controller beside the memory one.
func detectCPU(root string, v2 bool) string {
	if v2 {
		if b, err := os.ReadFile(filepath.Join(root, "cgroup.controllers")); err == nil && hasWord(string(b), "cpu") {
			return root
		}
		return ""
	}
	dir := filepath.Join(root, "cpu")
	if _, err := os.Stat(filepath.Join(dir, "cpu.cfs_quota_us")); err != nil {
		return ""
	}
	probe := filepath.Join(dir, "kubemesos-probe-"+randomHex())
	if err := os.Mkdir(probe, 0o755); err != nil {
		return ""
	}
	if err := os.Remove(probe); err != nil {
		return ""
	}
	return dir
}

// CPU reports whether groups can have a CPU limit.
func (c *Controller) CPU() bool { return c.cpuDir != "" }

// Name is the isolation's name as Mesos calls it.
func (c *Controller) Name() string { return "cgroups/mem" }

// Version is "v1" or "v2".
func (c *Controller) Version() string {
	if c.v2 {
		return "v2"
	}
	return "v1"
}

// Dir is the root of the memory hierarchy.
func (c *Controller) Dir() string { return c.dir }

// Create makes the cgroup parent/name (and parent if needed) with a memory
// limit of limit bytes (none if limit is 0).
func (c *Controller) Create(parent, name string, limit int64) (*Group, error) {
	pdir := filepath.Join(c.dir, parent)
	if err := os.Mkdir(pdir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("create cgroup %s: %w", pdir, err)
	}
	if c.v2 {
		// Children of the root and of the parent get the memory controller.
		for _, d := range []string{c.dir, pdir} {
			if err := os.WriteFile(filepath.Join(d, "cgroup.subtree_control"), []byte("+memory"), 0); err != nil {
				return nil, fmt.Errorf("enable the memory controller below %s: %w", d, err)
			}
		}
	}
	g := &Group{c: c, parent: parent, dir: filepath.Join(pdir, name), v2: c.v2, limit: limit}
	if err := os.Mkdir(g.dir, 0o755); err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", g.dir, err)
	}
	if limit == 0 {
		return g, nil
	}
	if err := g.SetLimit(limit); err != nil {
		_ = os.Remove(g.dir)
		return nil, err
	}
	return g, nil
}

// RemoveParent removes a parent cgroup that has no group left.
func (c *Controller) RemoveParent(parent string) error {
	if c.cpuDir != "" && c.cpuDir != c.dir {
		_ = os.Remove(filepath.Join(c.cpuDir, parent))
	}
	return os.Remove(filepath.Join(c.dir, parent))
}

// Group is one cgroup with a memory limit.
type Group struct {
	c      *Controller
	parent string
	dir    string
	cpuDir string // the group in the v1 cpu hierarchy, if it has a CPU limit
	v2     bool
	limit  int64
}

// cpuPeriod is the CFS period CPU limits are expressed in, as the kubelet's.
const cpuPeriod = 100000

// SetCPU limits the group to millis thousandths of a CPU (a CFS quota over
// a 100 ms period). Without a cpu controller it does nothing and returns
// false.
func (g *Group) SetCPU(millis int64) (bool, error) {
	if g.c == nil || g.c.cpuDir == "" {
		return false, nil
	}
	quota := strconv.FormatInt(max(millis*cpuPeriod/1000, 1000), 10)
	if g.v2 {
		for _, d := range []string{g.c.dir, filepath.Join(g.c.dir, g.parent)} {
			if err := os.WriteFile(filepath.Join(d, "cgroup.subtree_control"), []byte("+cpu"), 0); err != nil {
				return false, fmt.Errorf("enable the cpu controller below %s: %w", d, err)
			}
		}
		if err := os.WriteFile(filepath.Join(g.dir, "cpu.max"), []byte(quota+" "+strconv.Itoa(cpuPeriod)), 0); err != nil {
			return false, fmt.Errorf("set cpu limit of %s: %w", g.dir, err)
		}
		return true, nil
	}
	pdir := filepath.Join(g.c.cpuDir, g.parent)
	if err := os.Mkdir(pdir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return false, fmt.Errorf("create cgroup %s: %w", pdir, err)
	}
	dir := filepath.Join(pdir, filepath.Base(g.dir))
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return false, fmt.Errorf("create cgroup %s: %w", dir, err)
	}
	g.cpuDir = dir
	for file, v := range map[string]string{"cpu.cfs_period_us": strconv.Itoa(cpuPeriod), "cpu.cfs_quota_us": quota} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(v), 0); err != nil {
			return false, fmt.Errorf("set cpu limit of %s: %w", dir, err)
		}
	}
	return true, nil
}

// ProcsFiles are the files a process writes its pid to, to join the group
// in every hierarchy it has (memory, and cpu in v1).
func (g *Group) ProcsFiles() []string {
	files := []string{g.ProcsFile()}
	if g.cpuDir != "" {
		files = append(files, filepath.Join(g.cpuDir, "cgroup.procs"))
	}
	return files
}

// Dir is the cgroup's directory.
func (g *Group) Dir() string { return g.dir }

// V2 reports whether the group is in the unified (v2) hierarchy, where a
// process can start in it (see Open); in v1 it joins through ProcsFile.
func (g *Group) V2() bool { return g.v2 }

// Limit is the group's memory limit in bytes.
func (g *Group) Limit() int64 { return g.limit }

// SetLimit changes the group's memory limit (and forbids swap where the
// kernel accounts it).
func (g *Group) SetLimit(limit int64) error {
	v := []byte(strconv.FormatInt(limit, 10))
	file := "memory.limit_in_bytes"
	if g.v2 {
		file = "memory.max"
	}
	if err := os.WriteFile(filepath.Join(g.dir, file), v, 0); err != nil {
		return fmt.Errorf("set memory limit of %s: %w", g.dir, err)
	}
	if g.v2 {
		_ = os.WriteFile(filepath.Join(g.dir, "memory.swap.max"), []byte("0"), 0)
	} else {
		_ = os.WriteFile(filepath.Join(g.dir, "memory.memsw.limit_in_bytes"), v, 0)
	}
	g.limit = limit
	return nil
}

// Open opens the cgroup's directory, for SysProcAttr.CgroupFD (v2 only:
// the child starts in the group, before exec). The caller closes it.
func (g *Group) Open() (*os.File, bool, error) {
	if !g.v2 {
		return nil, false, nil
	}
	f, err := os.Open(g.dir)
	return f, err == nil, err
}

// ProcsFile is the file a process writes its pid to, to join the group.
func (g *Group) ProcsFile() string { return filepath.Join(g.dir, "cgroup.procs") }

// Add moves a process (and the children it forks afterwards) into the group.
func (g *Group) Add(pid int) error {
	if err := os.WriteFile(filepath.Join(g.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
		return fmt.Errorf("add process %d to %s: %w", pid, g.dir, err)
	}
	return nil
}

// OOMKilled reports whether the OOM killer killed a process of the group:
// the oom_kill count of memory.events (v2) or memory.oom_control (v1);
// kernels whose v1 controller has no such count report whether the limit
// was hit (memory.failcnt) and the process was killed.
func (g *Group) OOMKilled(killed bool) bool {
	if g.v2 {
		return counter(filepath.Join(g.dir, "memory.events"), "oom_kill") > 0
	}
	if n := counter(filepath.Join(g.dir, "memory.oom_control"), "oom_kill"); n >= 0 {
		return n > 0
	}
	b, err := os.ReadFile(filepath.Join(g.dir, "memory.failcnt"))
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return err == nil && n > 0 && killed
}

// MaxUsage is the group's peak memory use in bytes (0 if unknown).
func (g *Group) MaxUsage() int64 {
	file := "memory.max_usage_in_bytes"
	if g.v2 {
		file = "memory.peak"
	}
	b, _ := os.ReadFile(filepath.Join(g.dir, file))
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// Remove kills what is left in the group and removes it, retrying for a
// while as the kernel finishes the killed processes.
func (g *Group) Remove() error {
	if g.cpuDir != "" {
		if err := removeDir(g.cpuDir); err != nil {
			return err
		}
	}
	return removeDir(g.dir)
}

func removeDir(dir string) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := os.Remove(dir)
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
			return fmt.Errorf("remove cgroup %s: %w", dir, err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// counter reads "key value" from a flat-keyed cgroup file; -1 if absent.
func counter(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok && k == key {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

func randomHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
