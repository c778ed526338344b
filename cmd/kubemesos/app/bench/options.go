package bench

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/pflag"

	"github.com/kubemesos/kubemesos/internal/podbench"
	"github.com/kubemesos/kubemesos/mesos-sim/local"
)

// Options are the flags of `kubemesos bench`.
type Options struct {
	// Nodes and Pods pair up into the throughput sizes.
	Nodes, Pods []int
	Runs        int
	Modes       []string
	Clients     int
	// Latency adds the startup-latency runs: LatencyPods pods created at
	// LatencyRate per second on LatencyNodes nodes.
	Latency                   bool
	LatencyNodes, LatencyPods int
	LatencyRate               float64
	// Executor adds the real-executor run of mode A: ExecutorPods pods at
	// ExecutorRate per second on ExecutorAgents process agents.
	Executor       bool
	ExecutorAgents int
	ExecutorPods   int
	ExecutorRate   float64
	// Output is the Markdown file the table goes into, unless NoWrite.
	Output  string
	NoWrite bool
	// CPUProfile, when set, is a directory for a CPU profile of every run.
	CPUProfile string
	// Timeout bounds each run (0: from its number of pods).
	Timeout time.Duration
	// LogDir keeps the runs' logs (default: a temporary directory, removed
	// unless a run fails).
	LogDir string
	// FrameworkFlags are flags of `kubemesos framework` for mode A, to
	// measure another configuration than the defaults (only printed).
	FrameworkFlags []string
}

// NewOptions returns the defaults: the sizes of issue 8.
func NewOptions() *Options {
	return &Options{
		Nodes: []int{1000, 5000}, Pods: []int{10000, 50000}, Runs: 3,
		Modes:   []string{podbench.ModeKubemesos, podbench.ModeBaseline},
		Clients: podbench.DefaultClients,
		Latency: true, LatencyNodes: 1000, LatencyPods: 3000, LatencyRate: 100,
		Executor: true, ExecutorAgents: 4, ExecutorPods: 200, ExecutorRate: 20,
		Output: "docs/benchmarks.md",
	}
}

// AddFlags binds the options to fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.IntSliceVar(&o.Nodes, "nodes", o.Nodes, "node counts of the throughput sizes, paired with --pods")
	fs.IntSliceVar(&o.Pods, "pods", o.Pods, "pod counts of the throughput sizes, paired with --nodes")
	fs.IntVar(&o.Runs, "runs", o.Runs, "runs of each mode at each size (interleaved A, B, A, B, ...); the table shows medians")
	fs.StringSliceVar(&o.Modes, "modes", o.Modes, "modes to run: A (kubemesos) and/or B (stock Kubernetes)")
	fs.IntVar(&o.Clients, "clients", o.Clients, "parallel clients creating pods")
	fs.BoolVar(&o.Latency, "latency", o.Latency, "also measure startup latency with pods created at a steady --latency-rate")
	fs.IntVar(&o.LatencyNodes, "latency-nodes", o.LatencyNodes, "nodes of the latency runs")
	fs.IntVar(&o.LatencyPods, "latency-pods", o.LatencyPods, "pods of the latency runs")
	fs.Float64Var(&o.LatencyRate, "latency-rate", o.LatencyRate, "pods created per second in the latency runs")
	fs.BoolVar(&o.Executor, "executor", o.Executor, "also run A with process agents and real executors")
	fs.IntVar(&o.ExecutorAgents, "executor-agents", o.ExecutorAgents, "process agents of the real-executor run")
	fs.IntVar(&o.ExecutorPods, "executor-pods", o.ExecutorPods, "pods of the real-executor run")
	fs.Float64Var(&o.ExecutorRate, "executor-rate", o.ExecutorRate, "pods created per second in the real-executor run")
	fs.StringVar(&o.Output, "output", o.Output, "Markdown file whose benchmark section gets the table")
	fs.BoolVar(&o.NoWrite, "no-write", o.NoWrite, "only print the table")
	fs.StringVar(&o.CPUProfile, "cpuprofile", o.CPUProfile, "directory for CPU profiles of the runs, A and B (go tool pprof)")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "bound of each run (default: 3m plus 0.1s per pod)")
	fs.StringVar(&o.LogDir, "log-dir", o.LogDir, "directory keeping each run's log (default: a temporary one, kept only if a run fails)")
	fs.StringArrayVar(&o.FrameworkFlags, "framework-flag", o.FrameworkFlags, "a flag of `kubemesos framework` for mode A, such as --framework-flag=--offer-hold-waiting=5m (repeatable; needs --no-write: the published table is of the defaults)")
}

