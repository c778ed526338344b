package volume

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// canMountTmpfs reports whether this process may try to mount tmpfs.
func canMountTmpfs() bool { return os.Geteuid() == 0 }

// mountTmpfs mounts a tmpfs of size bytes (0: the kernel's default, half
// of RAM) on dir. It reports false, without error, where the kernel refuses
// the mount for lack of privilege (root without CAP_SYS_ADMIN, as in an
// unprivileged container).
func mountTmpfs(dir string, size int64) (bool, error) {
	opts := "mode=0755"
	if size > 0 {
		opts += ",size=" + strconv.FormatInt(size, 10)
	}
	err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, opts)
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
		return false, nil
	}
	return err == nil, err
}

// unmountTmpfs unmounts dir; one that is no longer mounted is not an error.
func unmountTmpfs(dir string) error {
	err := syscall.Unmount(dir, 0)
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOENT) {
		return nil
	}
	return err
}

// isMountPoint reports whether dir is on another device than its parent.
func isMountPoint(dir string) (bool, error) {
	var st, parent syscall.Stat_t
	if err := syscall.Lstat(dir, &st); err != nil {
		return false, err
	}
	if err := syscall.Lstat(filepath.Dir(dir), &parent); err != nil {
		return false, err
	}
	return st.Dev != parent.Dev, nil
}
