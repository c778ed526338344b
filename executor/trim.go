package executor

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// mapping is an address range of the process.
type mapping struct{ start, end uint64 }

// droppableMappings reads /proc/<pid>/smaps and returns the mappings of the
// file path that are not writable and hold no anonymous (copy-on-write)
// pages: their resident pages equal the file's, so they can be dropped.
func droppableMappings(smaps io.Reader, path string) ([]mapping, error) {
	var (
		out     []mapping
		cur     mapping
		current bool // the mapping being read is a candidate
	)
	flush := func() {
		if current {
			out = append(out, cur)
		}
		current = false
	}
	sc := bufio.NewScanner(smaps)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if lo, hi, ok := strings.Cut(fields[0], "-"); ok && len(fields) >= 5 {
			// A header: start-end perms offset dev inode [path].
			flush()
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			current = err1 == nil && err2 == nil && end > start &&
				len(fields) >= 6 && fields[5] == path && !strings.Contains(fields[1], "w")
			cur = mapping{start, end}
			continue
		}
		if fields[0] == "Anonymous:" && len(fields) >= 2 && fields[1] != "0" {
			current = false
		}
	}
	flush()
	return out, sc.Err()
}
