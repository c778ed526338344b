package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	mesosv1 "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubemesos/kubemesos/cmd/kubemesos/app/executorbin"
	"github.com/kubemesos/kubemesos/controlplane"
	"github.com/kubemesos/kubemesos/controlplane/datadir"
	"github.com/kubemesos/kubemesos/internal/logging"
	"github.com/kubemesos/kubemesos/internal/podbench"
	"github.com/kubemesos/kubemesos/kubescheduler"
	"github.com/kubemesos/kubemesos/mesos-sim/behavior"
	"github.com/kubemesos/kubemesos/mesos-sim/local"
	"github.com/kubemesos/kubemesos/mesos-sim/simagent"
	"github.com/kubemesos/kubemesos/mesos-sim/spec"
)

// Client limits of the benchmark's own client and the framework's: high
// enough that neither is what is measured.
const (
	clientQPS   = 5000
	clientBurst = 10000
	// warmupTimeout bounds the first pod, which also waits for the
	// scheduler to start.
	warmupTimeout = 2 * time.Minute
	// schedulerNameA is the scheduler name of A's pods.
	schedulerNameA = "kubemesos"
	stopTimeout    = 30 * time.Second
)

func newRunCommand(ctx context.Context, startFramework StartFramework) *cobra.Command {
	o := NewRunOptions()
	cmd := &cobra.Command{
		Use:    "run",
		Short:  "One measured run of `kubemesos bench` (its child process): prints the result as JSON",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			log, err := logging.New(cmd.ErrOrStderr(), o.LogLevel)
			if err != nil {
				return err
			}
			r, err := measureRun(ctx, o, startFramework, log)
			if err != nil {
				return err
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(r)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// measureRun starts a cluster of o.Mode in this process, lets one pod
// through to warm it up, and measures o.Pods pods.
func measureRun(ctx context.Context, o *RunOptions, startFramework StartFramework, log *slog.Logger) (podbench.Result, error) {
	unavailable := func(why string) (podbench.Result, error) {
		return podbench.Result{Mode: o.Mode, Agents: o.Agents, Nodes: o.Nodes, Pods: o.Pods, Rate: o.Rate, Unavailable: why}, nil
	}
	if o.Mode == podbench.ModeKubemesos {
		if startFramework == nil {
			return unavailable("this kubemesos has no framework")
		}
		if o.Agents == local.AgentsProcess {
			if why := executorMissing(); why != "" {
				return unavailable(why)
			}
		}
	}
	dir, err := os.MkdirTemp("", "kubemesos-bench-")
	if err != nil {
		return podbench.Result{}, err
	}
	defer os.RemoveAll(dir)
	layout := datadir.Layout{Dir: dir}
	if err := layout.Prepare(); err != nil {
		return podbench.Result{}, err
	}
	// kube-scheduler logs every binding at -v 2: keep klog at 0, as a
	// production scheduler would run.
	klogCloser, err := controlplane.RouteKlog(layout.Logs(), 0, nil)
	if err != nil {
		return podbench.Result{}, err
	}
	defer klogCloser.Close()

	began := time.Now()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return podbench.Result{}, err
	}
	cp, err := controlplane.Start(ctx, controlplane.Config{
		Layout: layout, Address: "127.0.0.1", APIPort: ln.Addr().(*net.TCPAddr).Port, APIListener: ln,
		Logger: log.With("component", "controlplane"),
	})
	if err != nil {
		return podbench.Result{}, err
	}
	defer stopLogged(log, "control plane", cp.Stop)
	// What runs against the control plane ends first (deferred later).
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go failOn(ctx, cancel, "control plane", cp.Err())
	log.Info("control plane ready", "took", time.Since(began).Round(time.Millisecond))

	restConfig := fastClient(cp.RESTConfig())
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return podbench.Result{}, err
	}
	var counters func(context.Context) (podbench.Counters, error)
	var schedulerName string
	switch o.Mode {
	case podbench.ModeBaseline:
		schedulerName = "default-scheduler"
		if err := startBaseline(ctx, cancel, o, cp.Kubeconfig(), filepath.Join(dir, "scheduler"), client, log); err != nil {
			return podbench.Result{}, err
		}
		counters = func(ctx context.Context) (podbench.Counters, error) { return apiCounters(ctx, client) }
	case podbench.ModeKubemesos:
		schedulerName = schedulerNameA
		mesosURL, stop, err := startKubemesos(ctx, cancel, o, startFramework, FrameworkEnv{
			Kubeconfig: cp.Kubeconfig(), RESTConfig: restConfig, Dir: filepath.Join(dir, "framework"),
			SchedulerName: schedulerName, Logger: log, Flags: o.FrameworkFlags,
		}, layout.Mesos(), log)
		if err != nil {
			return podbench.Result{}, err
		}
		defer stop()
		counters = func(ctx context.Context) (podbench.Counters, error) {
			c, err := apiCounters(ctx, client)
			if err != nil {
				return c, err
			}
			c.MesosCalls, c.OffersDeclined, err = mesosCounters(ctx, mesosURL)
			return c, err
		}
	}

	t := time.Now()
	if err := podbench.WaitNodesSchedulable(ctx, client, o.Nodes, nil); err != nil {
		return podbench.Result{}, causeOr(ctx, err)
	}
	log.Info("nodes schedulable", "nodes", o.Nodes, "took", time.Since(t).Round(time.Millisecond))
	warm, cancelWarm := context.WithTimeout(ctx, warmupTimeout)
	_, err = podbench.Measure(warm, podbench.Run{Client: client, Name: "warmup", Pods: 1, SchedulerName: schedulerName, Logger: log})
	cancelWarm()
	if err != nil {
		return podbench.Result{}, fmt.Errorf("warm-up pod: %w", causeOr(ctx, err))
	}

	if o.CPUProfile != "" {
		stopProfile, err := startProfile(o.CPUProfile)
		if err != nil {
			return podbench.Result{}, err
		}
		defer stopProfile()
	}
	measured, cancelMeasure := context.WithTimeout(ctx, runTimeout(o.Timeout, o.Pods))
	defer cancelMeasure()
	m, err := podbench.Measure(measured, podbench.Run{
		Client: client, Name: "bench", Pods: o.Pods, SchedulerName: schedulerName,
		Clients: o.Clients, Rate: o.Rate, Counters: counters, Logger: log,
	})
	if err != nil {
		return podbench.Result{}, causeOr(ctx, err)
	}
	r := podbench.NewResult(o.Mode, o.Nodes, o.Rate, m)
	if o.Mode == podbench.ModeKubemesos {
		r.Agents = o.Agents
	}
	log.Info("measured", "pods_per_second", r.PodsPerSecond, "p99", r.P99)
	return r, nil
}

// startBaseline starts B: fake nodes with their leases, the fake kubelet
// and the stock kube-scheduler.
func startBaseline(ctx context.Context, fail context.CancelCauseFunc, o *RunOptions, kubeconfig, schedulerDir string, client kubernetes.Interface, log *slog.Logger) error {
	names := make([]string, o.Nodes)
	for i := range names {
		names[i] = "node-" + strconv.Itoa(i)
	}
	t := time.Now()
	nodes := &podbench.FakeNodes{Client: client, Names: names, Logger: log.With("component", "fake-nodes")}
	if err := nodes.Create(ctx); err != nil {
		return err
	}
	log.Info("nodes created", "nodes", o.Nodes, "took", time.Since(t).Round(time.Millisecond))
	go func() { _ = nodes.Run(ctx) }()
	kubelet := &podbench.FakeKubelet{Client: client, Logger: log.With("component", "fake-kubelet")}
	go func() {
		if err := kubelet.Run(ctx); err != nil {
			fail(fmt.Errorf("fake kubelet: %w", err))
		}
	}()
	go func() {
		// The same client limits as mode A's framework and scheduler.
		err := kubescheduler.Run(ctx, kubescheduler.Config{Kubeconfig: kubeconfig, Dir: schedulerDir, QPS: clientQPS, Burst: clientBurst})
		if ctx.Err() == nil {
			fail(fmt.Errorf("kube-scheduler ended: %w", errOrNil(err)))
		}
	}()
	return nil
}

// startKubemesos starts A: mesos-sim with o.Nodes agents of o.Agents, then
// the framework with its kube-scheduler. It returns the master's URL and
// how to stop both.
func startKubemesos(ctx context.Context, fail context.CancelCauseFunc, o *RunOptions, startFramework StartFramework, env FrameworkEnv, workDir string, log *slog.Logger) (string, func(), error) {
	resources, err := spec.ParseResources(local.DefaultAgentResources)
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	t := time.Now()
	agents := o.Nodes
	if o.Agents == local.AgentsSim {
		agents = 0 // added below
	}
	mesos, err := local.Start(context.Background(), ln, local.Config{
		Agents: agents, AgentMode: o.Agents, AgentResources: resources, WorkDir: workDir,
		Logger: quiet(log).With("component", "mesos-sim"),
	})
	if err != nil {
		ln.Close()
		return "", nil, err
	}
	stopMesos := func() { stopLogged(log, "mesos-sim", mesos.Stop) }
	go failOn(ctx, fail, "mesos-sim", mesos.Err())
	if o.Agents == local.AgentsSim {
		if err := addSimAgents(ctx, mesos, o.Nodes, resources, log); err != nil {
			stopMesos()
			return "", nil, err
		}
	}
	log.Info("mesos-sim ready", "agents", o.Nodes, "mode", o.Agents, "took", time.Since(t).Round(time.Millisecond))

	env.MesosURL = mesos.URL
	if o.Agents == local.AgentsProcess {
		// As `kubemesos up` starts it: the slim executor this binary
		// embeds (else this binary), by a shell command line.
		executable, err := executorbin.Executable(workDir)
		if err != nil {
			stopMesos()
			return "", nil, err
		}
		env.ExecutorCommand = "exec '" + strings.ReplaceAll(executable, "'", `'\''`) + "' executor"
	}
	t = time.Now()
	fw, err := startFramework(ctx, env)
	if err != nil {
		stopMesos()
		return "", nil, fmt.Errorf("framework: %w", err)
	}
	go failOn(ctx, fail, "framework", fw.Err())
	log.Info("framework ready", "took", time.Since(t).Round(time.Millisecond))
	return mesos.URL, func() {
		if err := fw.Stop(); err != nil {
			log.Warn("framework stop", "error", err)
		}
		stopMesos()
	}, nil
}

// addSimAgents adds n simulated agents to the master, as local.Start does,
// but with hostnames that are addresses (127.x.y.z): the framework takes an
// agent's hostname, resolved, as its pods' host IP, and local's sim agents
// are named sim-agent-N, which resolves to nothing.
func addSimAgents(ctx context.Context, mesos *local.Cluster, n int, resources mesosv1.Resources, log *slog.Logger) error {
	cluster := simagent.NewCluster(mesos.Master, simagent.Config{Behavior: behavior.Default(), Logger: quiet(log).With("component", "simagent")})
	go cluster.Run(ctx)
	for i := range n {
		host := netip.AddrFrom4([4]byte{127, byte((i + 1) >> 16), byte((i + 1) >> 8), byte(i + 1)}).String()
		if _, err := cluster.AddAgent(simagent.AgentSpec{Hostname: host, Port: 5051, Resources: resources}); err != nil {
			return fmt.Errorf("sim agent %d: %w", i, err)
		}
	}
	return nil
}

// executorMissing says why this binary cannot run pod executors ("" when
// it can): process agents start `kubemesos executor`.
func executorMissing() string {
	self, err := os.Executable()
	if err != nil {
		return err.Error()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Without the command, cobra prints the root's usage instead.
	out, err := exec.CommandContext(ctx, self, "executor", "--help").CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("kubemesos executor")) {
		return "this kubemesos has no `kubemesos executor` (the pod executor)"
	}
	return ""
}

// fastClient raises a client configuration's limits and speaks protobuf.
func fastClient(c *rest.Config) *rest.Config {
	c.QPS, c.Burst = clientQPS, clientBurst
	c.ContentType = runtime.ContentTypeProtobuf
	c.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	return c
}

// apiCounters reads kube-apiserver's write count from its /metrics.
func apiCounters(ctx context.Context, client kubernetes.Interface) (podbench.Counters, error) {
	raw, err := client.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return podbench.Counters{}, fmt.Errorf("kube-apiserver metrics: %w", err)
	}
	byRequest, err := podbench.APIWritesByRequest(bytes.NewReader(raw))
	if err != nil {
		return podbench.Counters{}, err
	}
	c := podbench.Counters{WritesByRequest: byRequest}
	for _, v := range byRequest {
		c.APIWrites += v
	}
	return c, nil
}

