package executor

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/executor/calls"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpexec"

	"github.com/kubemesos/kubemesos/internal/cgroup"
	"github.com/kubemesos/kubemesos/internal/clock"
)

// DefaultIdleTimeout is how long an executor with no pods waits for one
// before it exits, unless the last PodTask's settings say otherwise.
const DefaultIdleTimeout = 5 * time.Minute

// Config configures a Daemon.
type Config struct {
	// Env is the Mesos environment (EnvFrom(os.Getenv)).
	Env Env
	// StartPod starts a pod (default runner.Start).
	StartPod PodStarter
	// Cgroups enforces containers' resource limits (runner.DetectCgroups,
	// once per executor); nil runs containers without limits.
	Cgroups *cgroup.Controller
	// Sender sends calls to the agent's executor API, Subscriber sends
	// SUBSCRIBE (default: mesos-go's HTTP client for Env.AgentEndpoint).
	Sender     calls.Sender
	Subscriber calls.Sender
	// HTTPTimeout bounds connecting to the agent and its answer's headers.
	HTTPTimeout time.Duration
	Clock       clock.Clock
	Logger      *slog.Logger
}

// Daemon is a running kubemesos executor.
type Daemon struct {
	cfg   Config
	env   Env
	log   *slog.Logger
	clock clock.Clock
	inbox *mailbox

	tasks       map[string]*task
	order       []string // task ids in launch order, for SHUTDOWN
	unacked     []*pendingUpdate
	hostIP      string
	idleTimeout time.Duration
	idleSince   time.Time
	idleTimer   clock.Timer

	conn           *connection
	generation     int
	connected      bool // SUBSCRIBED on the current connection
	everSubscribed bool
	disconnected   time.Time
	backoff        time.Duration

	trimmed bool // releaseStartupPages ran

	shutdown *shutdownState
	exitErr  error
	exit     bool
}

// New validates cfg and fills in its defaults.
func New(cfg Config) (*Daemon, error) {
	if cfg.Env.FrameworkID == "" || cfg.Env.ExecutorID == "" || cfg.Env.Sandbox == "" {
		return nil, errors.New("executor: Env needs FrameworkID, ExecutorID and Sandbox")
	}
	if cfg.Env.ShutdownGracePeriod <= 0 {
		cfg.Env.ShutdownGracePeriod = DefaultShutdownGracePeriod
	}
	if cfg.Env.RecoveryTimeout <= 0 {
		cfg.Env.RecoveryTimeout = DefaultRecoveryTimeout
	}
	if cfg.Env.SubscriptionBackoffMax <= 0 {
		cfg.Env.SubscriptionBackoffMax = DefaultSubscriptionBackoffMax
	}
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.StartPod == nil {
		cfg.StartPod = startWithRunner
	}
	if cfg.Sender == nil || cfg.Subscriber == nil {
		if cfg.Env.AgentEndpoint == "" {
			return nil, errors.New("executor: Env needs AgentEndpoint")
		}
		sender, subscriber := httpSenders(cfg.Env, cfg.HTTPTimeout)
		if cfg.Sender == nil {
			cfg.Sender = sender
		}
		if cfg.Subscriber == nil {
			cfg.Subscriber = subscriber
		}
	}
	return &Daemon{
		cfg:         cfg,
		env:         cfg.Env,
		log:         cfg.Logger.With("component", "executor", "executor_id", cfg.Env.ExecutorID, "framework_id", cfg.Env.FrameworkID),
		clock:       cfg.Clock,
		inbox:       newMailbox(),
		tasks:       map[string]*task{},
		hostIP:      hostIPFrom(cfg.Env.AgentEndpoint, ""),
		idleTimeout: DefaultIdleTimeout,
	}, nil
}

// httpSenders are mesos-go's executor API senders for the agent at
// env.AgentEndpoint: one for calls, one for the long-lived SUBSCRIBE.
func httpSenders(env Env, timeout time.Duration) (sender, subscriber calls.Sender) {
	u := url.URL{Scheme: "http", Host: env.AgentEndpoint, Path: "/api/v1/executor"}
	cli := httpcli.New(
		httpcli.Endpoint(u.String()),
		httpcli.Codec(codecs.ByMediaType[codecs.MediaTypeProtobuf]),
		httpcli.Do(httpcli.With(httpcli.Timeout(timeout))),
	)
	opts := executor.CallOptions{calls.Framework(env.FrameworkID), calls.Executor(env.ExecutorID)}
	sender = calls.SenderWith(httpexec.NewSender(cli.Send), opts...)
	subscriber = calls.SenderWith(httpexec.NewSender(cli.Send, httpcli.Close(true)), opts...)
	return sender, subscriber
}

// hostIPFrom picks the address pods report as hostIP: the agent endpoint's
// host if it is an IP, else the agent's hostname if it is one or resolves to
// one, else 127.0.0.1.
func hostIPFrom(endpoint, hostname string) string {
	if host, _, err := net.SplitHostPort(endpoint); err == nil {
		if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
			return ip.String()
		}
	}
	if hostname != "" {
		if ip := net.ParseIP(hostname); ip != nil && !ip.IsUnspecified() {
			return ip.String()
		}
		if ips, err := net.LookupIP(hostname); err == nil {
			for _, ip := range ips {
				if ip4 := ip.To4(); ip4 != nil && !ip.IsUnspecified() {
					return ip4.String()
				}
			}
		}
	}
	return "127.0.0.1"
}

// Run subscribes to the agent and runs pods until the executor should exit:
// idle with no pods, after SHUTDOWN, or after losing its agent for good. It
// returns nil on an orderly exit. When ctx ends, the pods are terminated as
// on SHUTDOWN.
func (d *Daemon) Run(ctx context.Context) error {
	d.idleSince = d.clock.Now()
	d.connect()
	stopCtx := context.AfterFunc(ctx, func() {
		d.inbox.post(func() { d.beginShutdown("the executor was stopped") })
	})
	defer stopCtx()
	defer func() {
		if d.conn != nil {
			d.conn.close()
		}
		if d.idleTimer != nil {
			d.idleTimer.Stop()
		}
	}()
	for !d.exit {
		<-d.inbox.notify
		for _, f := range d.inbox.take() {
			f()
			if d.exit {
				break
			}
		}
	}
	d.log.Info("executor exiting", "error", d.exitErr)
	return d.exitErr
}

// after runs f on the loop once dur has passed.
func (d *Daemon) after(dur time.Duration, f func()) clock.Timer {
	return d.clock.AfterFunc(dur, func() { d.inbox.post(f) })
}

func (d *Daemon) executorID() *mesos.ExecutorID {
	return &mesos.ExecutorID{Value: d.env.ExecutorID}
}

// liveTasks counts tasks whose pods may still run.
func (d *Daemon) liveTasks() int {
	n := 0
	for _, t := range d.tasks {
		if t.live {
			n++
		}
	}
	return n
}
