package bench

import (
	"bytes"
	"context"
	"encoding/json"

	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kubemesos/kubemesos/internal/podbench"
	"github.com/kubemesos/kubemesos/mesos-sim/local"
)

// plannedRun is one child run.
type plannedRun struct {
	// group identifies the runs whose medians make one row.
	group int
	run   RunOptions
	label string
}

// plan lists the runs of o in order: for each throughput size, Runs rounds
// of every mode (A, B, A, B, ...); then the latency runs likewise; then the
// real-executor run of A.
func plan(o *Options) []plannedRun {
	var out []plannedRun
	group := 0
	add := func(rounds int, modes []string, base RunOptions, what string) {
		first := group
		for round := range rounds {
			for i, mode := range modes {
				r := base
				r.Mode = mode
				label := fmt.Sprintf("%s-%s-%dn-%dp-run%d", what, mode, r.Nodes, r.Pods, round+1)
				out = append(out, plannedRun{group: first + i, run: r, label: label})
			}
		}
		group += len(modes)
	}
	base := RunOptions{Agents: local.AgentsSim, Clients: o.Clients, Timeout: o.Timeout, LogLevel: "info", FrameworkFlags: o.FrameworkFlags}
	for i := range o.Nodes {
		r := base
		r.Nodes, r.Pods = o.Nodes[i], o.Pods[i]
		add(o.Runs, o.Modes, r, "throughput")
	}
	if o.Latency {
		r := base
		r.Nodes, r.Pods, r.Rate = o.LatencyNodes, o.LatencyPods, o.LatencyRate
		add(o.Runs, o.Modes, r, "latency")
	}
	if o.Executor {
		r := base
		r.Agents = local.AgentsProcess
		r.Nodes, r.Pods, r.Rate = o.ExecutorAgents, o.ExecutorPods, o.ExecutorRate
		add(1, []string{podbench.ModeKubemesos}, r, "executor")
	}
	return out
}

// args are the command-line arguments of a child run.
func (r RunOptions) args() []string {
	a := []string{"bench", "run", "--mode", r.Mode, "--agents", r.Agents,
		"--nodes", strconv.Itoa(r.Nodes), "--pods", strconv.Itoa(r.Pods),
		"--rate", strconv.FormatFloat(r.Rate, 'g', -1, 64), "--clients", strconv.Itoa(r.Clients),
		"--log-level", r.LogLevel}
	if r.Timeout > 0 {
		a = append(a, "--timeout", r.Timeout.String())
	}
	if r.CPUProfile != "" {
		a = append(a, "--cpuprofile", r.CPUProfile)
	}
	for _, f := range r.FrameworkFlags {
		a = append(a, "--framework-flag="+f)
	}
	return a
}

// runBench runs the plan, each run in a child process, prints the table
// and writes it into o.Output.
func runBench(ctx context.Context, o *Options, stdout, stderr io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	logDir, keepLogs := o.LogDir, o.LogDir != ""
	if logDir == "" {
		if logDir, err = os.MkdirTemp("", "kubemesos-bench-logs-"); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	if o.CPUProfile != "" {
		if err := os.MkdirAll(o.CPUProfile, 0o755); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
	}
	runs := plan(o)
	results := map[int][]podbench.Result{}
	var failed []string
	for i, p := range runs {
		if o.CPUProfile != "" {
			p.run.CPUProfile = filepath.Join(o.CPUProfile, "cpu-"+p.label+".pprof")
		}
		fmt.Fprintf(stderr, "kubemesos bench: [%d/%d] %s ... ", i+1, len(runs), p.label)
		began := time.Now()
		logFile := filepath.Join(logDir, p.label+".log")
		r, err := runChild(ctx, self, p.run, logFile)
		took := time.Since(began).Round(time.Second)
		switch {
		case ctx.Err() != nil:
			fmt.Fprintln(stderr, "interrupted")
			return ctx.Err()
		case err != nil:
			fmt.Fprintf(stderr, "failed after %s: %v (log: %s)\n", took, err, logFile)
			failed = append(failed, p.label)
			keepLogs = true
			r = podbench.Result{Mode: p.run.Mode, Nodes: p.run.Nodes, Pods: p.run.Pods, Rate: p.run.Rate, Unavailable: "failed: " + err.Error()}
			if p.run.Agents == local.AgentsProcess {
				r.Agents = p.run.Agents
			}
		case r.Unavailable != "":
			fmt.Fprintf(stderr, "mode %s unavailable: %s\n", r.Mode, r.Unavailable)
		default:
			fmt.Fprintf(stderr, "%.0f pods/s, p50 %.2fs, p99 %.2fs (%s)\n", r.PodsPerSecond, r.P50, r.P99, took)
		}
		results[p.group] = append(results[p.group], r)
		if !o.NoWrite && i+1 < len(runs) {
			// A long benchmark leaves what it has measured so far.
			table, err := renderTable(runs, results)
			if err != nil {
				return err
			}
			partial := fmt.Sprintf("*Partial: %d of %d runs done.*\n\n%s", i+1, len(runs), table)
			section := renderSection(podbench.ReadMachine(time.Now()), o.Clients, commandLine(), partial, "")
			if err := podbench.WriteSection(o.Output, section); err != nil {
				return err
			}
		}
	}
	if !keepLogs {
		os.RemoveAll(logDir)
	}

	table, err := renderTable(runs, results)
	if err != nil {
		return err
	}
	machine := podbench.ReadMachine(time.Now())
	fmt.Fprintf(stdout, "\n%s\n\n%s", machine, table)
	if o.CPUProfile != "" {
		fmt.Fprintf(stdout, "\nCPU profiles of the runs in %s (go tool pprof -top %s <file>)\n", o.CPUProfile, self)
	}
	if !o.NoWrite {
		section := renderSection(machine, o.Clients, commandLine(), table, profileTop(ctx, self, o.CPUProfile, runs))
		if err := podbench.WriteSection(o.Output, section); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "written to %s\n", o.Output)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d runs failed: %s (logs in %s)", len(failed), strings.Join(failed, ", "), logDir)
	}
	return nil
}