// mesosCounters reads the master's scheduler calls and declined offers.
func mesosCounters(ctx context.Context, mesosURL string) (calls, declined float64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, mesosURL+"/metrics/snapshot", nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("mesos metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("mesos metrics: %s", resp.Status)
	}
	return podbench.MesosCounters(resp.Body)
}

// startProfile starts a CPU profile into path.
func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// failOn cancels the run with the first error on errc.
func failOn(ctx context.Context, fail context.CancelCauseFunc, what string, errc <-chan error) {
	select {
	case err, ok := <-errc:
		if ok && err != nil {
			fail(fmt.Errorf("%s: %w", what, err))
		}
	case <-ctx.Done():
	}
}

// causeOr is why ctx ended when a component failed, else err.
func causeOr(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

func errOrNil(err error) error {
	if err == nil {
		return errors.New("without an error")
	}
	return err
}

// stopLogged stops something, giving it stopTimeout, and logs a failure.
func stopLogged(log *slog.Logger, what string, stop func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := stop(ctx); err != nil {
		log.Warn("stop", "what", what, "error", err)
	}
}

// quiet passes on only warnings and errors: mesos-sim stands in for a Mesos
// cluster, and its info logs (one per agent and task) are not a cost of
// kubemesos.
func quiet(log *slog.Logger) *slog.Logger {
	return slog.New(minLevel{Handler: log.Handler(), min: slog.LevelWarn})
}

// minLevel is a handler that drops records below min.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}
