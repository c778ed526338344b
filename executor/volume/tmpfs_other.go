//go:build !linux

package volume

// canMountTmpfs is false: this runtime mounts tmpfs only on Linux.
func canMountTmpfs() bool { return false }

func mountTmpfs(string, int64) (bool, error) { return false, nil }

func unmountTmpfs(string) error { return nil }

func isMountPoint(string) (bool, error) { return false, nil }
