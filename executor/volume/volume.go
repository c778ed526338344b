// Package volume writes a pod's volumes into its sandbox (emptyDir, configMap,
// secret, downwardAPI, projected, hostPath) from the content the framework
// resolved, with the keys, items and file modes the pod asks for, the way a
// kubelet's atomic writer lays them out, and tells each container where to
// mount them. It never reads the Kubernetes API; besides writing under the
// sandbox it only mounts tmpfs (where it runs as root on Linux) and creates
// hostPath directories and files a pod asks for.
package volume

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubemesos/kubemesos/executor/env"
	"github.com/kubemesos/kubemesos/executor/protocol"
)

// Mount is one volume mount of a container: Source on the host appears at
// Target inside the container's mount namespace.
type Mount struct {
	Source   string
	Target   string
	ReadOnly bool
}

// Set is the materialized volumes of one pod.
type Set struct {
	volumes map[string]*volume
	// mounted are the tmpfs mount points, in the order they were mounted.
	mounted []string
}

// volume is one materialized volume.
type volume struct {
	name string
	path string
	// readOnly is set for the volumes Kubernetes always mounts read-only
	// (configMap, secret, downwardAPI, projected).
	readOnly bool
	// sizeLimit is an emptyDir's sizeLimit in bytes (0: none).
	sizeLimit int64
	// memory is set when the volume is a tmpfs this Set mounted.
	memory bool
}

// Dir is where the volumes of a pod whose sandbox is dir are written: one
// directory per volume, named after it.
func Dir(dir string) string { return filepath.Join(dir, "volumes") }

// Materialize writes every volume of pod under dir (the pod's sandbox) and
// returns them. Content comes from task; a required ConfigMap or Secret that
// was not found, or a volume type the process runtime cannot provide, is an
// error that names the volume. Materialize may be called again for the same
// pod and dir (after an executor restart): emptyDir content is kept, the
// other volumes are rewritten atomically and existing tmpfs mounts reused.
func Materialize(pod *corev1.Pod, task *protocol.PodTask, dir string) (*Set, error) {
	s := &Set{volumes: make(map[string]*volume, len(pod.Spec.Volumes))}
	root := Dir(dir)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("volumes directory: %w", err)
	}
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if err := validateName(v.Name); err != nil {
			return nil, s.fail(fmt.Errorf("volume %q: %w", v.Name, err))
		}
		if _, dup := s.volumes[v.Name]; dup {
			return nil, s.fail(fmt.Errorf("volume %s: defined twice", v.Name))
		}
		vol, err := s.materialize(pod, task, v, filepath.Join(root, v.Name))
		if err != nil {
			return nil, s.fail(fmt.Errorf("volume %s: %w", v.Name, err))
		}
		s.volumes[v.Name] = vol
	}
	return s, nil
}

// fail releases what was acquired before err and returns err.
func (s *Set) fail(err error) error {
	if cerr := s.Close(); cerr != nil {
		return errors.Join(err, cerr)
	}
	return err
}

// materialize provides one volume at path.
func (s *Set) materialize(pod *corev1.Pod, task *protocol.PodTask, v *corev1.Volume, path string) (*volume, error) {
	vol := &volume{name: v.Name, path: path}
	src := &v.VolumeSource
	switch {
	case src.EmptyDir != nil:
		if err := s.emptyDir(vol, src.EmptyDir); err != nil {
			return nil, err
		}
		return vol, applyFSGroup(pod, path, false)
	case src.HostPath != nil:
		vol.path = filepath.Clean(src.HostPath.Path)
		return vol, checkHostPath(src.HostPath)
	case src.ConfigMap != nil, src.Secret != nil, src.DownwardAPI != nil, src.Projected != nil:
		files, err := payloadOf(pod, task, v)
		if err != nil {
			return nil, err
		}
		vol.readOnly = true
		// A kubelet keeps secrets (and projected tokens, and downward-API
		// values) off disk: their volumes are tmpfs where it can mount one.
		inMemory := src.ConfigMap == nil
		if err := s.prepareDir(vol, inMemory, 0, 0o755); err != nil {
			return nil, err
		}
		if err := writeAtomic(path, files); err != nil {
			return nil, err
		}
		return vol, applyFSGroup(pod, path, true)
	}
	return nil, fmt.Errorf("type %s is not supported by the kubemesos process runtime", typeName(src))
}

