package framework

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kubemesos/kubemesos/framework"
)

// Options are the flags of `kubemesos framework`: the framework's own
// (framework.Config.AddFlags) and those of the process around it.
type Options struct {
	Framework       framework.Config
	Kubeconfig      string
	SecretFile      string
	Listen          string
	Scoring         string
	KubeletClientCA string
	LogLevel        string
	// KubeAPIQPS and KubeAPIBurst limit the framework's and its
	// kube-scheduler's requests to the Kubernetes API each.
	KubeAPIQPS     float32
	KubeAPIBurst   int
	LeaderElection LeaderElection
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		Framework: framework.Config{
			MesosURL:         "http://127.0.0.1:5050",
			FrameworkName:    framework.DefaultFrameworkName,
			Roles:            []string{framework.DefaultRole},
			FailoverTimeout:  framework.DefaultFailoverTimeout,
			SchedulerName:    "kubemesos",
			OfferHold:        framework.DefaultOfferHold,
			OfferHoldWaiting: framework.DefaultOfferHoldWaiting,
			OfferHoldBacklog: framework.DefaultOfferHoldBacklog,
			DeclineRefuse:    framework.DefaultDeclineRefuse,
			LaunchWindow:     framework.DefaultLaunchWindow,
			Namespace:        framework.DefaultNamespace,
		},
		Listen:       "127.0.0.1:10250",
		Scoring:      "BinPacking",
		LogLevel:     "info",
		KubeAPIQPS:   500,
		KubeAPIBurst: 1000,
		LeaderElection: LeaderElection{
			Enabled: true, Namespace: framework.DefaultNamespace, Name: DefaultLeaseName,
			LeaseDuration: DefaultLeaseDuration, RenewDeadline: DefaultRenewDeadline, RetryPeriod: DefaultRetryPeriod,
		},
	}
}

// AddFlags binds the options to fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	// The command's default scheduler name differs from the framework's
	// (default-scheduler, which `kubemesos up` uses).
	schedulerName := o.Framework.SchedulerName
	o.Framework.AddFlags(fs)
	if f := fs.Lookup("scheduler-name"); f != nil {
		_ = f.Value.Set(schedulerName)
		f.DefValue = schedulerName
	}
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "kubeconfig of the Kubernetes cluster (default: $KUBECONFIG or ~/.kube/config)")
	fs.StringVar(&o.SecretFile, "secret-file", o.SecretFile, "file holding the --principal's secret")
	fs.StringVar(&o.Listen, "listen", o.Listen, "host:port of the framework's own endpoint (executor download, kubelet API for logs, /metrics, /healthz); agents and the kube-apiserver must reach it")
	fs.StringVar(&o.Scoring, "scoring", o.Scoring, "how pods are spread over agents: BinPacking or Spread")
	fs.StringVar(&o.KubeletClientCA, "kubelet-client-ca", o.KubeletClientCA, "CA file that verifies kube-apiserver's kubelet client certificate on the kubelet API (logs)")
	fs.StringVar(&o.LogLevel, "log-level", o.LogLevel, "debug, info, warn or error")
	fs.Float32Var(&o.KubeAPIQPS, "kube-api-qps", o.KubeAPIQPS, "requests per second to the Kubernetes API, for the framework (it writes the status of every pod and node) and for its kube-scheduler each")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", o.KubeAPIBurst, "burst of requests to the Kubernetes API above --kube-api-qps")
	le := &o.LeaderElection
	fs.BoolVar(&le.Enabled, "leader-elect", le.Enabled, "run as one of several replicas: only the holder of the leader Lease subscribes and schedules")
	fs.StringVar(&le.Namespace, "leader-elect-lease-namespace", le.Namespace, "namespace of the leader Lease")
	fs.StringVar(&le.Name, "leader-elect-lease-name", le.Name, "name of the leader Lease")
	fs.DurationVar(&le.LeaseDuration, "leader-elect-lease-duration", le.LeaseDuration, "how long a standby waits after the leader's last renewal before it takes over")
	fs.DurationVar(&le.RenewDeadline, "leader-elect-renew-deadline", le.RenewDeadline, "how long the leader retries renewing before it gives up leading")
	fs.DurationVar(&le.RetryPeriod, "leader-elect-retry-period", le.RetryPeriod, "how often candidates try to acquire or renew the Lease")
}

// Validate reports the first invalid option.
func (o *Options) Validate() error {
	if err := o.Framework.Validate(); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(o.Listen); err != nil {
		return fmt.Errorf("--listen %q: want host:port", o.Listen)
	}
	if o.Framework.Principal == "" && o.SecretFile != "" {
		return errors.New("--secret-file needs --principal")
	}
	if o.SecretFile != "" {
		if _, err := os.Stat(o.SecretFile); err != nil {
			return fmt.Errorf("--secret-file: %w", err)
		}
	}
	if o.KubeAPIQPS <= 0 || o.KubeAPIBurst <= 0 {
		return fmt.Errorf("--kube-api-qps %v and --kube-api-burst %d must be positive", o.KubeAPIQPS, o.KubeAPIBurst)
	}
	if le := o.LeaderElection; le.Enabled && (le.Name == "" || le.Namespace == "" || le.RetryPeriod <= 0 || le.RenewDeadline <= le.RetryPeriod || le.LeaseDuration <= le.RenewDeadline) {
		return errors.New("--leader-elect: want a lease name and namespace, and lease duration > renew deadline > retry period > 0")
	}
	if o.Scoring != "BinPacking" && o.Scoring != "Spread" {
		return fmt.Errorf("--scoring %q: want BinPacking or Spread", o.Scoring)
	}
	return nil
}

// secret reads the principal's secret.
func (o *Options) secret() (string, error) {
	if o.SecretFile == "" {
		return "", nil
	}
	data, err := os.ReadFile(o.SecretFile)
	if err != nil {
		return "", fmt.Errorf("--secret-file: %w", err)
	}
	return strings.TrimSpace(string(data)), nil
}
