package executor

import (
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubemesos/kubemesos/executor/protocol"
	"github.com/kubemesos/kubemesos/executor/runner"
)

// Pod is what the daemon needs of a running pod; *runner.Pod has it.
type Pod interface {
	Kill(grace time.Duration)
	Done() <-chan struct{}
	Status() *corev1.PodStatus
}

// PodStarter starts a pod; runner.Start in production, a fake in unit
// tests.
type PodStarter func(runner.Config) (Pod, error)

// startWithRunner is the production PodStarter.
func startWithRunner(cfg runner.Config) (Pod, error) {
	p, err := runner.Start(cfg)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// task is one Mesos task: a pod, from LAUNCH until its terminal update is
// acknowledged.
type task struct {
	info mesos.TaskInfo
	pod  *corev1.Pod // nil for a task whose payload was invalid
	spec *protocol.PodTask
	dir  string

	handle   Pod // set once Start returned
	starting bool
	live     bool // its processes may run: from LAUNCH until Done
	running  bool // TASK_RUNNING was sent
	terminal bool // a terminal update was sent
	acked    bool // the agent acknowledged one of its updates

	kill      bool          // a kill was asked for
	killGrace time.Duration // negative: the pod's terminationGracePeriodSeconds

	seq        uint64
	status     *corev1.PodStatus
	lastSent   []byte // the encoded pod status of the last update
	lastState  mesos.TaskState
	haveUpdate bool
}

func (t *task) id() string { return t.info.TaskID.Value }

// podName is namespace/name for logs.
func (t *task) podName() string {
	if t.pod == nil {
		return ""
	}
	return t.pod.Namespace + "/" + t.pod.Name
}