// renderTable is the table of the results so far.
func renderTable(runs []plannedRun, results map[int][]podbench.Result) (string, error) {
	var b bytes.Buffer
	err := podbench.WriteTable(&b, tableRows(runs, results))
	return b.String(), err
}

// tableRows are the medians of each group of runs that has results, in
// plan order.
func tableRows(runs []plannedRun, results map[int][]podbench.Result) []podbench.Row {
	var rows []podbench.Row
	seen := map[int]bool{}
	for _, p := range runs {
		if seen[p.group] || len(results[p.group]) == 0 {
			continue
		}
		seen[p.group] = true
		rs := results[p.group]
		ran := 0
		for _, r := range rs {
			if r.Unavailable == "" {
				ran++
			}
		}
		rows = append(rows, podbench.Row{Median: podbench.Medians(rs), Runs: ran})
	}
	return rows
}

// runChild runs one measured run as `kubemesos bench run` with its log in
// logFile, and decodes its result.
func runChild(ctx context.Context, self string, r RunOptions, logFile string) (podbench.Result, error) {
	log, err := os.Create(logFile)
	if err != nil {
		return podbench.Result{}, err
	}
	defer log.Close()
	cmd := exec.CommandContext(ctx, self, r.args()...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, log
	// Interrupted: let the child stop its control plane.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	if err := cmd.Run(); err != nil {
		return podbench.Result{}, fmt.Errorf("%w: %s", err, lastLine(logFile))
	}
	var res podbench.Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return podbench.Result{}, fmt.Errorf("the run's result: %w", err)
	}
	return res, nil
}

// lastLine is the last line of a file that says something, for errors.
func lastLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// commandLine is how this benchmark was started, to put in the report.
func commandLine() string {
	args := append([]string{"kubemesos"}, os.Args[1:]...)
	return strings.Join(args, " ")
}

// profileTop is `go tool pprof -top` of the A run's CPU profile at the
// largest throughput size (its first run), or "" when there is none or no
// go tool.
func profileTop(ctx context.Context, self, dir string, runs []plannedRun) string {
	if dir == "" {
		return ""
	}
	var best *plannedRun
	for i := range runs {
		p := &runs[i]
		if p.run.Mode != podbench.ModeKubemesos || p.run.Rate != 0 || p.run.Agents != local.AgentsSim {
			continue
		}
		if best == nil || p.run.Nodes > best.run.Nodes {
			best = p
		}
	}
	if best == nil {
		return ""
	}
	file := filepath.Join(dir, "cpu-"+best.label+".pprof")
	if _, err := os.Stat(file); err != nil {
		return ""
	}
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=25", self, file).Output()
	if err != nil {
		return ""
	}
	return fmt.Sprintf("CPU profile of A (%s), top entries by flat time:\n\n```\n%s```\n", best.label, trimPprof(string(out)))
}

// trimPprof drops pprof's header lines before "Showing nodes".
func trimPprof(s string) string {
	if i := strings.Index(s, "Showing nodes"); i >= 0 {
		return s[i:]
	}
	return s
}
