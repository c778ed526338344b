package framework

import (
	"github.com/spf13/pflag"
)

// AddFlags binds the framework's flags to cfg, with the defaults shown in
// help. The command reads --secret-file itself into cfg.Secret, and sets
// KubeletHost/KubeletPort and ExecutorURI from its --listen address when
// they are not given.
func (cfg *Config) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&cfg.MesosURL, "mesos-master", cfg.MesosURL, "the Mesos master's URL, e.g. http://127.0.0.1:5050")
	fs.StringVar(&cfg.FrameworkName, "framework-name", DefaultFrameworkName, "the Mesos framework name")
	fs.StringSliceVar(&cfg.Roles, "roles", []string{DefaultRole}, "Mesos roles to subscribe with; the first is a pod's role unless its kubemesos.io/role annotation names another")
	fs.StringVar(&cfg.Principal, "principal", cfg.Principal, "Mesos principal to authenticate as (HTTP basic)")
	fs.StringVar(&cfg.User, "user", cfg.User, "user tasks run as on agents (default: the framework's own user)")
	fs.DurationVar(&cfg.FailoverTimeout, "failover-timeout", DefaultFailoverTimeout, "how long the master keeps the framework's tasks while it is away")
	fs.StringVar(&cfg.SchedulerName, "scheduler-name", DefaultSchedulerName, "pods with this spec.schedulerName are run on Mesos")
	fs.StringVar(&cfg.NodeTaint, "node-taint", cfg.NodeTaint, "taint put on every kubemesos node, key[=value]:Effect (for clusters that also have real nodes)")
	fs.DurationVar(&cfg.OfferHold, "offer-hold", DefaultOfferHold, "how long an offer no pod claims is held before it is declined")
	fs.DurationVar(&cfg.OfferHoldWaiting, "offer-hold-waiting", DefaultOfferHoldWaiting, "how long an offer no pod claims is held while pods wait in its role (at least --offer-hold)")
	fs.DurationVar(&cfg.OfferHoldBacklog, "offer-hold-backlog", DefaultOfferHoldBacklog, "how long an offer that could take a waiting pod is held while more pods wait in its role, not found unschedulable, than agents offer to them (at least --offer-hold-waiting)")
	fs.DurationVar(&cfg.DeclineRefuse, "decline-refuse", DefaultDeclineRefuse, "refuse filter of declined offers")
	fs.DurationVar(&cfg.LaunchWindow, "launch-window", DefaultLaunchWindow, "launches for one agent within this window go out in one ACCEPT")
	fs.StringVar(&cfg.ExecutorURI, "executor-uri", cfg.ExecutorURI, "where agents fetch the kubemesos executor (default: the framework's own endpoint)")
	fs.StringVar(&cfg.ExecutorCommand, "executor-command", cfg.ExecutorCommand, "command that starts the fetched executor (default \"./kubemesos executor\")")
	fs.DurationVar(&cfg.ReconcileInterval, "reconcile-interval", DefaultReconcileInterval, "how often tasks are reconciled with the master (also on every subscription)")
	fs.BoolVar(&cfg.IgnoreOperatorAPI, "ignore-operator-api", cfg.IgnoreOperatorAPI, "do not follow the master's agents through its operator API (SUBSCRIBE); agents are then known from offers only, and a pod whose host port no agent has waits instead of failing")
	fs.StringVar(&cfg.Namespace, "framework-namespace", DefaultNamespace, "namespace of the ConfigMap that keeps the framework ID")
}
