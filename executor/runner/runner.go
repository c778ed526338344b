// Package runner runs one pod as a kubelet would, with each container a
// process supervised by the executor: init and sidecar containers, restart
// policies with back-off, probes (exec, httpGet, tcpSocket, gRPC), lifecycle
// hooks, graceful termination, termination messages, active deadlines,
// eviction for emptyDir sizeLimit, the securityContext's users and groups,
// resource limits and CRI-format logs. It reports the pod's Kubernetes status
// (readiness gates included) on every change.
package runner

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubemesos/kubemesos/executor/env"
	"github.com/kubemesos/kubemesos/executor/protocol"
	"github.com/kubemesos/kubemesos/executor/volume"
	"github.com/kubemesos/kubemesos/internal/cgroup"
	"github.com/kubemesos/kubemesos/internal/clock"
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
	Logger   *slog.Logger

	// Env computes a container's environment; nil means env.Container.
	Env func(pod *corev1.Pod, c *corev1.Container, task *protocol.PodTask) ([]string, error)
	// Expand expands $(VAR) references; nil means env.Expand.
	Expand func(s string, env []string) string
	// Volumes materializes the pod's volumes under its directory; nil means
	// volume.Materialize. It is only called for a pod with volumes.
	Volumes func(pod *corev1.Pod, task *protocol.PodTask, dir string) (Volumes, error)
	// Cgroups enforces containers' memory limits; nil runs them without
	// limits (see DetectCgroups, which the executor calls once).
	Cgroups *cgroup.Controller
	// Timing sets the back-off and the length of the spec's seconds; zero
	// fields take the kubelet's values.
	Timing Timing
	// Clock tells the time and runs timers; nil means the system clock.
	Clock clock.Clock
}

// Volumes is a pod's materialized volumes, as volume.Set provides them.
type Volumes interface {
	Mounts(c *corev1.Container, env []string) ([]volume.Mount, error)
	Close() error
}

// Timing holds the durations a kubelet hard-codes, to be shortened in tests.
type Timing struct {
	// Second is how long one second of the pod spec lasts (probe timing,
	// grace periods, activeDeadlineSeconds, sleep hooks); default 1s.
	Second time.Duration
	// BackOffInitial is the delay before the second restart of a crashing
	// container (the first is immediate), doubled on each restart up to
	// BackOffMax; defaults 10s and 5m.
	BackOffInitial, BackOffMax time.Duration
	// BackOffReset is how long a container must run for its back-off to
	// start again from the beginning; default 10m.
	BackOffReset time.Duration
	// VolumeCheck is how often the disk usage of emptyDir volumes with a
	// sizeLimit is measured (the kubelet's eviction manager's period);
	// default 10s.
	VolumeCheck time.Duration
}

func (t Timing) withDefaults() Timing {
	if t.Second <= 0 {
		t.Second = time.Second
	}
	if t.BackOffInitial <= 0 {
		t.BackOffInitial = 10 * time.Second
	}
	if t.BackOffMax <= 0 {
		t.BackOffMax = 5 * time.Minute
	}
	if t.BackOffReset <= 0 {
		t.BackOffReset = 10 * time.Minute
	}
	if t.VolumeCheck <= 0 {
		t.VolumeCheck = 10 * time.Second
	}
	return t
}

// Log size defaults, used when the task's settings leave them zero.
const (
	DefaultLogMaxBytes = 10 << 20
	DefaultLogMaxFiles = 5
)

// Pod is a running pod.
type Pod struct {
	cfg    Config
	log    *slog.Logger
	clock  clock.Clock
	timing Timing
	pub    *publisher
	vols   Volumes // nil for a pod without volumes
	euid   int     // the executor's user: only root can change users

	httpOnce sync.Once
	http     *http.Client

	killed chan struct{} // closed by Kill
	done   chan struct{}

	mu          sync.Mutex
	containers  []*ctr // init containers, then regular ones, in spec order
	startTime   metav1.Time
	initialized bool
	killAt      time.Time
	regrace     chan struct{} // closed and replaced when a Kill shortens killAt
	failReason  string
	failMessage string
	disruption  string          // why the runner evicted the pod, if it did
	phase       corev1.PodPhase // set once terminal
	conditions  map[corev1.PodConditionType]corev1.PodCondition
	status      *corev1.PodStatus
}

