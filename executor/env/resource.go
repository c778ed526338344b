package env

import (
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubemesos/kubemesos/executor/protocol"
)

// AllocatableField is the prefix of the optional task.Fields entries that
// give the agent's allocatable resources as quantities, e.g.
// "node.allocatable.cpu" = "8", "node.allocatable.memory" = "32Gi". A
// kubelet reports node allocatable for limits.* of a container without a
// limit; these entries let the framework say what the Mesos agent offers.
const AllocatableField = "node.allocatable."

// unlimited is the value of a memory or ephemeral-storage limit when neither
// a limit, a pod-level limit, the agent's allocatable nor a request is
// known: the largest representable quantity, as an unlimited cgroup reads.
const unlimited = math.MaxInt64

// ResourceValue returns the downward-API value sel selects: a limit or
// request (cpu, memory, ephemeral-storage, hugepages-*) of the container
// sel names, or of c when sel names none, divided by sel's divisor (default
// 1) and rounded up, as a kubelet computes it.
//
// A limits.* value of a container that sets no limit is, as on a kubelet,
// the pod-level limit if the pod sets one, else the node's allocatable
// amount, taken from task.Fields[AllocatableField+resource]. Where the
// framework did not send it, the container's request is used (on a shared
// Mesos agent it is what the pod's task was given), and with no request
// either: the host's CPU count for cpu, and an unlimited value
// (math.MaxInt64 bytes) for memory and ephemeral-storage.
func ResourceValue(pod *corev1.Pod, c *corev1.Container, task *protocol.PodTask, sel *corev1.ResourceFieldSelector) (string, error) {
	if sel.ContainerName != "" {
		c = findContainer(pod, sel.ContainerName)
		if c == nil {
			return "", fmt.Errorf("resourceFieldRef %s: container %s not found", sel.Resource, sel.ContainerName)
		}
	}
	if c == nil {
		return "", fmt.Errorf("resourceFieldRef %s: no containerName", sel.Resource)
	}
	kind, name, ok := strings.Cut(sel.Resource, ".")
	resName := corev1.ResourceName(name)
	supported := resName == corev1.ResourceCPU || resName == corev1.ResourceMemory ||
		resName == corev1.ResourceEphemeralStorage || strings.HasPrefix(name, corev1.ResourceHugePagesPrefix)
	if !ok || (kind != "limits" && kind != "requests") || !supported {
		return "", fmt.Errorf("unsupported container resource: %s", sel.Resource)
	}

	var q resource.Quantity
	if kind == "requests" {
		q = c.Resources.Requests[resName]
	} else {
		q = limit(pod, c, task, resName)
	}

	divisor := sel.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if resName == corev1.ResourceCPU {
		d := divisor.MilliValue()
		if d <= 0 {
			return "", fmt.Errorf("resourceFieldRef %s: invalid divisor %s", sel.Resource, divisor.String())
		}
		return strconv.FormatInt(ceilDiv(q.MilliValue(), d), 10), nil
	}
	d := divisor.Value()
	if d <= 0 {
		return "", fmt.Errorf("resourceFieldRef %s: invalid divisor %s", sel.Resource, divisor.String())
	}
	return strconv.FormatInt(ceilDiv(q.Value(), d), 10), nil
}

// limit is c's limit of name with the kubelet's defaults for a container
// without one (see ResourceValue). Hugepages always have a limit.
func limit(pod *corev1.Pod, c *corev1.Container, task *protocol.PodTask, name corev1.ResourceName) resource.Quantity {
	if q, ok := c.Resources.Limits[name]; ok && !q.IsZero() {
		return q
	}
	if strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix) {
		return resource.Quantity{}
	}
	if pod.Spec.Resources != nil {
		if q, ok := pod.Spec.Resources.Limits[name]; ok && !q.IsZero() {
			return q
		}
	}
	if s, ok := task.GetFields()[AllocatableField+string(name)]; ok {
		if q, err := resource.ParseQuantity(s); err == nil && !q.IsZero() {
			return q
		}
	}
	if q, ok := c.Resources.Requests[name]; ok && !q.IsZero() {
		return q
	}
	if name == corev1.ResourceCPU {
		return *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI)
	}
	return *resource.NewQuantity(unlimited, resource.BinarySI)
}

// ceilDiv is a/b rounded up, for a >= 0 and b > 0, without overflow.
func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 {
		q++
	}
	return q
}

// findContainer is the container or init container of pod named name.
func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	return nil
}
