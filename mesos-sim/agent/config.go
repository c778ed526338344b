package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/kubemesos/kubemesos/internal/clock"
)

// Defaults, as a Mesos agent sets them (src/slave/constants.hpp, flags.cpp).
const (
	DefaultStatusUpdateRetryMin        = 10 * time.Second
	DefaultStatusUpdateRetryMax        = 10 * time.Minute
	DefaultRegisterRetryMax            = time.Minute
	DefaultExecutorRegistrationTimeout = time.Minute
	DefaultExecutorShutdownGracePeriod = 5 * time.Second
	DefaultExecutorHeartbeatInterval   = 30 * time.Minute
	DefaultRecoveryTimeout             = 15 * time.Minute
	DefaultExecutorReregisterTimeout   = 2 * time.Second
	MaxExecutorReregisterTimeout       = 15 * time.Second
	DefaultMasterPingTimeout           = 75 * time.Second
	// DefaultKillGracePeriod is how long the command executor waits between
	// SIGTERM and SIGKILL when the task has no kill policy.
	DefaultKillGracePeriod = 3 * time.Second
	// IsolationAuto and IsolationNone are the values of Config.Isolation;
	// IsolationMemory is what /state reports when memory cgroups are used.
	IsolationAuto   = "auto"
	IsolationNone   = "none"
	IsolationMemory = "cgroups/mem"
	// Version is the Mesos version the agent reports.
	Version = "1.11.0"
)

