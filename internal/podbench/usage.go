package podbench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Usage is this process' resource use so far.
type Usage struct {
	// CPU is user plus system time.
	CPU time.Duration
	// RSS is the resident set now, PeakRSS its high-water mark, in bytes.
	RSS, PeakRSS int64
}

// ReadUsage reads this process' CPU time (getrusage) and resident memory
// (/proc/self/status).
func ReadUsage() (Usage, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return Usage{}, fmt.Errorf("getrusage: %w", err)
	}
	u := Usage{CPU: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return u, fmt.Errorf("memory use: %w", err)
	}
	defer f.Close()
	u.RSS, u.PeakRSS, err = parseStatusMemory(f)
	return u, err
}

// parseStatusMemory reads VmRSS and VmHWM (in kB) from a /proc/<pid>/status.
func parseStatusMemory(r io.Reader) (rss, peak int64, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, 0, fmt.Errorf("memory use: unexpected %s line %q", key, sc.Text())
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("memory use: %s: %w", key, err)
		}
		if key == "VmRSS" {
			rss = kb << 10
		} else {
			peak = kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("memory use: %w", err)
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("memory use: no VmRSS in /proc/self/status")
	}
	return rss, peak, nil
}
