package volume

import (
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
)

// emptyDir provides an emptyDir volume: a directory any container user can
// write (0777, as a kubelet makes it), or a tmpfs for medium Memory where
// one can be mounted, sized to the sizeLimit if there is one.
func (s *Set) emptyDir(vol *volume, src *corev1.EmptyDirVolumeSource) error {
	switch src.Medium {
	case corev1.StorageMediumDefault, corev1.StorageMediumMemory:
	default:
		return fmt.Errorf("emptyDir medium %s is not supported by the kubemesos process runtime", src.Medium)
	}
	if src.SizeLimit != nil && src.SizeLimit.Sign() > 0 {
		vol.sizeLimit = src.SizeLimit.Value()
	}
	return s.prepareDir(vol, src.Medium == corev1.StorageMediumMemory, vol.sizeLimit, 0o777)
}

// prepareDir creates vol's directory with mode perm and, if inMemory and
// tmpfs can be mounted (root on Linux), mounts a tmpfs of size bytes (0:
// the tmpfs default) on it. Where mounting is not possible the volume is a
// plain directory: the pod still runs, its data is on disk. A directory that
// already is a mount point (from an earlier Materialize of the same pod) is
// kept as it is and unmounted by Close.
func (s *Set) prepareDir(vol *volume, inMemory bool, size int64, perm os.FileMode) error {
	if err := os.MkdirAll(vol.path, perm); err != nil {
		return err
	}
	if inMemory && canMountTmpfs() {
		mounted, err := isMountPoint(vol.path)
		if err != nil {
			return err
		}
		if !mounted {
			ok, err := mountTmpfs(vol.path, size)
			if err != nil {
				return fmt.Errorf("mount tmpfs: %w", err)
			}
			mounted = ok
		}
		if mounted {
			vol.memory = true
			s.mounted = append(s.mounted, vol.path)
		}
	}
	// Set the mode after mounting and regardless of the umask, keeping the
	// setgid bit an fsGroup gave an existing volume.
	info, err := os.Stat(vol.path)
	if err != nil {
		return err
	}
	if info.Mode().Perm() == perm {
		return nil
	}
	return os.Chmod(vol.path, perm|info.Mode()&os.ModeSetgid)
}
