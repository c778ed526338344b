//go:build unix

package volume

import (
	"io/fs"
	"syscall"
)

// groupOf is the group owning a file, or -1 if unknown.
func groupOf(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return int64(st.Gid)
	}
	return -1
}
