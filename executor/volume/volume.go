// Package volume writes a pod's volumes into its sandbox (emptyDir, configMap,
// secret, downwardAPI, projected, hostPath) from the content the framework
// resolved, with the keys, items and file modes the pod asks for, and tells
// each container where to mount them.
package volume

import (
	"errors"

	corev1 "k8s.io/api/core/v1"

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
type Set struct{}

// Materialize writes every volume of pod under dir (the pod's sandbox) and
// returns them. Content comes from task; a required ConfigMap or Secret that
// was not found, or a volume type the process runtime cannot provide, is an
// error that names the volume.
func Materialize(pod *corev1.Pod, task *protocol.PodTask, dir string) (*Set, error) {
	return nil, errors.New("volume: not implemented yet")
}

// Mounts returns the mounts of container c (volumeMounts with subPath and
// subPathExpr resolved against env, a container's "K=V" environment).
func (s *Set) Mounts(c *corev1.Container, env []string) ([]Mount, error) {
	return nil, errors.New("volume: not implemented yet")
}

// Close releases what Materialize acquired (tmpfs mounts of medium: Memory).
// Files stay in the sandbox for inspection.
func (s *Set) Close() error { return nil }
