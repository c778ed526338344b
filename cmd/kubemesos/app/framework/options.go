package framework

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/kubemesos/kubemesos/framework"
)

// Options are the flags of `kubemesos framework`.
type Options struct {
	MesosMaster     string
	Kubeconfig      string
	FrameworkName   string
	Roles           []string
	Principal       string
	SecretFile      string
	FailoverTimeout time.Duration
	Listen          string
	SchedulerName   string
	NodeTaint       string
	OfferHold       time.Duration
	DeclineRefuse   time.Duration
	ExecutorURI     string
	Scoring         string
	KubeletClientCA string
	StateDir        string
	LogLevel        string
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		MesosMaster:     "http://127.0.0.1:5050",
		FrameworkName:   framework.DefaultFrameworkName,
		Roles:           []string{framework.DefaultRole},
		FailoverTimeout: framework.DefaultFailoverTimeout,
		Listen:          "127.0.0.1:10250",
		SchedulerName:   "kubemesos",
		OfferHold:       framework.DefaultOfferHold,
		DeclineRefuse:   framework.DefaultDeclineRefuse,
		Scoring:         "BinPacking",
		LogLevel:        "info",
	}
}

// AddFlags binds the options to fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.MesosMaster, "mesos-master", o.MesosMaster, "URL of the Mesos master (http://host:5050)")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "kubeconfig of the Kubernetes cluster (default: $KUBECONFIG, ~/.kube/config, or in-cluster)")
	fs.StringVar(&o.FrameworkName, "framework-name", o.FrameworkName, "name of the Mesos framework")
	fs.StringSliceVar(&o.Roles, "roles", o.Roles, "Mesos roles to subscribe with; the first is a pod's role unless its kubemesos.io/role annotation names another")
	fs.StringVar(&o.Principal, "principal", o.Principal, "principal to authenticate to the Mesos master with")
	fs.StringVar(&o.SecretFile, "secret-file", o.SecretFile, "file holding the principal's secret")
	fs.DurationVar(&o.FailoverTimeout, "failover-timeout", o.FailoverTimeout, "how long the master keeps the framework's tasks while it is disconnected")
	fs.StringVar(&o.Listen, "listen", o.Listen, "host:port of the framework's own endpoint (executor download, kubelet API for logs, /metrics, /healthz); agents and the kube-apiserver must reach it")
	fs.StringVar(&o.SchedulerName, "scheduler-name", o.SchedulerName, "pods with this spec.schedulerName are scheduled onto Mesos")
	fs.StringVar(&o.NodeTaint, "node-taint", o.NodeTaint, "taint put on every Mesos node (key[=value]:Effect), for clusters that also have real nodes")
	fs.DurationVar(&o.OfferHold, "offer-hold", o.OfferHold, "how long an offer no pod claims is held before it is declined")
	fs.DurationVar(&o.DeclineRefuse, "decline-refuse", o.DeclineRefuse, "refuse filter of declined offers")
	fs.StringVar(&o.ExecutorURI, "executor-uri", o.ExecutorURI, "where agents fetch the kubemesos binary for the executor (default: this framework's endpoint)")
	fs.StringVar(&o.Scoring, "scoring", o.Scoring, "how pods are spread over agents: BinPacking or Spread")
	fs.StringVar(&o.KubeletClientCA, "kubelet-client-ca", o.KubeletClientCA, "CA file that verifies kube-apiserver's kubelet client certificate on the kubelet API (logs)")
	fs.StringVar(&o.LogLevel, "log-level", o.LogLevel, "debug, info, warn or error")
}

// Validate reports the first invalid option.
func (o *Options) Validate() error {
	u, err := url.Parse(o.MesosMaster)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--mesos-master %q: want http(s)://host:port", o.MesosMaster)
	}
	if _, _, err := net.SplitHostPort(o.Listen); err != nil {
		return fmt.Errorf("--listen %q: want host:port", o.Listen)
	}
	if o.Principal == "" && o.SecretFile != "" {
		return errors.New("--secret-file needs --principal")
	}
	if o.SecretFile != "" {
		if _, err := os.Stat(o.SecretFile); err != nil {
			return fmt.Errorf("--secret-file: %w", err)
		}
	}
	if o.Scoring != "BinPacking" && o.Scoring != "Spread" {
		return fmt.Errorf("--scoring %q: want BinPacking or Spread", o.Scoring)
	}
	if o.SchedulerName == "" {
		return errors.New("--scheduler-name must not be empty")
	}
	if len(o.Roles) == 0 {
		return errors.New("--roles needs at least one role")
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--failover-timeout", o.FailoverTimeout}, {"--offer-hold", o.OfferHold}, {"--decline-refuse", o.DeclineRefuse}} {
		if d.v < 0 {
			return fmt.Errorf("%s %v is negative", d.flag, d.v)
		}
	}
	if _, err := framework.ParseTaint(o.NodeTaint); err != nil {
		return fmt.Errorf("--node-taint: %w", err)
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
