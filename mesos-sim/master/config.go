package master

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/kubemesos/kubemesos/internal/clock"
)

// Defaults, as Apache Mesos sets them (src/master/constants.hpp, flags.cpp).
const (
	DefaultAllocationInterval              = time.Second
	DefaultHeartbeatInterval               = 15 * time.Second
	DefaultAgentPingTimeout                = 15 * time.Second
	DefaultMaxAgentPingTimeouts            = 5
	DefaultRefuseSeconds                   = 5.0
	MaxRefuseSeconds                       = 365 * 24 * 3600.0
	DefaultMaxCompletedFrameworks          = 50
	DefaultMaxCompletedTasksPerFw          = 1000
	DefaultMaxUnreachableTasksPerFw        = 1000
	DefaultMaxOperatorSubscribers          = 1000
	DefaultStatusUpdateRetryMin            = 10 * time.Second
	DefaultStatusUpdateRetryMax            = 10 * time.Minute
	defaultHostname                        = "localhost"
	defaultMasterPort               uint32 = 5050
)

// Config configures a Master. The zero value of every field means its
// default.
type Config struct {
	// Address is the host:port the master is reachable at, reported in
	// MasterInfo (default 127.0.0.1:5050).
	Address string
	// Hostname reported in MasterInfo (default: the host of Address).
	Hostname string
	// AllocationInterval is the period of batch allocations (default 1s).
	AllocationInterval time.Duration
	// OfferTimeout rescinds offers outstanding this long (0: never).
	OfferTimeout time.Duration
	// HeartbeatInterval of scheduler streams (default 15s, as Mesos).
	HeartbeatInterval time.Duration
	// AgentPingTimeout and MaxAgentPingTimeouts decide when a silent agent
	// becomes unreachable (defaults 15s and 5).
	AgentPingTimeout     time.Duration
	MaxAgentPingTimeouts int
	// Weights are the initial role weights (default 1.0 each).
	Weights map[string]float64
	// Credentials maps principals to secrets. When non-nil, frameworks must
	// authenticate with HTTP basic auth.
	Credentials map[string]string
	// MinAllocatable lists quantity sets of which an offer must contain at
	// least one (default cpus:0.01 or mem:32).
	MinAllocatable []map[string]float64
	// MaxCompletedFrameworks, MaxCompletedTasksPerFramework and
	// MaxUnreachableTasksPerFramework bound the history kept for state.
	MaxCompletedFrameworks          int
	MaxCompletedTasksPerFramework   int
	MaxUnreachableTasksPerFramework int
	// Seed makes allocation order reproducible.
	Seed int64
	// Clock is the time source (default: the real clock).
	Clock clock.Clock
	// Logger receives the master's logs (default: discard).
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.Address == "" {
		c.Address = "127.0.0.1:5050"
	}
	host, port, err := net.SplitHostPort(c.Address)
	if err != nil {
		return c, fmt.Errorf("invalid master address %q: %w", c.Address, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return c, fmt.Errorf("invalid master port %q", port)
	}
	if c.Hostname == "" {
		c.Hostname = host
		if c.Hostname == "" {
			c.Hostname = defaultHostname
		}
	}
	if c.AllocationInterval == 0 {
		c.AllocationInterval = DefaultAllocationInterval
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.AgentPingTimeout == 0 {
		c.AgentPingTimeout = DefaultAgentPingTimeout
	}
	if c.MaxAgentPingTimeouts == 0 {
		c.MaxAgentPingTimeouts = DefaultMaxAgentPingTimeouts
	}
	if c.MaxCompletedFrameworks == 0 {
		c.MaxCompletedFrameworks = DefaultMaxCompletedFrameworks
	}
	if c.MaxCompletedTasksPerFramework == 0 {
		c.MaxCompletedTasksPerFramework = DefaultMaxCompletedTasksPerFw
	}
	if c.MaxUnreachableTasksPerFramework == 0 {
		c.MaxUnreachableTasksPerFramework = DefaultMaxUnreachableTasksPerFw
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case c.AllocationInterval < 0:
		return c, errors.New("allocation interval must be positive")
	case c.OfferTimeout < 0:
		return c, errors.New("offer timeout must not be negative")
	case c.HeartbeatInterval < 0:
		return c, errors.New("heartbeat interval must be positive")
	case c.AgentPingTimeout < 0 || c.MaxAgentPingTimeouts < 0:
		return c, errors.New("agent ping timeout and count must be positive")
	}
	for role, w := range c.Weights {
		if err := ValidateRole(role); err != nil {
			return c, fmt.Errorf("weight for role %q: %w", role, err)
		}
		if w <= 0 {
			return c, fmt.Errorf("weight for role %q must be positive, got %v", role, w)
		}
	}
	return c, nil
}