// Config configures an Agent. Zero values mean the defaults.
type Config struct {
	// MasterURL is the master's base URL, e.g. http://127.0.0.1:5050.
	MasterURL string
	// Listen is the agent's own HTTP address; it must be a loopback address
	// (default 127.0.0.1:0, a free port).
	Listen string
	// Hostname reported in AgentInfo (default: the host of Listen).
	Hostname   string
	Resources  mesos.Resources
	Attributes []mesos.Attribute
	// WorkDir holds the sandboxes (required).
	WorkDir string
	// StatusUpdateRetryMin and Max bound the status update back-off.
	StatusUpdateRetryMin, StatusUpdateRetryMax time.Duration
	// RegisterRetryMax caps the back-off of (re-)registration attempts.
	RegisterRetryMax time.Duration
	// ExecutorRegistrationTimeout: an executor that has not subscribed by
	// then is killed and its tasks fail.
	ExecutorRegistrationTimeout time.Duration
	// ExecutorShutdownGracePeriod is the default time an executor has to
	// exit after SHUTDOWN (ExecutorInfo.shutdown_grace_period overrides it).
	ExecutorShutdownGracePeriod time.Duration
	// ExecutorHeartbeatInterval is the period of HEARTBEAT events.
	ExecutorHeartbeatInterval time.Duration
	// RecoveryTimeout is how long a checkpointing executor keeps trying to
	// subscribe again to an agent that went away (MESOS_RECOVERY_TIMEOUT;
	// default 15 min, Mesos' --recovery_timeout).
	RecoveryTimeout time.Duration
	// ExecutorReregistrationTimeout is how long an agent that recovered
	// its checkpointed executors waits for them to subscribe again before
	// it kills those that did not (default 2 s, at most 15 s, as Mesos'
	// --executor_reregistration_timeout); it is also the executors'
	// MESOS_SUBSCRIPTION_BACKOFF_MAX.
	ExecutorReregistrationTimeout time.Duration
	// Ephemeral agents neither checkpoint nor recover: each run is a new
	// agent and every executor dies with it (the master's in-process
	// agents, which listen on a new port each run, are ephemeral).
	Ephemeral bool
	// MasterPingTimeout: an agent the master has not pinged for this long
	// registers again (the master restarted, or marked it unreachable).
	// Default 75s, the master's agent_ping_timeout x max_agent_ping_timeouts.
	MasterPingTimeout time.Duration
	// LaunchConcurrency is how many command tasks the agent launches at
	// once (sandbox, cgroup, fork/exec); default GOMAXPROCS, at least 8
	// (sandbox creation may wait on the file system's journal, so more
	// launches than cores can overlap).
	LaunchConcurrency int
	// Isolation is "auto" (the default: memory cgroups, cgroups/mem, when
	// the memory controller under CgroupRoot is writable, else none) or
	// "none".
	Isolation string
	// CgroupRoot is where the cgroup hierarchies are mounted (default
	// /sys/fs/cgroup).
	CgroupRoot string
	// HTTPClient is used towards the master and by the fetcher.
	HTTPClient *http.Client
	Clock      clock.Clock
	Logger     *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.MasterURL == "" {
		return c, errors.New("agent needs the master's URL")
	}
	if u, err := url.Parse(c.MasterURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("invalid master URL %q: want http://host:port", c.MasterURL)
	}
	if c.WorkDir == "" {
		return c, errors.New("agent needs a work directory")
	}
	if len(c.Resources) == 0 {
		return c, errors.New("agent offers no resources")
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return c, fmt.Errorf("invalid listen address %q: %w", c.Listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return c, fmt.Errorf("listen address %q is not a loopback address", c.Listen)
	}
	if c.Hostname == "" {
		c.Hostname = host
	}
	if c.StatusUpdateRetryMin <= 0 {
		c.StatusUpdateRetryMin = DefaultStatusUpdateRetryMin
	}
	if c.StatusUpdateRetryMax < c.StatusUpdateRetryMin {
		c.StatusUpdateRetryMax = max(DefaultStatusUpdateRetryMax, c.StatusUpdateRetryMin)
	}
	if c.RegisterRetryMax <= 0 {
		c.RegisterRetryMax = DefaultRegisterRetryMax
	}
	if c.ExecutorRegistrationTimeout <= 0 {
		c.ExecutorRegistrationTimeout = DefaultExecutorRegistrationTimeout
	}
	if c.ExecutorShutdownGracePeriod <= 0 {
		c.ExecutorShutdownGracePeriod = DefaultExecutorShutdownGracePeriod
	}
	if c.ExecutorHeartbeatInterval <= 0 {
		c.ExecutorHeartbeatInterval = DefaultExecutorHeartbeatInterval
	}
	if c.RecoveryTimeout <= 0 {
		c.RecoveryTimeout = DefaultRecoveryTimeout
	}
	if c.ExecutorReregistrationTimeout <= 0 {
		c.ExecutorReregistrationTimeout = DefaultExecutorReregisterTimeout
	}
	c.ExecutorReregistrationTimeout = min(c.ExecutorReregistrationTimeout, MaxExecutorReregisterTimeout)
	if c.MasterPingTimeout <= 0 {
		c.MasterPingTimeout = DefaultMasterPingTimeout
	}
	switch c.Isolation {
	case "":
		c.Isolation = IsolationAuto
	case IsolationAuto, IsolationNone:
	default:
		return c, fmt.Errorf("invalid isolation %q: want %q or %q", c.Isolation, IsolationAuto, IsolationNone)
	}
	if c.LaunchConcurrency <= 0 {
		c.LaunchConcurrency = max(8, runtime.GOMAXPROCS(0))
	}
	if c.HTTPClient == nil {
		// A server with ReadHeaderTimeout (10 s for mesos-sim's) closes a
		// connection that carried no request by then; dropping idle
		// connections after 5 s keeps a POST from reusing one just as the
		// server closes it (the POST would fail with EOF).
		// The status updates of a large launch go out concurrently: keep
		// enough connections to the master for them to be reused.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.IdleConnTimeout = 5 * time.Second
		tr.MaxIdleConnsPerHost = 64
		c.HTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: tr}
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// MesosDuration formats d as stout prints durations ("5secs", "100ms",
// "15mins"), the form executors parse from MESOS_* variables.
func MesosDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0ns"
	case d%(7*24*time.Hour) == 0:
		return fmt.Sprintf("%dweeks", d/(7*24*time.Hour))
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%ddays", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dhrs", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dmins", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%dsecs", d/time.Second)
	case d%time.Millisecond == 0:
		return fmt.Sprintf("%dms", d/time.Millisecond)
	case d%time.Microsecond == 0:
		return fmt.Sprintf("%dus", d/time.Microsecond)
	}
	return fmt.Sprintf("%dns", int64(d))
}
