package runner

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// changed rebuilds the pod's status and queues it for OnStatus if it
// differs from the last one. The caller holds p.mu.
func (p *Pod) changed() {
	p.status = p.buildStatus()
	p.pub.push(p.status, p.phase != "")
}

func (p *Pod) buildStatus() *corev1.PodStatus {
	ip := p.cfg.HostIP
	s := &corev1.PodStatus{
		Phase:     p.phase,
		HostIP:    ip,
		HostIPs:   []corev1.HostIP{{IP: ip}},
		PodIP:     ip,
		PodIPs:    []corev1.PodIP{{IP: ip}},
		StartTime: p.startTime.DeepCopy(),
		QOSClass:  qosClass(&p.cfg.Pod.Spec),
	}
	if s.Phase == "" {
		s.Phase = p.currentPhase()
	}
	if s.Phase == corev1.PodFailed {
		s.Reason, s.Message = p.failReason, p.failMessage
	}
	var incomplete, unready []string
	for _, c := range p.containers {
		cs := c.status()
		if c.init {
			s.InitContainerStatuses = append(s.InitContainerStatuses, cs)
			if (c.sidecar && !c.started) || (!c.sidecar && !cs.Ready) {
				incomplete = append(incomplete, c.spec.Name)
			}
		} else {
			s.ContainerStatuses = append(s.ContainerStatuses, cs)
		}
		if (!c.init || c.sidecar) && !cs.Ready {
			unready = append(unready, c.spec.Name)
		}
	}
	terminal := s.Phase == corev1.PodSucceeded || s.Phase == corev1.PodFailed
	p.setCondition(corev1.PodReadyToStartContainers, true, "", "") // Start prepared the sandbox
	if p.initialized {
		p.setCondition(corev1.PodInitialized, true, "", "")
	} else {
		p.setCondition(corev1.PodInitialized, false, "ContainersNotInitialized", listMessage("containers with incomplete status", incomplete))
	}
	switch {
	case terminal:
		p.setCondition(corev1.ContainersReady, false, "PodCompleted", "")
		p.setCondition(corev1.PodReady, false, "PodCompleted", "")
	case len(unready) > 0:
		msg := listMessage("containers with unready status", unready)
		p.setCondition(corev1.ContainersReady, false, "ContainersNotReady", msg)
		p.setCondition(corev1.PodReady, false, "ContainersNotReady", msg)
	default:
		p.setCondition(corev1.ContainersReady, true, "", "")
		if msg := p.unreadyGates(); msg != "" {
			p.setCondition(corev1.PodReady, false, ReasonReadinessGatesNotReady, msg)
		} else {
			p.setCondition(corev1.PodReady, true, "", "")
		}
	}
	p.setCondition(corev1.PodScheduled, true, "", "")
	types := []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.PodReady, corev1.ContainersReady, corev1.PodScheduled}
	if p.disruption != "" {
		p.setCondition(corev1.DisruptionTarget, true, "TerminationByKubelet", p.disruption)
		types = append(types, corev1.DisruptionTarget)
	}
	for _, t := range types {
		s.Conditions = append(s.Conditions, p.conditions[t])
	}
	return s
}

// ReasonReadinessGatesNotReady is the reason of a Ready condition held False
// by the pod's readinessGates.
const ReasonReadinessGatesNotReady = "ReadinessGatesNotReady"

// unreadyGates explains, with the kubelet's words, which of the pod's
// readinessGates are not satisfied, or is empty when all are. A gate is
// satisfied by a True condition of its type among the runner's own or in the
// status of the pod as the executor received it: the executor never sees
// later updates of the pod, so a gate that a controller sets after the
// launch stays unsatisfied and the pod is never Ready. The caller holds
// p.mu.
func (p *Pod) unreadyGates() string {
	var msgs []string
	for _, g := range p.cfg.Pod.Spec.ReadinessGates {
		c, found := p.conditions[g.ConditionType]
		if !found {
			for _, sc := range p.cfg.Pod.Status.Conditions {
				if sc.Type == g.ConditionType {
					c, found = sc, true
				}
			}
		}
		switch {
		case !found:
			msgs = append(msgs, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", g.ConditionType))
		case c.Status != corev1.ConditionTrue:
			msgs = append(msgs, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %v", g.ConditionType, c.Status))
		}
	}
	return strings.Join(msgs, ", ")
}

// currentPhase is the phase of a pod that has not ended: Pending until it
// is initialized and every regular container has started once.
func (p *Pod) currentPhase() corev1.PodPhase {
	if !p.initialized {
		return corev1.PodPending
	}
	for _, c := range p.containers {
		if !c.init && c.state.Waiting != nil && c.last.Terminated == nil {
			return corev1.PodPending
		}
	}
	return corev1.PodRunning
}

// setCondition records a condition, with a new transition time when its
// status changes.
func (p *Pod) setCondition(t corev1.PodConditionType, ok bool, reason, message string) {
	status := corev1.ConditionFalse
	if ok {
		status = corev1.ConditionTrue
	}
	old, found := p.conditions[t]
	c := corev1.PodCondition{Type: t, Status: status, Reason: reason, Message: message, LastTransitionTime: old.LastTransitionTime}
	if !found || old.Status != status {
		c.LastTransitionTime = metav1.NewTime(p.clock.Now())
	}
	p.conditions[t] = c
}

func listMessage(what string, names []string) string {
	return fmt.Sprintf("%s: [%s]", what, strings.Join(names, " "))
}

// status is the container's Kubernetes status. The caller holds p.mu.
func (c *ctr) status() corev1.ContainerStatus {
	started := c.started
	cs := corev1.ContainerStatus{
		Name:                 c.spec.Name,
		State:                *c.state.DeepCopy(),
		LastTerminationState: *c.last.DeepCopy(),
		Ready:                c.ready,
		RestartCount:         c.restarts,
		Image:                c.spec.Image,
		ContainerID:          c.id,
		Started:              &started,
	}
	if c.init && !c.sidecar && c.state.Terminated != nil && c.state.Terminated.ExitCode == 0 {
		cs.Ready = true // a completed init container
	}
	return cs
}

// qosClass is the pod's quality of service class, as the API server derives
// it: Guaranteed when every container's CPU and memory limits equal their
// requests, BestEffort when no container asks for any, Burstable otherwise.
func qosClass(spec *corev1.PodSpec) corev1.PodQOSClass {
	requested, guaranteed := false, true
	all := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	for _, c := range all {
		if len(c.Resources.Requests) > 0 || len(c.Resources.Limits) > 0 {
			requested = true
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			limit, ok := c.Resources.Limits[r]
			if !ok {
				guaranteed = false
				continue
			}
			if req, ok := c.Resources.Requests[r]; ok && req.Cmp(limit) != 0 {
				guaranteed = false
			}
		}
	}
	switch {
	case !requested:
		return corev1.PodQOSBestEffort
	case guaranteed:
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}