// Mounts returns the mounts of container c (volumeMounts with subPath and
// subPathExpr resolved against env, a container's "K=V" environment).
// configMap, secret, downwardAPI and projected volumes are always read-only,
// as in Kubernetes. A subPath that does not exist is created as a directory,
// as a kubelet does; one that is absolute, contains "..", or resolves
// (through symbolic links) outside its volume is an error.
func (s *Set) Mounts(c *corev1.Container, environment []string) ([]Mount, error) {
	var values map[string]string
	mounts := make([]Mount, 0, len(c.VolumeMounts))
	for _, vm := range c.VolumeMounts {
		vol, ok := s.volumes[vm.Name]
		if !ok {
			return nil, fmt.Errorf("cannot find volume %q to mount into container %q", vm.Name, c.Name)
		}
		subPath := vm.SubPath
		if vm.SubPathExpr != "" {
			if values == nil {
				values = env.Map(environment)
			}
			var err error
			if subPath, err = expandSubPath(vm.SubPathExpr, values); err != nil {
				return nil, fmt.Errorf("container %s: volumeMount %s: subPathExpr %q: %w", c.Name, vm.Name, vm.SubPathExpr, err)
			}
		}
		source := vol.path
		if subPath != "" {
			var err error
			if source, err = resolveSubPath(vol.path, subPath); err != nil {
				return nil, fmt.Errorf("container %s: volumeMount %s: subPath %q: %w", c.Name, vm.Name, subPath, err)
			}
		}
		target := vm.MountPath
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		mounts = append(mounts, Mount{Source: source, Target: target, ReadOnly: vm.ReadOnly || vol.readOnly})
	}
	return mounts, nil
}

// Path is the host directory (or file, for a hostPath volume) of the volume
// named name, and whether the pod has such a volume.
func (s *Set) Path(name string) (string, bool) {
	vol, ok := s.volumes[name]
	if !ok {
		return "", false
	}
	return vol.path, true
}

// Memory reports whether the volume named name is a tmpfs mounted by this
// Set (an emptyDir with medium Memory, or a secret, downwardAPI or projected
// volume, where the executor runs as root on Linux).
func (s *Set) Memory(name string) bool {
	vol, ok := s.volumes[name]
	return ok && vol.memory
}

// OverLimit measures the disk usage of every emptyDir with a sizeLimit
// (walking its files, counting allocated blocks and each hard-linked file
// once) and reports the first one, by volume name, that uses more than its
// limit, so that the runner can evict the pod as a kubelet would. A tmpfs
// emptyDir is bounded by its mount and measured all the same.
func (s *Set) OverLimit() (volume string, used, limit int64, over bool) {
	names := make([]string, 0, len(s.volumes))
	for name, vol := range s.volumes {
		if vol.sizeLimit > 0 {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		vol := s.volumes[name]
		if u := diskUsage(vol.path); u > vol.sizeLimit {
			return name, u, vol.sizeLimit, true
		}
	}
	return "", 0, 0, false
}

// Close releases what Materialize acquired (tmpfs mounts of medium: Memory
// and of in-memory volumes); it may be called again to retry mounts it
// could not release. Files stay in the sandbox for inspection, except in
// tmpfs volumes, whose content goes with the mount.
func (s *Set) Close() error {
	var (
		errs  []error
		still []string
	)
	for i := len(s.mounted) - 1; i >= 0; i-- {
		if err := unmountTmpfs(s.mounted[i]); err != nil {
			errs = append(errs, fmt.Errorf("unmount %s: %w", s.mounted[i], err))
			still = append([]string{s.mounted[i]}, still...)
		}
	}
	s.mounted = still
	for _, vol := range s.volumes {
		vol.memory = vol.memory && slices.Contains(still, vol.path)
	}
	return errors.Join(errs...)
}
