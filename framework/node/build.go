package node

import (
	"fmt"
	"math"
	"net"
	"runtime"
	"strconv"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

// Labels and versions of kubemesos nodes.
const (
	LabelAgentID         = "kubemesos.io/agent-id"
	LabelAttributePrefix = "kubemesos.io/attribute-"
	// LabelManaged marks nodes this framework owns.
	LabelManaged = "kubemesos.io/managed"
	// KubeletVersion is reported in NodeInfo.
	KubeletVersion = "v1.37.2-kubemesos"
	// DefaultPods is a node's pods capacity.
	DefaultPods = 110
)

// Config is what every node of the framework shares.
type Config struct {
	// KubeletHost and KubeletPort are the framework's endpoint serving the
	// kubelet API (logs) for every node.
	KubeletHost string
	KubeletPort int32
	// Taint, if set, is put on every node.
	Taint *corev1.Taint
	// Version is the kubemesos version for containerRuntimeVersion.
	Version string
}

// Agent is what a node is built from.
type Agent struct {
	ID, Name, Hostname string
	Attributes         []mesos.Attribute
	Domain             *mesos.DomainInfo
	// Offered is what the agent offers now, Used what our pods hold there.
	Offered, Used mesosoffers.Resources
	// Total is the agent's total resources (zero if unknown): the node's
	// capacity, when it is more than its allocatable.
	Total mesosoffers.Resources
	// Ready is false while the agent is unreachable or we are disconnected.
	Ready bool
}

// Build returns the Node of agent a. Conditions carry now as their times;
// Writer.Due compares nodes ignoring them.
func Build(a Agent, cfg Config, now metav1.Time) *corev1.Node {
	labels := map[string]string{
		corev1.LabelHostname:   a.Name,
		corev1.LabelOSStable:   "linux",
		corev1.LabelArchStable: runtime.GOARCH,
		LabelAgentID:           LabelValue(a.ID),
		LabelManaged:           "true",
	}
	for _, attr := range a.Attributes {
		labels[LabelAttributePrefix+LabelName(attr.Name)] = LabelValue(attributeValue(attr))
	}
	if d := a.Domain.GetFaultDomain(); d != nil {
		labels[corev1.LabelTopologyRegion] = LabelValue(d.Region.Name)
		labels[corev1.LabelTopologyZone] = LabelValue(d.Zone.Name)
	}
	alloc := Add(a.Offered, a.Used)
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: a.Name, Labels: labels},
		Spec:       corev1.NodeSpec{ProviderID: "kubemesos://" + a.ID},
		Status: corev1.NodeStatus{
			Capacity:        resourceList(maxScalars(alloc, a.Total)),
			Allocatable:     resourceList(alloc),
			Phase:           corev1.NodeRunning,
			Conditions:      conditions(a.Ready, now),
			Addresses:       kubeletAddresses(cfg.KubeletHost),
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: cfg.KubeletPort}},
			NodeInfo: corev1.NodeSystemInfo{
				MachineID:               a.ID,
				KubeletVersion:          KubeletVersion,
				ContainerRuntimeVersion: "kubemesos://" + cfg.Version,
				OperatingSystem:         "linux",
				Architecture:            runtime.GOARCH,
			},
		},
	}
	if cfg.Taint != nil {
		n.Spec.Taints = []corev1.Taint{*cfg.Taint}
	}
	if !a.Ready {
		// The standard taint, so that the taint manager evicts the pods
		// after their tolerationSeconds (the writer stamps TimeAdded).
		n.Spec.Taints = append(n.Spec.Taints, UnreachableTaint)
	}
	return n
}

// UnreachableTaint is put on the node of an unreachable agent, and removed
// once it is reachable again.
var UnreachableTaint = corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}

// kubeletAddresses are a node's addresses: those of the framework's
// endpoint, which serves the node's kubelet API, and nothing else, since
// kube-apiserver tries a node's addresses in its preferred order (Hostname
// first by default) and an agent's hostname does not serve that API. The
// agent's hostname is in the kubernetes.io/hostname label.
func kubeletAddresses(host string) []corev1.NodeAddress {
	if net.ParseIP(host) != nil {
		return []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: host}}
	}
	return []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: host}, {Type: corev1.NodeInternalDNS, Address: host}}
}

// Add returns a+b for the scalars (ports are not node resources).
func Add(a, b mesosoffers.Resources) mesosoffers.Resources {
	return mesosoffers.Resources{CPUs: a.CPUs + b.CPUs, MemMiB: a.MemMiB + b.MemMiB, DiskMiB: a.DiskMiB + b.DiskMiB}
}

// maxScalars returns the larger of a and b for each scalar.
func maxScalars(a, b mesosoffers.Resources) mesosoffers.Resources {
	return mesosoffers.Resources{CPUs: max(a.CPUs, b.CPUs), MemMiB: max(a.MemMiB, b.MemMiB), DiskMiB: max(a.DiskMiB, b.DiskMiB)}
}

func resourceList(r mesosoffers.Resources) corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewMilliQuantity(int64(math.Round(r.CPUs*1000)), resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(int64(math.Round(r.MemMiB))<<20, resource.BinarySI),
		corev1.ResourceEphemeralStorage: *resource.NewQuantity(int64(math.Round(r.DiskMiB))<<20, resource.BinarySI),
		corev1.ResourcePods:             *resource.NewQuantity(DefaultPods, resource.DecimalSI),
	}
}

func conditions(ready bool, now metav1.Time) []corev1.NodeCondition {
	status, reason, msg := corev1.ConditionTrue, "KubemesosAgentReady", "the Mesos agent is registered and the framework is subscribed"
	if !ready {
		status, reason, msg = corev1.ConditionUnknown, "KubemesosAgentUnreachable", "the Mesos agent is unreachable or the framework is not subscribed"
	}
	out := []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}}
	for _, t := range []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure, corev1.NodeNetworkUnavailable} {
		out = append(out, corev1.NodeCondition{Type: t, Status: corev1.ConditionFalse, Reason: "KubemesosNo" + string(t), LastHeartbeatTime: now, LastTransitionTime: now})
	}
	return out
}

func attributeValue(a mesos.Attribute) string {
	switch {
	case a.Text != nil:
		return a.Text.Value
	case a.Scalar != nil:
		return strconv.FormatFloat(a.Scalar.Value, 'f', -1, 64)
	case a.Ranges != nil:
		s := ""
		for i, r := range a.Ranges.Range {
			if i > 0 {
				s += "_"
			}
			s += fmt.Sprintf("%d-%d", r.Begin, r.End)
		}
		return s
	case a.Set != nil:
		s := ""
		for i, v := range a.Set.Item {
			if i > 0 {
				s += "_"
			}
			s += v
		}
		return s
	}
	return ""
}
