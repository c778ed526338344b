package master

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/kubemesos/kubemesos/internal/buildinfo"
	"github.com/kubemesos/kubemesos/internal/clock"
	"github.com/kubemesos/kubemesos/mesos-sim/allocator"
)

// Master is a Mesos master. Create it with New, start its periodic work with
// Run, and serve Handler over HTTP.
type Master struct {
	cfg       Config
	log       *slog.Logger
	clock     clock.Clock
	info      mesos.MasterInfo
	startTime time.Time

	mu                  sync.Mutex
	alloc               *allocator.Allocator
	frameworks          map[string]*framework
	completedFrameworks []*framework
	removedFrameworks   map[string]bool
	agents              map[string]*agent
	unreachableAgents   map[string]time.Time
	goneAgents          map[string]time.Time
	offers              map[string]*offer
	nextFramework       int
	nextOffer           int
	nextAgent           int
	metrics             counters
	observers           map[int]func(Event)
	nextObserver        int

	allocWake    chan struct{}
	allocAll     bool
	allocAgents  map[string]bool
	allocRunTime durations
}

// New validates cfg and returns a master with no agents or frameworks.
func New(cfg Config) (*Master, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	alloc := allocator.New(allocator.Config{
		MinAllocatable:     cfg.MinAllocatable,
		AllocationInterval: cfg.AllocationInterval,
		Seed:               cfg.Seed,
		FilterGPUResources: true,
	})
	if len(cfg.Weights) > 0 {
		alloc.UpdateWeights(cfg.Weights)
	}
	m := &Master{
		cfg:               cfg,
		log:               cfg.Logger,
		clock:             cfg.Clock,
		startTime:         cfg.Clock.Now(),
		alloc:             alloc,
		frameworks:        map[string]*framework{},
		removedFrameworks: map[string]bool{},
		agents:            map[string]*agent{},
		unreachableAgents: map[string]time.Time{},
		goneAgents:        map[string]time.Time{},
		offers:            map[string]*offer{},
		allocWake:         make(chan struct{}, 1),
		allocAgents:       map[string]bool{},
		observers:         map[int]func(Event){},
	}
	m.info = masterInfo(cfg)
	m.log = m.log.With("master_id", m.info.ID)
	return m, nil
}

func masterInfo(cfg Config) mesos.MasterInfo {
	host, portStr, _ := net.SplitHostPort(cfg.Address)
	port64, _ := strconv.ParseUint(portStr, 10, 32)
	port := uint32(port64)
	var ip uint32
	if parsed := net.ParseIP(host).To4(); parsed != nil {
		// MasterInfo.ip is the IPv4 address in network byte order read as a
		// little-endian integer, as libprocess stores it.
		ip = binary.LittleEndian.Uint32(parsed)
	}
	ver := buildinfo.MesosVersion
	pid := "master@" + cfg.Address
	return mesos.MasterInfo{
		ID:       newUUID(),
		IP:       ip,
		Port:     &port,
		PID:      &pid,
		Hostname: &cfg.Hostname,
		Version:  &ver,
		Address: &mesos.Address{
			Hostname: &cfg.Hostname,
			IP:       &host,
			Port:     int32(port),
		},
		Capabilities: []mesos.MasterInfo_Capability{
			{Type: mesos.MasterInfo_Capability_AGENT_UPDATE},
		},
	}
}

// Info returns the MasterInfo the master reports.
func (m *Master) Info() mesos.MasterInfo { return m.info }

// Run performs the master's periodic and triggered allocations and agent
// health checks until ctx ends.
func (m *Master) Run(ctx context.Context) {
	var tick func()
	var timers []clock.Timer
	var tmu sync.Mutex
	schedule := func(d time.Duration, f func()) {
		tmu.Lock()
		defer tmu.Unlock()
		if ctx.Err() == nil {
			timers = append(timers[:0], m.clock.AfterFunc(d, f))
		}
	}
	tick = func() {
		m.mu.Lock()
		m.requestAllocation()
		m.mu.Unlock()
		schedule(m.cfg.AllocationInterval, tick)
	}
	schedule(m.cfg.AllocationInterval, tick)

	var pings []clock.Timer
	var ping func()
	ping = func() {
		m.checkAgentHealth()
		tmu.Lock()
		defer tmu.Unlock()
		if ctx.Err() == nil {
			pings = append(pings[:0], m.clock.AfterFunc(m.cfg.AgentPingTimeout, ping))
		}
	}
	tmu.Lock()
	pings = append(pings, m.clock.AfterFunc(m.cfg.AgentPingTimeout, ping))
	tmu.Unlock()

	for {
		select {
		case <-ctx.Done():
			tmu.Lock()
			for _, t := range append(timers, pings...) {
				t.Stop()
			}
			tmu.Unlock()
			m.shutdown()
			return
		case <-m.allocWake:
			m.allocatePending()
		}
	}
}

// shutdown closes every framework stream (the process is going away).
func (m *Master) shutdown() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, fw := range m.frameworks {
		if fw.stream != nil {
			fw.stream.Close(nil)
		}
	}
}

// requestAllocation asks the Run loop for an allocation over all agents (no
// arguments) or the given ones; requests coalesce. The caller holds m.mu.
func (m *Master) requestAllocation(agentIDs ...string) {
	if len(agentIDs) == 0 {
		m.allocAll = true
	}
	for _, id := range agentIDs {
		m.allocAgents[id] = true
	}
	select {
	case m.allocWake <- struct{}{}:
	default:
	}
}

