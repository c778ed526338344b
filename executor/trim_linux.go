package executor

import (
	"fmt"
	"os"
	"syscall"
)

// releaseStartupPages drops the resident pages of this process's own
// executable's read-only mappings (code and read-only data). In the
// kubemesos binary, package initialisation of the embedded Kubernetes
// components touches some 100 MiB of them that the executor never uses
// again. Only mappings with no private (copy-on-write) pages are dropped,
// so dropping them loses nothing (a RELRO page written by the dynamic
// loader is kept): what the executor does use faults back in from the page
// cache. It returns how many bytes of mappings were advised.
func releaseStartupPages() (int64, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	spans, err := droppableMappings(f, self)
	f.Close()
	if err != nil {
		return 0, err
	}
	var released int64
	for _, s := range spans {
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(s.start), uintptr(s.end-s.start), syscall.MADV_DONTNEED); errno != 0 {
			return released, fmt.Errorf("madvise %x-%x: %w", s.start, s.end, errno)
		}
		released += int64(s.end - s.start)
	}
	return released, nil
}
