package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

const syscallSIGTERM = syscall.SIGTERM

// children lists the child processes of pid (Linux /proc).
func children(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "children"))
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, field := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(field); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// cmdline returns the arguments of pid (nil when it is gone).
func cmdline(pid int) []string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

// processesOf lists the live processes running the executable path.
func processesOf(path string) []int {
	var out []int
	exes, _ := filepath.Glob("/proc/[0-9]*/exe")
	for _, exe := range exes {
		target, err := os.Readlink(exe)
		if err != nil || strings.TrimSuffix(target, " (deleted)") != path {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(exe)))
		if err != nil {
			continue
		}
		if b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat")); err == nil {
			// A zombie is already gone; its parent has yet to reap it.
			if f := strings.Fields(string(b)); len(f) > 2 && f[2] == "Z" {
				continue
			}
		}
		out = append(out, pid)
	}
	return out
}

// syscallKill sends SIGKILL to pid.
func syscallKill(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }

// isExecutor reports whether a command line runs the kubemesos executor:
// directly, or through the shell of an executor command (an executor
// fetched from a separate framework process runs as `sh -c "./kubemesos
// executor"`).
func isExecutor(args []string) bool {
	if len(args) > 1 && args[1] == "executor" {
		return true
	}
	return len(args) == 3 && strings.HasSuffix(args[0], "sh") && args[1] == "-c" && strings.HasSuffix(args[2], "kubemesos executor")
}

// executors lists the kubemesos executor processes among the descendants of
// pid (the executors themselves, not their shells).
func executors(pid int) []int {
	var out []int
	for _, kid := range children(pid) {
		args := cmdline(kid)
		switch {
		case len(args) > 1 && args[1] == "executor":
			out = append(out, kid)
		case isExecutor(args):
			out = append(out, executors(kid)...)
		}
	}
	return out
}

// environ returns the environment of pid.
func environ(pid int) map[string]string {
	b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
	out := map[string]string{}
	for _, kv := range strings.Split(string(b), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}
