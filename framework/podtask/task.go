package podtask

import (
	"fmt"
	"strings"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// taskPrefix starts every task ID of ours.
const taskPrefix = "pod-"

// Labels on every task, naming its pod.
const (
	LabelNamespace = "kubemesos.io/namespace"
	LabelName      = "kubemesos.io/name"
	LabelUID       = "kubemesos.io/uid"
)

// TaskID is the task of the pod with uid: the same on every framework
// replica and after every restart.
func TaskID(uid types.UID) string { return taskPrefix + string(uid) }

// PodUID is the pod UID a task ID of ours names (ok false for other tasks).
func PodUID(taskID string) (types.UID, bool) {
	uid, ok := strings.CutPrefix(taskID, taskPrefix)
	if !ok || uid == "" {
		return "", false
	}
	return types.UID(uid), true
}

// ExecutorConfig says how agents get and start the kubemesos executor.
type ExecutorConfig struct {
	// ID is the executor ID (offer.ExecutorID).
	ID string
	// URI is fetched into the sandbox as an executable named "kubemesos".
	URI string
	// Command starts it (default "./kubemesos executor").
	Command string
}

// DefaultExecutorCommand starts the fetched binary as the executor.
const DefaultExecutorCommand = "./kubemesos executor"

// Executor is the ExecutorInfo of the kubemesos executor with its resources
// (carved from an offer, so they carry its allocation). The same agent must
// always see the same ExecutorInfo: callers keep the first one per agent.
func Executor(cfg ExecutorConfig, frameworkID string, resources []mesos.Resource) mesos.ExecutorInfo {
	cmd := cfg.Command
	if cmd == "" {
		cmd = DefaultExecutorCommand
	}
	shell := true
	executable := true
	extract := false
	name := "kubemesos"
	out := "kubemesos"
	info := mesos.ExecutorInfo{
		Type:        mesos.ExecutorInfo_CUSTOM,
		ExecutorID:  mesos.ExecutorID{Value: cfg.ID},
		FrameworkID: &mesos.FrameworkID{Value: frameworkID},
		Name:        &name,
		Command: &mesos.CommandInfo{
			Shell: &shell,
			Value: &cmd,
		},
		Resources: resources,
	}
	if cfg.URI != "" {
		info.Command.URIs = []mesos.CommandInfo_URI{{Value: cfg.URI, Executable: &executable, Extract: &extract, OutputFile: &out}}
	}
	return info
}

// Task is the TaskInfo of pod on agentID with its resources, executor and
// payload (TaskInfo.data).
func Task(pod *corev1.Pod, agentID string, resources []mesos.Resource, executor mesos.ExecutorInfo, data []byte) mesos.TaskInfo {
	t := mesos.TaskInfo{
		Name:      pod.Namespace + "/" + pod.Name,
		TaskID:    mesos.TaskID{Value: TaskID(pod.UID)},
		AgentID:   mesos.AgentID{Value: agentID},
		Resources: resources,
		Executor:  &executor,
		Data:      data,
		Labels: &mesos.Labels{Labels: []mesos.Label{
			label(LabelNamespace, pod.Namespace),
			label(LabelName, pod.Name),
			label(LabelUID, string(pod.UID)),
		}},
	}
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		t.KillPolicy = KillPolicy(*g)
	}
	return t
}

// KillPolicy is a kill policy with a grace period of seconds.
func KillPolicy(seconds int64) *mesos.KillPolicy {
	if seconds < 0 {
		seconds = 0
	}
	ns := (time.Duration(seconds) * time.Second).Nanoseconds()
	return &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: ns}}
}

func label(k, v string) mesos.Label {
	v2 := v
	return mesos.Label{Key: k, Value: &v2}
}

// Check refuses a pod the process runtime cannot run, with the reason.
func Check(pod *corev1.Pod) error {
	for _, v := range pod.Spec.Volumes {
		s := v.VolumeSource
		switch {
		case s.EmptyDir != nil, s.ConfigMap != nil, s.Secret != nil, s.DownwardAPI != nil, s.Projected != nil, s.HostPath != nil:
		default:
			return fmt.Errorf("volume %q: %s volumes are not supported by the kubemesos process runtime (supported: emptyDir, configMap, secret, downwardAPI, projected, hostPath)", v.Name, volumeType(s))
		}
	}
	all := append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...)
	for _, c := range all {
		if len(c.Command) == 0 && len(c.Args) == 0 {
			return fmt.Errorf("container %q has neither command nor args: the kubemesos process runtime runs commands, not images (image %q is not used), so every container must say what to run", c.Name, c.Image)
		}
	}
	return nil
}

func volumeType(s corev1.VolumeSource) string {
	switch {
	case s.PersistentVolumeClaim != nil:
		return "persistentVolumeClaim"
	case s.Ephemeral != nil:
		return "ephemeral"
	case s.CSI != nil:
		return "csi"
	case s.NFS != nil:
		return "nfs"
	case s.Image != nil:
		return "image"
	}
	return "this type of"
}
