package status

import (
	"fmt"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubemesos/kubemesos/executor/protocol"
)

// Reasons the framework writes into pod status.
const (
	ReasonTaskFailed      = "TaskFailed"
	ReasonTaskLost        = "TaskLost"
	ReasonBadStatus       = "KubemesosBadStatus"
	ConditionStatusError  = "kubemesos.io/StatusPayload"
	reasonTaskUnreachable = "TaskUnreachable"
)

// Result is what to do with one update.
type Result struct {
	// Status is the pod status to write; nil when nothing is to be written.
	Status *corev1.PodStatus
	// Delete: remove the pod object (grace 0), as a kubelet does once a
	// deleted pod's containers are gone.
	Delete bool
	// Stale: the payload is older than one applied already; write nothing.
	Stale bool
	// Terminal: the task ended.
	Terminal bool
	// Sequence is the payload's sequence (0 without payload); Directory and
	// Logs locate its log files.
	Sequence  uint64
	Directory string
	Logs      map[string][]string
	// PayloadErr is why a payload could not be read (the pod is marked).
	PayloadErr error
	// Version is the executor protocol version of the payload (nil without
	// one): executors of another minor version are normal during upgrades.
	Version *protocol.Version
}

// Input is the update and what the framework knows of the pod.
type Input struct {
	Update  mesos.TaskStatus
	Pod     *corev1.Pod
	LastSeq uint64
	HostIP  string
	Now     metav1.Time
}

// Map decides what to do with an update.
func Map(in Input) Result {
	st := in.Update
	pod := in.Pod
	terminal := IsTerminal(st.GetState())
	res := Result{Terminal: terminal}
	if pod.DeletionTimestamp != nil && terminal {
		res.Delete = true
		return res
	}
	if startingWithoutNews(st, pod) {
		return res
	}
	next := pod.Status.DeepCopy()
	if len(st.Data) > 0 {
		m, ps, err := protocol.DecodePodStatus(st.Data)
		res.Version = m.GetVersion()
		switch {
		case err != nil:
			res.PayloadErr = err
			setCondition(next, corev1.PodCondition{
				Type: ConditionStatusError, Status: corev1.ConditionTrue, Reason: ReasonBadStatus,
				Message: fmt.Sprintf("the executor's status payload could not be read: %v", err), LastTransitionTime: in.Now,
			})
		case m.GetSequence() != 0 && m.GetSequence() <= in.LastSeq:
			res.Stale = true
			return res
		default:
			res.Sequence = m.GetSequence()
			res.Directory = m.GetDirectory()
			res.Logs = map[string][]string{}
			for c, l := range m.GetLogs() {
				res.Logs[c] = l.GetPaths()
			}
			next = keepOwned(ps.DeepCopy(), &pod.Status)
		}
	}
	fillFromState(next, st, in)
	res.Status = next
	return res
}

// keepOwned keeps in an executor's status what others own or the API
// server refuses to change: conditions the executor does not report (such
// as PodScheduled), the QoS class, the nominated node and the start time.
// startingWithoutNews reports an update that has nothing to write: a task
// on its way up (TASK_STAGING or TASK_STARTING) with no payload from an
// executor, for a pod that is Pending already. Its host IP comes with the
// next update, and skipping it saves a pod-status write on every launch.
func startingWithoutNews(st mesos.TaskStatus, pod *corev1.Pod) bool {
	switch st.GetState() {
	case mesos.TASK_STAGING, mesos.TASK_STARTING:
		return len(st.Data) == 0 && pod.Status.Phase == corev1.PodPending
	}
	return false
}

func keepOwned(next, old *corev1.PodStatus) *corev1.PodStatus {
	for _, c := range old.Conditions {
		found := false
		for _, n := range next.Conditions {
			if n.Type == c.Type {
				found = true
				break
			}
		}
		if !found {
			next.Conditions = append(next.Conditions, c)
		}
	}
	if next.QOSClass == "" {
		next.QOSClass = old.QOSClass
	}
	if next.NominatedNodeName == "" {
		next.NominatedNodeName = old.NominatedNodeName
	}
	if next.StartTime == nil {
		next.StartTime = old.StartTime
	}
	return next
}

