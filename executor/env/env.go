// Package env computes a container's environment the way a kubelet does:
// envFrom, then env (with valueFrom ConfigMap and Secret keys, downward-API
// fields and resource fields), with $(VAR) references expanded; and expands
// $(VAR) references in command and args.
package env

import (
	"errors"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubemesos/kubemesos/executor/protocol"
)

// Container returns c's environment as "KEY=value" entries, in the order a
// kubelet would define them. A required reference that cannot be resolved
// is an error naming the variable and its source.
func Container(pod *corev1.Pod, c *corev1.Container, task *protocol.PodTask) ([]string, error) {
	return nil, errors.New("env: not implemented yet")
}

// Expand replaces $(VAR) in s with VAR's value from env ("KEY=value"
// entries) as Kubernetes does: $$ escapes a $, unknown references stay as
// written.
func Expand(s string, env []string) string { return s }
