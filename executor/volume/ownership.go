package volume

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
)

// The permission masks the kubelet adds for a pod's fsGroup.
const (
	rwMask   = fs.FileMode(0o660)
	roMask   = fs.FileMode(0o440)
	execMask = fs.FileMode(0o110)
)

// fsGroupOf is the pod's fsGroup, or nil.
func fsGroupOf(pod *corev1.Pod) *int64 {
	if sc := pod.Spec.SecurityContext; sc != nil {
		return sc.FSGroup
	}
	return nil
}

// applyFSGroup gives the files of a volume to the pod's fsGroup as a
// kubelet does (SetVolumeOwnership): every entry is chowned to the group;
// files get group read (read-only volumes) or read-write; directories also
// get group search and the setgid bit, so that new files inherit the
// group. With fsGroupChangePolicy OnRootMismatch a volume whose root
// already has the group and permissions is left as it is. Changing the
// group needs root; without it nothing is changed, as containers then run
// as the executor's user anyway.
func applyFSGroup(pod *corev1.Pod, dir string, readOnly bool) error {
	group := fsGroupOf(pod)
	if group == nil || os.Geteuid() != 0 {
		return nil
	}
	mask := rwMask
	if readOnly {
		mask = roMask
	}
	dirMask := mask | execMask | fs.ModeSetgid
	if policy := pod.Spec.SecurityContext.FSGroupChangePolicy; policy != nil && *policy == corev1.FSGroupChangeOnRootMismatch {
		if info, err := os.Stat(dir); err == nil && groupOf(info) == *group && info.Mode()&dirMask == dirMask {
			return nil
		}
	}
	return filepath.Walk(dir, func(path string, info fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(path, -1, int(*group)); err != nil {
			return fmt.Errorf("fsGroup: %w", err)
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			return nil
		}
		m := mask
		if info.IsDir() {
			m = dirMask
		}
		if err := os.Chmod(path, info.Mode().Perm()|info.Mode()&(fs.ModeSetgid|fs.ModeSetuid|fs.ModeSticky)|m); err != nil {
			return fmt.Errorf("fsGroup: %w", err)
		}
		return nil
	})
}
