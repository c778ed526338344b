package volume

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	corev1 "k8s.io/api/core/v1"
)

// checkHostPath applies a hostPath volume's type as a kubelet does:
// DirectoryOrCreate and FileOrCreate create what is missing (a directory
// 0755 with its parents; a file 0644, whose parent must exist), the other
// types require the path to be of that type, and "" (the default) checks
// nothing.
func checkHostPath(src *corev1.HostPathVolumeSource) error {
	if src.Path == "" {
		return errors.New("hostPath: empty path")
	}
	var t corev1.HostPathType
	if src.Type != nil {
		t = *src.Type
	}
	path := src.Path
	switch t {
	case corev1.HostPathUnset:
		return nil
	case corev1.HostPathDirectoryOrCreate:
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			if err := os.MkdirAll(path, 0o755); err != nil {
				return fmt.Errorf("hostPath: create directory: %w", err)
			}
			return nil
		}
		return expectType(path, "directory", fs.FileMode.IsDir)
	case corev1.HostPathDirectory:
		return expectType(path, "directory", fs.FileMode.IsDir)
	case corev1.HostPathFileOrCreate:
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return fmt.Errorf("hostPath: create file: %w", err)
			}
			return f.Close()
		}
		return expectType(path, "file", fs.FileMode.IsRegular)
	case corev1.HostPathFile:
		return expectType(path, "file", fs.FileMode.IsRegular)
	case corev1.HostPathSocket:
		return expectType(path, "socket file", isType(fs.ModeSocket))
	case corev1.HostPathCharDev:
		return expectType(path, "character device", func(m fs.FileMode) bool {
			return m&fs.ModeDevice != 0 && m&fs.ModeCharDevice != 0
		})
	case corev1.HostPathBlockDev:
		return expectType(path, "block device", func(m fs.FileMode) bool {
			return m&fs.ModeDevice != 0 && m&fs.ModeCharDevice == 0
		})
	}
	return fmt.Errorf("hostPath: %s is an invalid volume type", t)
}

func isType(t fs.FileMode) func(fs.FileMode) bool {
	return func(m fs.FileMode) bool { return m&t != 0 }
}

// expectType checks that path (following symbolic links, as the kubelet's
// checks do) is of the type match accepts, with the kubelet's messages.
func expectType(path, expected string, match func(fs.FileMode) bool) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("hostPath type check failed, %s is not a %s, unable to determine its type: %w", path, expected, err)
	}
	if !match(info.Mode()) {
		return fmt.Errorf("hostPath type check failed: %s is not a %s, it's a %s", path, expected, describe(info.Mode()))
	}
	return nil
}

// describe names a file type the way the kubelet's messages do.
func describe(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "Directory"
	case m.IsRegular():
		return "File"
	case m&fs.ModeSocket != 0:
		return "Socket"
	case m&fs.ModeCharDevice != 0:
		return "CharDevice"
	case m&fs.ModeDevice != 0:
		return "BlockDevice"
	}
	return "unknown type " + m.Type().String()
}
