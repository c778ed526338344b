// Package simtest starts mesos-sim on loopback for tests: a real master
// serving real HTTP, with simulated agents, plus a plain HTTP scheduler
// client that speaks either encoding of the v1 API. Tests of mesos-sim, of
// the framework and the benchmarks build on it.
package simtest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubemesos/kubemesos/mesos-sim/behavior"
	"github.com/kubemesos/kubemesos/mesos-sim/local"
	"github.com/kubemesos/kubemesos/mesos-sim/master"
	"github.com/kubemesos/kubemesos/mesos-sim/simagent"
	"github.com/kubemesos/kubemesos/mesos-sim/spec"
)

// Options configure an Env.
type Options struct {
	// Agents is the number of simulated agents (each AgentResources, hostname
	// sim-agent-N).
	Agents         int
	AgentResources string // default local.DefaultAgentResources
	AgentAttrs     string
	// Master is the master's configuration; Address and Logger are set by
	// Start. Short intervals make tests fast.
	Master   master.Config
	Behavior *behavior.Config
	// RetryMin is the agents' status update retry back-off start (default 10s).
	RetryMin time.Duration
}

// Env is a running master with its simulated agents.
type Env struct {
	Master  *master.Master
	URL     string // http://127.0.0.1:port
	Cluster *simagent.Cluster
	Agents  []*simagent.Agent
	cancel  context.CancelFunc
	srv     *http.Server
}

// Start runs a master on 127.0.0.1 with o.Agents simulated agents; it stops
// when the test ends.
func Start(tb testing.TB, o Options) *Env {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	cfg := o.Master
	cfg.Address = ln.Addr().String()
	if cfg.Logger == nil && os.Getenv("SIMTEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	m, err := master.New(cfg)
	if err != nil {
		tb.Fatalf("new master: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go m.Run(ctx)
	cluster := simagent.NewCluster(m, simagent.Config{Behavior: o.Behavior, RetryMin: o.RetryMin, Clock: cfg.Clock, Logger: cfg.Logger})
	go cluster.Run(ctx)
	env := &Env{Master: m, URL: "http://" + ln.Addr().String(), Cluster: cluster, cancel: cancel}
	env.srv = &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = env.srv.Serve(ln) }()
	tb.Cleanup(env.Stop)
	if o.Agents > 0 {
		resText := o.AgentResources
		if resText == "" {
			resText = local.DefaultAgentResources
		}
		res, err := spec.ParseResources(resText)
		if err != nil {
			tb.Fatalf("agent resources: %v", err)
		}
		attrs, err := spec.ParseAttributes(o.AgentAttrs)
		if err != nil {
			tb.Fatalf("agent attributes: %v", err)
		}
		for i := 0; i < o.Agents; i++ {
			a, err := cluster.AddAgent(simagent.AgentSpec{
				Hostname:   fmt.Sprintf("sim-agent-%d", i),
				Port:       int32(5051 + i),
				Resources:  res,
				Attributes: attrs,
			})
			if err != nil {
				tb.Fatalf("add agent: %v", err)
			}
			env.Agents = append(env.Agents, a)
		}
	}
	return env
}

// SchedulerURL is the scheduler API endpoint.
func (e *Env) SchedulerURL() string { return e.URL + "/api/v1/scheduler" }

// Stop shuts the master down (also done at test cleanup).
func (e *Env) Stop() {
	e.cancel()
	ctx, done := context.WithTimeout(context.Background(), 2*time.Second)
	defer done()
	_ = e.srv.Shutdown(ctx)
}

// RSSMiB reads this process's resident set size (VmRSS) in MiB, for
// benchmarks that report memory; 0 where /proc is not available.
func RSSMiB() float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
