package mesosoffers

import (
	"fmt"
	"math"

	v1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"
)

// RoleAnnotation names a pod's Mesos role.
const RoleAnnotation = "kubemesos.io/role"

// Smallest resources a task gets: Mesos refuses a task with no resources,
// and a pod with no requests still uses some.
const (
	MinCPUs   = 0.01
	MinMemMiB = 32
)

// PodClaim is the claim of pod: its effective requests (init containers and
// overhead counted as Kubernetes does) in Mesos units, its host ports and
// its role.
func PodClaim(pod *v1.Pod, defaultRole string) Claim {
	reqs := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	c := Claim{Pod: pod.UID, Role: defaultRole}
	if r := pod.Annotations[RoleAnnotation]; r != "" {
		c.Role = r
	}
	if q, ok := reqs[v1.ResourceCPU]; ok {
		c.CPUs = float64(q.MilliValue()) / 1000
	}
	if q, ok := reqs[v1.ResourceMemory]; ok {
		c.MemMiB = math.Ceil(float64(q.Value()) / (1 << 20))
	}
	if q, ok := reqs[v1.ResourceEphemeralStorage]; ok {
		c.DiskMiB = math.Ceil(float64(q.Value()) / (1 << 20))
	}
	c.CPUs = math.Max(c.CPUs, MinCPUs)
	c.MemMiB = math.Max(c.MemMiB, MinMemMiB)
	for _, p := range HostPorts(pod) {
		c.Ports = append(c.Ports, PortRange{Begin: p, End: p})
	}
	return c
}

// HostPorts are the distinct host ports a pod's containers ask for, in
// the order they first appear.
func HostPorts(pod *v1.Pod) []uint32 {
	var out []uint32
	seen := map[int32]bool{}
	for _, list := range [][]v1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, ct := range list {
			for _, p := range ct.Ports {
				if p.HostPort > 0 && !seen[p.HostPort] {
					seen[p.HostPort] = true
					out = append(out, uint32(p.HostPort))
				}
			}
		}
	}
	return out
}

// shortage says what of need does not fit in have ("" when it fits).
func shortage(need, have Resources) (resource string, needs, offers float64) {
	const eps = 1e-6
	switch {
	case need.CPUs > have.CPUs+eps:
		return "cpus", need.CPUs, have.CPUs
	case need.MemMiB > have.MemMiB+eps:
		return "mem", need.MemMiB, have.MemMiB
	case need.DiskMiB > have.DiskMiB+eps:
		return "disk", need.DiskMiB, have.DiskMiB
	}
	for _, p := range need.Ports {
		for port := p.Begin; port <= p.End; port++ {
			if !portIn(port, have.Ports) {
				return fmt.Sprintf("port %d", port), float64(port), 0
			}
		}
	}
	return "", 0, 0
}

func portIn(port uint32, ranges []PortRange) bool {
	for _, r := range ranges {
		if port >= r.Begin && port <= r.End {
			return true
		}
	}
	return false
}

func plus(a, b Resources) Resources {
	return Resources{CPUs: a.CPUs + b.CPUs, MemMiB: a.MemMiB + b.MemMiB, DiskMiB: a.DiskMiB + b.DiskMiB, Ports: a.Ports}
}

func formatAmount(resource string, v float64) string {
	v = math.Round(v*1000) / 1000
	switch resource {
	case "mem", "disk":
		return fmt.Sprintf("%g MiB", v)
	}
	return fmt.Sprintf("%g", v)
}
