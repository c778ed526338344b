// Package runner runs one pod as a kubelet would, with each container a
// process supervised by the executor: init and sidecar containers, restart
// policies with back-off, probes, lifecycle hooks, graceful termination,
// active deadlines, resource limits and CRI-format logs. It reports the pod's
// Kubernetes status on every change.
package runner

import (
	"errors"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubemesos/kubemesos/executor/protocol"
)

// Config is one pod to run.
type Config struct {
	Pod  *corev1.Pod
	Task *protocol.PodTask
	// Dir is the pod's own directory (volumes, logs), created by Start.
	Dir string
	// HostIP is the agent's address, reported as hostIP and podIP (the
	// process runtime shares the host's network).
	HostIP string
	// OnStatus is called with the pod's status on every change, in order and
	// never concurrently; identical consecutive statuses are not repeated.
	OnStatus func(*corev1.PodStatus)
	// Self is the path of the kubemesos binary, re-executed as
	// `kubemesos executor container-init` to set up a container's mount
	// namespace before it runs the container's command.
	Self   string
	Logger *slog.Logger
}

// Pod is a running pod.
type Pod struct{}

// Start prepares the pod (volumes, directories) and starts its containers in
// the background. An error means the pod could not be prepared at all; its
// reason is for the pod's Failed status.
func Start(cfg Config) (*Pod, error) { return nil, errors.New("runner: not implemented yet") }

// Kill terminates the pod in a kubelet's order: preStop hooks, SIGTERM, then
// SIGKILL to each container's process group after grace. A negative grace
// means the pod's terminationGracePeriodSeconds.
func (p *Pod) Kill(grace time.Duration) {}

// Done is closed once no container runs and none will be restarted.
func (p *Pod) Done() <-chan struct{} { return nil }

// Status is the pod's latest status.
func (p *Pod) Status() *corev1.PodStatus { return nil }

// ContainerInit is the body of the hidden `kubemesos executor container-init`
// command: it sets up a container's mount namespace from args and then
// execs the container's command in place of itself.
func ContainerInit(args []string) error { return errors.New("runner: not implemented yet") }
