package executor

import (
	"fmt"
	"strings"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	corev1 "k8s.io/api/core/v1"
)

// progressState is the Mesos state of a pod that has not ended:
// TASK_RUNNING once every init container has completed (sidecar init
// containers: started) and every regular container has started, and from
// then on; TASK_STARTING before.
func progressState(pod *corev1.Pod, st *corev1.PodStatus, wasRunning bool) mesos.TaskState {
	if wasRunning || allStarted(pod, st) {
		return mesos.TASK_RUNNING
	}
	return mesos.TASK_STARTING
}

// allStarted reports whether st shows every init container done and every
// regular container started (running, or already terminated).
func allStarted(pod *corev1.Pod, st *corev1.PodStatus) bool {
	if st == nil {
		return false
	}
	inits := byName(st.InitContainerStatuses)
	for _, c := range pod.Spec.InitContainers {
		cs, ok := inits[c.Name]
		if !ok {
			return false
		}
		sidecar := c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		switch {
		case sidecar && hasStarted(cs):
		case cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0:
		default:
			return false
		}
	}
	regular := byName(st.ContainerStatuses)
	for _, c := range pod.Spec.Containers {
		cs, ok := regular[c.Name]
		if !ok || !hasStarted(cs) {
			return false
		}
	}
	return len(pod.Spec.Containers) > 0
}

func hasStarted(cs corev1.ContainerStatus) bool {
	return cs.State.Running != nil || cs.State.Terminated != nil || cs.RestartCount > 0
}

func byName(statuses []corev1.ContainerStatus) map[string]corev1.ContainerStatus {
	m := make(map[string]corev1.ContainerStatus, len(statuses))
	for _, cs := range statuses {
		m[cs.Name] = cs
	}
	return m
}

// outcome is how a task ended.
type outcome struct {
	state   mesos.TaskState
	reason  *mesos.TaskStatus_Reason
	message string
}

// finalOutcome maps a pod that has ended (no container runs or will run
// again) to its terminal Mesos state: TASK_KILLED after a kill, TASK_FINISHED
// when its phase is Succeeded, TASK_FAILED with the reason otherwise.
func finalOutcome(st *corev1.PodStatus, killed bool) outcome {
	switch {
	case killed:
		return outcome{state: mesos.TASK_KILLED, message: "pod killed"}
	case st != nil && st.Phase == corev1.PodSucceeded:
		return outcome{state: mesos.TASK_FINISHED, message: "pod succeeded"}
	}
	reason, msg := failure(st)
	return outcome{state: mesos.TASK_FAILED, reason: reason.Enum(), message: msg}
}

// failure explains a failed pod: the pod's own reason and message
// (DeadlineExceeded, Evicted…) if it has one, else the first container,
// init containers first, that failed or could not start.
func failure(st *corev1.PodStatus) (mesos.TaskStatus_Reason, string) {
	if st == nil {
		return mesos.REASON_COMMAND_EXECUTOR_FAILED, "pod ended with no status"
	}
	if st.Reason != "" || st.Message != "" {
		reason := mesos.REASON_COMMAND_EXECUTOR_FAILED
		if st.Reason == "DeadlineExceeded" {
			reason = mesos.REASON_MAX_COMPLETION_TIME_REACHED
		}
		return reason, "pod failed: " + joinReason(st.Reason, st.Message)
	}
	for _, group := range [][]corev1.ContainerStatus{st.InitContainerStatuses, st.ContainerStatuses} {
		for _, cs := range group {
			if term := cs.State.Terminated; term != nil && term.ExitCode != 0 {
				return containerFailure(cs.Name, term)
			}
			if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "PodInitializing" && w.Reason != "ContainerCreating" {
				if term := cs.LastTerminationState.Terminated; term != nil && term.ExitCode != 0 {
					return containerFailure(cs.Name, term)
				}
				return mesos.REASON_CONTAINER_LAUNCH_FAILED, fmt.Sprintf("container %q could not start: %s", cs.Name, joinReason(w.Reason, w.Message))
			}
		}
	}
	return mesos.REASON_COMMAND_EXECUTOR_FAILED, fmt.Sprintf("pod ended in phase %s", phaseOrUnknown(st.Phase))
}

func containerFailure(name string, term *corev1.ContainerStateTerminated) (mesos.TaskStatus_Reason, string) {
	reason := mesos.REASON_COMMAND_EXECUTOR_FAILED
	if term.Reason == "OOMKilled" {
		reason = mesos.REASON_CONTAINER_LIMITATION_MEMORY
	}
	msg := fmt.Sprintf("container %q exited with code %d", name, term.ExitCode)
	if term.Signal != 0 {
		msg += fmt.Sprintf(" (signal %d)", term.Signal)
	}
	if detail := joinReason(term.Reason, term.Message); detail != "" {
		msg += ": " + detail
	}
	return reason, msg
}

func joinReason(reason, message string) string {
	return strings.Trim(reason+": "+message, ": ")
}

func phaseOrUnknown(p corev1.PodPhase) corev1.PodPhase {
	if p == "" {
		return corev1.PodUnknown
	}
	return p
}
