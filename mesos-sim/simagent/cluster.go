package simagent

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/kubemesos/kubemesos/internal/clock"
	"github.com/kubemesos/kubemesos/mesos-sim/behavior"
	"github.com/kubemesos/kubemesos/mesos-sim/master"
)

// Master is what simulated agents need of the master.
type Master interface {
	RegisterAgent(master.AgentRegistration, master.AgentLink) (string, error)
	StatusUpdate(agentID, frameworkID string, st mesos.TaskStatus) error
	ExecutorExited(agentID, frameworkID, executorID string, status int32)
	ExecutorMessage(agentID, frameworkID, executorID string, data []byte)
}

// Status update retry back-off of a Mesos agent (src/slave/constants.hpp).
const (
	DefaultRetryMin = 10 * time.Second
	DefaultRetryMax = 10 * time.Minute
)

// Config configures a Cluster.
type Config struct {
	// Behavior says what tasks do (default: start at once, run until killed).
	Behavior *behavior.Config
	// RetryMin and RetryMax bound the status update retry back-off.
	RetryMin, RetryMax time.Duration
	// Seed makes behaviour draws reproducible.
	Seed   int64
	Clock  clock.Clock
	Logger *slog.Logger
}

// Cluster is a set of simulated agents sharing one driver goroutine.
type Cluster struct {
	master   Master
	cfg      Config
	clock    clock.Clock
	log      *slog.Logger
	behavior *behavior.Config
	rng      *rand.Rand

	mu     sync.Mutex
	work   []func()
	wake   chan struct{}
	agents map[string]*Agent
}

// NewCluster returns a cluster of simulated agents for m. Call Run to drive it.
func NewCluster(m Master, cfg Config) *Cluster {
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = DefaultRetryMin
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(DefaultRetryMax, cfg.RetryMin)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	b := cfg.Behavior
	if b == nil {
		b = behavior.Default()
	}
	return &Cluster{
		master:   m,
		cfg:      cfg,
		clock:    cfg.Clock,
		log:      cfg.Logger,
		behavior: b,
		rng:      rand.New(rand.NewSource(cfg.Seed)),
		wake:     make(chan struct{}, 1),
		agents:   map[string]*Agent{},
	}
}

// Run drives the cluster's agents until ctx ends.
func (c *Cluster) Run(ctx context.Context) {
	var batch []func()
	for {
		c.mu.Lock()
		batch, c.work = c.work, batch[:0]
		c.mu.Unlock()
		for _, f := range batch {
			f()
		}
		clear(batch)
		if len(batch) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		}
	}
}

// do queues f to run on the driver goroutine.
func (c *Cluster) do(f func()) {
	c.mu.Lock()
	c.work = append(c.work, f)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// after runs f on the driver goroutine once d has passed.
func (c *Cluster) after(d time.Duration, f func()) clock.Timer {
	if d <= 0 {
		c.do(f)
		return nil
	}
	return c.clock.AfterFunc(d, func() { c.do(f) })
}

// AgentSpec describes a simulated agent.
type AgentSpec struct {
	Hostname   string
	Port       int32
	Resources  mesos.Resources
	Attributes []mesos.Attribute
	Domain     *mesos.DomainInfo
}

// simulatedCapabilities are what a Mesos 1.11 agent advertises that
// mesos-sim's agents honour.
var simulatedCapabilities = []mesos.AgentInfo_Capability{
	{Type: mesos.AgentInfo_Capability_MULTI_ROLE},
	{Type: mesos.AgentInfo_Capability_HIERARCHICAL_ROLE},
	{Type: mesos.AgentInfo_Capability_RESERVATION_REFINEMENT},
	{Type: mesos.AgentInfo_Capability_TASK_RESOURCE_LIMITS},
}

// AddAgent registers a new simulated agent with the master.
func (c *Cluster) AddAgent(spec AgentSpec) (*Agent, error) {
	a := &Agent{cluster: c, spec: spec, frameworks: map[string]*simFramework{}}
	id, err := c.master.RegisterAgent(a.registration(), a)
	if err != nil {
		return nil, fmt.Errorf("register simulated agent %s: %w", spec.Hostname, err)
	}
	a.setID(id)
	c.mu.Lock()
	c.agents[id] = a
	c.mu.Unlock()
	return a, nil
}

// Agent returns the simulated agent with the given ID.
func (c *Cluster) Agent(id string) *Agent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.agents[id]
}

// Agents returns every simulated agent.
func (c *Cluster) Agents() []*Agent {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*Agent, 0, len(c.agents))
	for _, a := range c.agents {
		out = append(out, a)
	}
	return out
}