func (m *Master) allocatePending() {
	m.mu.Lock()
	defer m.mu.Unlock()
	var agents []string
	if !m.allocAll {
		if len(m.allocAgents) == 0 {
			return
		}
		for id := range m.allocAgents {
			agents = append(agents, id)
		}
	}
	m.allocAll = false
	clear(m.allocAgents)
	m.allocateLocked(agents)
}

// Allocate runs one allocation cycle now, over every agent. Tests use it to
// make offers without waiting for the allocation interval.
func (m *Master) Allocate() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.allocateLocked(nil)
}

func (m *Master) allocateLocked(agentIDs []string) {
	if agentIDs != nil && len(agentIDs) == 0 {
		return
	}
	start := time.Now()
	allocs := m.alloc.Allocate(m.clock.Now(), agentIDs)
	m.allocRunTime.add(time.Since(start))
	m.metrics.allocationRuns++
	if len(allocs) == 0 {
		return
	}
	byFramework := map[string][]mesos.Offer{}
	var order []string
	for _, a := range allocs {
		fw := m.frameworks[a.FrameworkID]
		ag := m.agents[a.AgentID]
		if fw == nil || ag == nil || !fw.connected {
			// The allocator and the master disagree; give the resources back.
			m.alloc.RecoverResources(a.FrameworkID, a.AgentID, a.Resources, 0, m.clock.Now())
			continue
		}
		o := m.newOffer(fw, ag, a.Role, a.Resources)
		if _, ok := byFramework[fw.id]; !ok {
			order = append(order, fw.id)
		}
		byFramework[fw.id] = append(byFramework[fw.id], offerForFramework(o.o, fw.caps))
	}
	for _, id := range order {
		m.sendOffers(m.frameworks[id], byFramework[id])
	}
}

func (m *Master) newOffer(fw *framework, ag *agent, role string, res mesos.Resources) *offer {
	id := fmt.Sprintf("%s-O%d", m.info.ID, m.nextOffer)
	m.nextOffer++
	execIDs := make([]mesos.ExecutorID, 0, len(fw.executors[ag.id]))
	for execID := range fw.executors[ag.id] {
		execIDs = append(execIDs, mesos.ExecutorID{Value: execID})
	}
	r := role
	o := &offer{
		o: &mesos.Offer{
			ID:             mesos.OfferID{Value: id},
			FrameworkID:    mesos.FrameworkID{Value: fw.id},
			AgentID:        mesos.AgentID{Value: ag.id},
			Hostname:       ag.info.Hostname,
			URL:            agentURL(ag),
			Domain:         ag.info.Domain,
			Resources:      res,
			Attributes:     ag.info.Attributes,
			ExecutorIDs:    execIDs,
			AllocationInfo: &mesos.Resource_AllocationInfo{Role: &r},
		},
		frameworkID: fw.id,
		agentID:     ag.id,
		role:        role,
	}
	m.offers[id] = o
	fw.offers[id] = o
	ag.offers[id] = o
	m.metrics.offersSent++
	if m.cfg.OfferTimeout > 0 {
		o.timer = m.clock.AfterFunc(m.cfg.OfferTimeout, func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			if cur, ok := m.offers[id]; ok && cur == o {
				m.log.Info("rescinding offer after timeout", "offer_id", id, "framework_id", fw.id)
				m.rescindOffer(o, true)
			}
		})
	}
	return o
}

func agentURL(ag *agent) *mesos.URL {
	host, port := ag.info.Hostname, int32(5051)
	if ag.info.Port != nil {
		port = *ag.info.Port
	}
	if ag.endpoint != "" {
		if h, p, err := net.SplitHostPort(ag.endpoint); err == nil {
			host = h
			if n, err := strconv.Atoi(p); err == nil {
				port = int32(n)
			}
		}
	}
	path := "/slave(1)"
	return &mesos.URL{Scheme: "http", Address: mesos.Address{Hostname: &host, Port: port}, Path: &path}
}

// offerForFramework is the offer as the framework sees it: without
// allocation info unless it is MULTI_ROLE (MESOS-8237).
func offerForFramework(o *mesos.Offer, caps frameworkCaps) mesos.Offer {
	out := *o
	if caps.multiRole {
		return out
	}
	out.AllocationInfo = nil
	out.Resources = stripAllocationInfo(o.Resources)
	return out
}

func stripAllocationInfo(rs mesos.Resources) mesos.Resources {
	out := make(mesos.Resources, len(rs))
	for i, r := range rs {
		r.AllocationInfo = nil
		out[i] = r
	}
	return out
}

// removeOffer forgets an offer without giving its resources back.
func (m *Master) removeOffer(o *offer) {
	delete(m.offers, o.o.ID.Value)
	if fw := m.frameworks[o.frameworkID]; fw != nil {
		delete(fw.offers, o.o.ID.Value)
	}
	if ag := m.agents[o.agentID]; ag != nil {
		delete(ag.offers, o.o.ID.Value)
	}
	if o.timer != nil {
		o.timer.Stop()
	}
}

// rescindOffer withdraws an offer, recovering its resources without a filter;
// notify sends RESCIND to the framework.
func (m *Master) rescindOffer(o *offer, notify bool) {
	m.removeOffer(o)
	m.alloc.RecoverResources(o.frameworkID, o.agentID, o.o.Resources, 0, m.clock.Now())
	if notify {
		m.metrics.offersRescinded++
		if fw := m.frameworks[o.frameworkID]; fw != nil {
			m.sendEvent(fw, rescindEvent(o.o.ID.Value))
		}
	}
}

// newUUID returns a random RFC 4122 version 4 UUID string.
func newUUID() string {
	b := newUUIDBytes()
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func newUUIDBytes() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return b
}
