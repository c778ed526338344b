//go:build unix

package volume

import (
	"io/fs"
	"path/filepath"
	"syscall"
)

// diskUsage is the space the files under dir occupy, as du counts it:
// allocated blocks, each hard-linked file once, symbolic links not
// followed. Files that vanish during the walk are skipped.
func diskUsage(dir string) int64 {
	type inode struct{ dev, ino uint64 }
	seen := make(map[inode]bool)
	var total int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			total += info.Size()
			return nil
		}
		if st.Nlink > 1 && !info.IsDir() {
			key := inode{uint64(st.Dev), uint64(st.Ino)}
			if seen[key] {
				return nil
			}
			seen[key] = true
		}
		total += int64(st.Blocks) * 512
		return nil
	})
	return total
}
