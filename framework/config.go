package framework

import (
	"errors"
	"fmt"
	"net/url"
	"os/user"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubemesos/kubemesos/framework/offer"
	"github.com/kubemesos/kubemesos/framework/podtask"
)

// Defaults of Config.
const (
	DefaultFrameworkName   = "kubemesos"
	DefaultRole            = "*"
	DefaultFailoverTimeout = 168 * time.Hour
	DefaultSchedulerName   = corev1.DefaultSchedulerName
	// DefaultOfferHold: an offer no pod claims is declined after this.
	DefaultOfferHold = 2 * time.Second
	// DefaultOfferHoldWaiting: the same while pods wait in the offer's role.
	DefaultOfferHoldWaiting = offer.DefaultHoldWaiting
	// DefaultOfferHoldBacklog: the same while more pods wait than agents
	// offer to them.
	DefaultOfferHoldBacklog = offer.DefaultHoldBacklog
	// DefaultDeclineRefuse: the refuse filter of a decline.
	DefaultDeclineRefuse = 5 * time.Second
	// DefaultLaunchWindow: Launch calls for one agent within this window go
	// out in one ACCEPT.
	DefaultLaunchWindow = 10 * time.Millisecond
	DefaultNamespace    = "kube-system"
	DefaultKubeletPort  = 10250
	// DefaultNodeStatusInterval bounds node status writes per node.
	DefaultNodeStatusInterval = time.Second
	// DefaultLeaseInterval: node leases are renewed this often.
	DefaultLeaseInterval = 10 * time.Second
	// DefaultReconcileInterval: tasks are reconciled this often (and on
	// every subscription).
	DefaultReconcileInterval = 5 * time.Minute
	// FrameworkIDConfigMap holds the framework ID (key "frameworkID").
	FrameworkIDConfigMap = "kubemesos-framework"
)

// Config configures a Framework. Zero values take the defaults above.
type Config struct {
	// MesosURL is the master's base URL, e.g. http://127.0.0.1:5050.
	MesosURL      string
	FrameworkName string
	// Roles the framework subscribes with (default ["*"]); the first is a
	// pod's role unless its kubemesos.io/role annotation names another.
	Roles []string
	// Principal and Secret authenticate to the master (HTTP basic) if set.
	Principal, Secret string
	// User runs the tasks on agents (default: the framework's own user).
	User            string
	FailoverTimeout time.Duration
	// SchedulerName: pods with this spec.schedulerName are ours.
	SchedulerName string
	// NodeTaint, if set, is put on every node ("key=value:Effect" or
	// "key:Effect").
	NodeTaint string
	// OfferHold, OfferHoldWaiting, OfferHoldBacklog and DeclineRefuse: see
	// the defaults.
	OfferHold, OfferHoldWaiting, OfferHoldBacklog, DeclineRefuse time.Duration
	LaunchWindow                                                 time.Duration
	// ExecutorURI is where agents fetch the kubemesos binary; the
	// ExecutorCommand starts it (default "./kubemesos executor").
	ExecutorURI, ExecutorCommand string
	// KubeletHost and KubeletPort are the framework's endpoint for the
	// kubelet API, written into every node.
	KubeletHost string
	KubeletPort int32
	// Namespace holds the framework ID ConfigMap (default kube-system).
	Namespace string
	// Version is kubemesos' version, for nodes.
	Version string
	// NodeStatusInterval and LeaseInterval: see the defaults.
	NodeStatusInterval, LeaseInterval time.Duration
	// ReconcileInterval: see the default.
	ReconcileInterval time.Duration
	// IgnoreOperatorAPI: do not follow the master's agents through its
	// operator API. Agents are then known from offers only: one that
	// registers while offers are suppressed has no node until a pod waits,
	// and a pod whose host port no agent has waits instead of failing.
	IgnoreOperatorAPI bool
}

// Validate reports why cfg cannot be used, if it cannot.
func (cfg Config) Validate() error {
	_, err := cfg.withDefaults()
	return err
}

// withDefaults returns cfg with defaults filled in, or why it is invalid.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.MesosURL == "" {
		return cfg, errors.New("framework: the Mesos master URL is required")
	}
	u, err := url.Parse(cfg.MesosURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, fmt.Errorf("framework: Mesos master URL %q: want http(s)://host:port", cfg.MesosURL)
	}
	cfg.MesosURL = strings.TrimSuffix(cfg.MesosURL, "/")
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	defd := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.FrameworkName, DefaultFrameworkName)
	def(&cfg.SchedulerName, DefaultSchedulerName)
	def(&cfg.Namespace, DefaultNamespace)
	def(&cfg.ExecutorCommand, podtask.DefaultExecutorCommand)
	def(&cfg.KubeletHost, "127.0.0.1")
	def(&cfg.User, currentUser())
	def(&cfg.Version, "dev")
	defd(&cfg.FailoverTimeout, DefaultFailoverTimeout)
	defd(&cfg.OfferHold, DefaultOfferHold)
	defd(&cfg.OfferHoldWaiting, DefaultOfferHoldWaiting)
	defd(&cfg.OfferHoldBacklog, DefaultOfferHoldBacklog)
	defd(&cfg.DeclineRefuse, DefaultDeclineRefuse)
	defd(&cfg.LaunchWindow, DefaultLaunchWindow)
	defd(&cfg.NodeStatusInterval, DefaultNodeStatusInterval)
	defd(&cfg.LeaseInterval, DefaultLeaseInterval)
	defd(&cfg.ReconcileInterval, DefaultReconcileInterval)
	if cfg.KubeletPort == 0 {
		cfg.KubeletPort = DefaultKubeletPort
	}
	if len(cfg.Roles) == 0 {
		cfg.Roles = []string{DefaultRole}
	}
	seen := map[string]bool{}
	for _, r := range cfg.Roles {
		if r == "" || seen[r] || strings.ContainsAny(r, " \t\n/") && r != "*" {
			return cfg, fmt.Errorf("framework: role %q is empty, repeated or invalid", r)
		}
		seen[r] = true
	}
	for name, d := range map[string]time.Duration{"offer hold": cfg.OfferHold, "offer hold while pods wait": cfg.OfferHoldWaiting, "offer hold for a backlog": cfg.OfferHoldBacklog, "decline refuse": cfg.DeclineRefuse, "failover timeout": cfg.FailoverTimeout, "launch window": cfg.LaunchWindow, "reconcile interval": cfg.ReconcileInterval} {
		if d < 0 {
			return cfg, fmt.Errorf("framework: %s %v is negative", name, d)
		}
	}
	if _, err := ParseTaint(cfg.NodeTaint); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "root"
}

// ParseTaint parses "key=value:Effect" or "key:Effect" ("" is no taint).
func ParseTaint(s string) (*corev1.Taint, error) {
	if s == "" {
		return nil, nil
	}
	kv, effect, ok := strings.Cut(s, ":")
	if !ok {
		return nil, fmt.Errorf("framework: node taint %q: want key[=value]:Effect", s)
	}
	switch corev1.TaintEffect(effect) {
	case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
	default:
		return nil, fmt.Errorf("framework: node taint %q: effect must be NoSchedule, PreferNoSchedule or NoExecute", s)
	}
	key, value, _ := strings.Cut(kv, "=")
	if key == "" {
		return nil, fmt.Errorf("framework: node taint %q has no key", s)
	}
	return &corev1.Taint{Key: key, Value: value, Effect: corev1.TaintEffect(effect)}, nil
}