// Start prepares the pod (volumes, directories) and starts its containers in
// the background. An error means the pod could not be prepared at all; its
// reason is for the pod's Failed status.
func Start(cfg Config) (*Pod, error) {
	if cfg.Pod == nil {
		return nil, fmt.Errorf("runner: no pod")
	}
	if cfg.Dir == "" {
		return nil, fmt.Errorf("runner: pod %s/%s has no directory", cfg.Pod.Namespace, cfg.Pod.Name)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Env == nil {
		cfg.Env = env.Container
	}
	if cfg.Expand == nil {
		cfg.Expand = env.Expand
	}
	if cfg.Volumes == nil {
		cfg.Volumes = func(pod *corev1.Pod, task *protocol.PodTask, dir string) (Volumes, error) {
			set, err := volume.Materialize(pod, task, dir)
			if err != nil {
				return nil, err
			}
			return set, nil
		}
	}
	if cfg.Task == nil {
		cfg.Task = &protocol.PodTask{}
	}
	if cfg.HostIP == "" {
		cfg.HostIP = "127.0.0.1"
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "logs"), 0o755); err != nil {
		return nil, fmt.Errorf("runner: create the pod's directory: %w", err)
	}
	var vols Volumes
	if len(cfg.Pod.Spec.Volumes) > 0 {
		v, err := cfg.Volumes(cfg.Pod, cfg.Task, cfg.Dir)
		if err != nil {
			return nil, fmt.Errorf("volumes of pod %s/%s: %w", cfg.Pod.Namespace, cfg.Pod.Name, err)
		}
		vols = v
	}
	p := &Pod{
		vols:       vols,
		euid:       os.Geteuid(),
		cfg:        cfg,
		log:        cfg.Logger.With("pod", cfg.Pod.Namespace+"/"+cfg.Pod.Name),
		clock:      cfg.Clock,
		timing:     cfg.Timing.withDefaults(),
		killed:     make(chan struct{}),
		regrace:    make(chan struct{}),
		done:       make(chan struct{}),
		conditions: map[corev1.PodConditionType]corev1.PodCondition{},
	}
	p.startTime = metav1.NewTime(p.clock.Now())
	p.pub = newPublisher(cfg.OnStatus, p.done)
	for i := range cfg.Pod.Spec.InitContainers {
		p.containers = append(p.containers, newCtr(p, &cfg.Pod.Spec.InitContainers[i], true))
	}
	for i := range cfg.Pod.Spec.Containers {
		p.containers = append(p.containers, newCtr(p, &cfg.Pod.Spec.Containers[i], false))
	}
	p.mu.Lock()
	p.changed()
	p.mu.Unlock()
	go p.run()
	return p, nil
}

// Kill terminates the pod in a kubelet's order: preStop hooks, SIGTERM, then
// SIGKILL to each container's process group after grace. A negative grace
// means the pod's terminationGracePeriodSeconds.
func (p *Pod) Kill(grace time.Duration) {
	p.kill(grace, "Killed", "the pod was killed")
}

// Done is closed once no container runs and none will be restarted, after
// the pod's final status was delivered to OnStatus.
func (p *Pod) Done() <-chan struct{} { return p.done }

// Status is the pod's latest status.
func (p *Pod) Status() *corev1.PodStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status.DeepCopy()
}

// DetectCgroups finds a writable memory cgroup controller under root
// (default /sys/fs/cgroup) for Config.Cgroups, or logs why there is none
// and returns nil: containers then run without limits. Call it once.
func DetectCgroups(root string, log *slog.Logger) *cgroup.Controller {
	c, err := cgroup.Detect(root)
	if err != nil && log != nil {
		log.Warn("container resource limits are not enforced", "err", err)
	}
	return c
}

// specSeconds converts a spec's seconds to a duration.
func (p *Pod) specSeconds(s int64) time.Duration { return time.Duration(s) * p.timing.Second }

// podGrace is the pod's terminationGracePeriodSeconds (default 30).
func (p *Pod) podGrace() time.Duration {
	if g := p.cfg.Pod.Spec.TerminationGracePeriodSeconds; g != nil {
		return p.specSeconds(*g)
	}
	return p.specSeconds(corev1.DefaultTerminationGracePeriodSeconds)
}
