package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkUpColdStart is `kubemesos up` on a new data dir, from start to
// its ready line, and the process's RSS once ready (two process agents, no
// pods). Run with -benchtime 1x -count 5 for a median.
func BenchmarkUpColdStart(b *testing.B) {
	needBinary(b)
	var c *cluster
	var rss float64
	for i := 0; i < b.N; i++ {
		c = startUp(b, filepath.Join(b.TempDir(), "kubemesos"), b.TempDir())
		rss = rssMiB(c.cmd.Process.Pid)
		c.stop()
	}
	b.ReportMetric(c.readyDur.Seconds(), "s-to-ready")
	b.ReportMetric(rss, "RSS-MiB")
}

// rssMiB reads a process's resident set size (VmRSS).
func rssMiB(pid int) float64 {
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