// fillFromState sets the phase and reasons the task's state implies, and the
// identity fields an executor may leave out.
func fillFromState(s *corev1.PodStatus, st mesos.TaskStatus, in Input) {
	if s.HostIP == "" && in.HostIP != "" {
		s.HostIP = in.HostIP
		s.HostIPs = []corev1.HostIP{{IP: in.HostIP}}
	}
	if s.PodIP == "" && in.HostIP != "" {
		s.PodIP = in.HostIP
		s.PodIPs = []corev1.PodIP{{IP: in.HostIP}}
	}
	msg := st.GetMessage()
	switch st.GetState() {
	case mesos.TASK_STAGING, mesos.TASK_STARTING:
		if s.Phase == "" {
			s.Phase = corev1.PodPending
		}
	case mesos.TASK_RUNNING:
		if s.Phase == "" || s.Phase == corev1.PodPending && len(st.Data) == 0 {
			s.Phase = corev1.PodRunning
		}
		if s.StartTime == nil {
			t := in.Now
			s.StartTime = &t
		}
		if len(st.Data) == 0 {
			// No container detail (a task without our executor's payload):
			// the pod counts as running and ready.
			setCondition(s, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: in.Now})
			setCondition(s, corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: in.Now})
		}
	case mesos.TASK_FINISHED:
		s.Phase = corev1.PodSucceeded
		notReady(s, in.Now, "PodCompleted")
	case mesos.TASK_FAILED, mesos.TASK_ERROR:
		s.Phase = corev1.PodFailed
		if s.Reason == "" {
			s.Reason = ReasonTaskFailed
		}
		if s.Message == "" {
			s.Message = describe(st, msg)
		}
		notReady(s, in.Now, "PodFailed")
	case mesos.TASK_KILLED, mesos.TASK_KILLING:
		if st.GetState() == mesos.TASK_KILLED {
			s.Phase = corev1.PodFailed
			if s.Reason == "" {
				s.Reason = "Killed"
				s.Message = describe(st, msg)
			}
			notReady(s, in.Now, "PodFailed")
		}
	case mesos.TASK_UNREACHABLE:
		setCondition(s, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: reasonTaskUnreachable, Message: describe(st, msg), LastTransitionTime: in.Now})
	case mesos.TASK_LOST, mesos.TASK_GONE, mesos.TASK_GONE_BY_OPERATOR, mesos.TASK_DROPPED, mesos.TASK_UNKNOWN:
		s.Phase = corev1.PodFailed
		s.Reason = ReasonTaskLost
		s.Message = describe(st, msg)
		notReady(s, in.Now, "PodFailed")
	}
}

func describe(st mesos.TaskStatus, msg string) string {
	out := "Mesos task " + st.GetState().String()
	if st.Reason != nil {
		out += " (" + st.Reason.String() + ")"
	}
	if msg != "" {
		out += ": " + msg
	}
	return out
}

func notReady(s *corev1.PodStatus, now metav1.Time, reason string) {
	for _, t := range []corev1.PodConditionType{corev1.PodReady, corev1.ContainersReady} {
		setCondition(s, corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, Reason: reason, LastTransitionTime: now})
	}
}

func setCondition(s *corev1.PodStatus, c corev1.PodCondition) {
	for i := range s.Conditions {
		if s.Conditions[i].Type == c.Type {
			if s.Conditions[i].Status == c.Status {
				c.LastTransitionTime = s.Conditions[i].LastTransitionTime
			}
			s.Conditions[i] = c
			return
		}
	}
	s.Conditions = append(s.Conditions, c)
}

// IsTerminal reports whether a task state is final.
func IsTerminal(s mesos.TaskState) bool {
	switch s {
	case mesos.TASK_FINISHED, mesos.TASK_FAILED, mesos.TASK_KILLED, mesos.TASK_ERROR,
		mesos.TASK_LOST, mesos.TASK_DROPPED, mesos.TASK_GONE, mesos.TASK_GONE_BY_OPERATOR:
		return true
	}
	return false
}
