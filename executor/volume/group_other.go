//go:build !unix

package volume

import "io/fs"

// groupOf is -1: file groups are not known on this platform.
func groupOf(fs.FileInfo) int64 { return -1 }