// Validate reports the first invalid option.
func (o *Options) Validate() error {
	if len(o.Nodes) != len(o.Pods) {
		return fmt.Errorf("--nodes has %d sizes and --pods %d: give one pod count per node count", len(o.Nodes), len(o.Pods))
	}
	for i := range o.Nodes {
		if o.Nodes[i] <= 0 || o.Pods[i] <= 0 {
			return fmt.Errorf("size %d / %d: nodes and pods must be positive", o.Nodes[i], o.Pods[i])
		}
	}
	if o.Runs <= 0 {
		return errors.New("--runs must be positive")
	}
	if len(o.Modes) == 0 {
		return errors.New("--modes needs A, B or both")
	}
	for _, m := range o.Modes {
		if m != podbench.ModeKubemesos && m != podbench.ModeBaseline {
			return fmt.Errorf("--modes: unknown mode %q: use A or B", m)
		}
	}
	if o.Clients <= 0 {
		return errors.New("--clients must be positive")
	}
	if o.Latency && (o.LatencyNodes <= 0 || o.LatencyPods <= 0 || o.LatencyRate <= 0) {
		return errors.New("--latency-nodes, --latency-pods and --latency-rate must be positive")
	}
	if o.Executor && (o.ExecutorAgents <= 0 || o.ExecutorPods <= 0 || o.ExecutorRate <= 0) {
		return errors.New("--executor-agents, --executor-pods and --executor-rate must be positive")
	}
	if !o.NoWrite && o.Output == "" {
		return errors.New("--output is empty: give a file or --no-write")
	}
	if !o.NoWrite && len(o.FrameworkFlags) > 0 {
		return errors.New("--framework-flag needs --no-write: docs/benchmarks.md shows the framework's defaults")
	}
	if o.Timeout < 0 {
		return errors.New("--timeout is negative")
	}
	return nil
}

// RunOptions are the flags of `kubemesos bench run`: one measured run.
type RunOptions struct {
	Mode string
	// Agents is the agent mode of A: sim or process.
	Agents  string
	Nodes   int
	Pods    int
	Rate    float64
	Clients int
	Timeout time.Duration
	// CPUProfile is a file for a CPU profile of the measured part.
	CPUProfile string
	LogLevel   string
	// FrameworkFlags are flags of `kubemesos framework` for mode A.
	FrameworkFlags []string
}

// NewRunOptions returns the defaults of a run.
func NewRunOptions() *RunOptions {
	return &RunOptions{Mode: podbench.ModeBaseline, Agents: local.AgentsSim, Nodes: 50, Pods: 200, Clients: podbench.DefaultClients, LogLevel: "info"}
}

// AddFlags binds the options to fs.
func (o *RunOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Mode, "mode", o.Mode, "A (kubemesos) or B (stock Kubernetes)")
	fs.StringVar(&o.Agents, "agents", o.Agents, "agent mode of A: sim or process")
	fs.IntVar(&o.Nodes, "nodes", o.Nodes, "nodes (A: Mesos agents)")
	fs.IntVar(&o.Pods, "pods", o.Pods, "pods to create")
	fs.Float64Var(&o.Rate, "rate", o.Rate, "pods created per second (0: as fast as possible)")
	fs.IntVar(&o.Clients, "clients", o.Clients, "parallel clients creating pods")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "bound of the measured part (default: 3m plus 0.1s per pod)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", o.CPUProfile, "write a CPU profile of the measured part to this file")
	fs.StringVar(&o.LogLevel, "log-level", o.LogLevel, "debug, info, warn or error (logs go to stderr)")
	fs.StringArrayVar(&o.FrameworkFlags, "framework-flag", o.FrameworkFlags, "a flag of `kubemesos framework` for mode A (repeatable)")
}

// Validate reports the first invalid option.
func (o *RunOptions) Validate() error {
	if o.Mode != podbench.ModeKubemesos && o.Mode != podbench.ModeBaseline {
		return fmt.Errorf("--mode %q: use A or B", o.Mode)
	}
	if !slices.Contains(local.AgentModes(), o.Agents) {
		return fmt.Errorf("--agents %q: use one of %v", o.Agents, local.AgentModes())
	}
	if o.Nodes <= 0 || o.Pods <= 0 || o.Clients <= 0 {
		return errors.New("--nodes, --pods and --clients must be positive")
	}
	if o.Rate < 0 || o.Timeout < 0 {
		return errors.New("--rate and --timeout must not be negative")
	}
	return nil
}

// runTimeout is the bound of a run of pods: 3 minutes plus 0.1 s per pod
// (10 pods/s at worst) unless set.
func runTimeout(set time.Duration, pods int) time.Duration {
	if set > 0 {
		return set
	}
	return 3*time.Minute + time.Duration(pods)*100*time.Millisecond
}
