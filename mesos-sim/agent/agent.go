package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	memcg "github.com/kubemesos/kubemesos/internal/cgroup"
	"github.com/kubemesos/kubemesos/internal/clock"
	"github.com/kubemesos/kubemesos/mesos-sim/agentproto"
	"github.com/kubemesos/kubemesos/mesos-sim/fetcher"
)

// ErrGone is returned by Run when the master marked the agent gone.
var ErrGone = errors.New("agent was marked gone by the master")

// Agent is one process agent.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	clock   clock.Clock
	ln      net.Listener
	srv     *http.Server
	fetcher fetcher.Fetcher
	// ctx ends when Run returns; fetches and launches use it.
	ctx    context.Context
	cancel context.CancelFunc
	// launchSlots bounds the command tasks being launched at once;
	// launching counts the launch goroutines (Run waits for them).
	launchSlots chan struct{}
	launching   sync.WaitGroup
	cgroups     sync.WaitGroup // cgroup removals under way
	// memcg is the memory controller containers are limited with; nil
	// when there is no isolation. oom watches the containers' limits.
	memcg *memcg.Controller
	oom   oomWatcher
	// devNull is the standard input of every child process.
	devNull *os.File

	gone       chan struct{}
	goneOnce   sync.Once
	registered chan struct{}
	regOnce    sync.Once

	mu           sync.Mutex
	id           string
	registering  bool
	lastPing     time.Time
	frameworks   map[string]*framework
	shuttingDown bool
	// checkpointedID is the agent ID recorded under meta/.
	checkpointedID string
	// recovering: the agent recovered checkpointed executors and waits
	// for them to subscribe before it registers (recover.go); updates and
	// executor exits wait for the registration (exitedLater).
	recovering  bool
	recovered   chan struct{} // closed when recovery ends
	exitedLater []agentproto.Exited
}

// framework is what the agent knows of one framework.
type framework struct {
	info      mesos.FrameworkInfo
	id        string
	executors map[string]*executor
	tasks     map[string]*task
}

// New validates cfg and binds the agent's listener; Run serves it.
func New(cfg Config) (*Agent, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("agent cannot listen on %s: %w", cfg.Listen, err)
	}
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("agent cannot open %s: %w", os.DevNull, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &Agent{
		cfg:         cfg,
		log:         cfg.Logger,
		clock:       cfg.Clock,
		ln:          ln,
		fetcher:     fetcher.Fetcher{Client: cfg.HTTPClient, CacheDir: filepath.Join(cfg.WorkDir, "cache", "fetch")},
		ctx:         ctx,
		cancel:      cancel,
		launchSlots: make(chan struct{}, cfg.LaunchConcurrency),
		devNull:     devNull,
		gone:        make(chan struct{}),
		registered:  make(chan struct{}),
		frameworks:  map[string]*framework{},
	}
	if cfg.Isolation == IsolationAuto {
		c, err := memcg.Detect(cfg.CgroupRoot)
		if err != nil {
			a.log.Info("no memory isolation: containers run without memory limits", "isolation", IsolationNone, "reason", err.Error())
		} else {
			a.memcg = c
			a.log.Info("memory isolation with cgroups", "isolation", IsolationMemory, "cgroup_version", c.Version(), "hierarchy", c.Dir())
			a.removeStaleCgroups()
		}
	} else {
		a.log.Info("no memory isolation: disabled by configuration", "isolation", IsolationNone)
	}
	if err := a.recoverState(); err != nil {
		_ = ln.Close()
		_ = devNull.Close()
		cancel()
		return nil, fmt.Errorf("agent recovery from %s: %w", cfg.WorkDir, err)
	}
	a.srv = &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	return a, nil
}

// Endpoint is the agent's HTTP address, host:port.
func (a *Agent) Endpoint() string { return a.ln.Addr().String() }

// URL is the agent's base URL.
func (a *Agent) URL() string { return "http://" + a.Endpoint() }

// ID is the agent ID the master gave, "" before registration.
func (a *Agent) ID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.id
}

// Registered is closed once the agent first registered.
func (a *Agent) Registered() <-chan struct{} { return a.registered }

// Run serves the agent's endpoint, registers with the master and runs until
// ctx ends (then it kills its executors and tasks) or the master marks it
// gone (ErrGone).
func (a *Agent) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- a.srv.Serve(a.ln) }()
	go a.finishRecovery()
	go a.watchPings()
	var err error
	select {
	case <-ctx.Done():
	case <-a.gone:
		err = ErrGone
	case err = <-errc:
		err = fmt.Errorf("agent http server: %w", err)
	}
	a.stopAll()
	a.cancel()
	// No launch starts after stopAll; those under way end quickly once
	// the context is done.
	a.launching.Wait()
	_ = a.devNull.Close()
	a.removeCgroupParent()
	a.oom.close()
	// Its processes are gone: give in-flight requests a moment, then close
	// every connection (Shutdown alone waits for connections a client
	// dialed but never used).
	shutdownCtx, done := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer done()
	_ = a.srv.Shutdown(shutdownCtx)
	_ = a.srv.Close()
	a.cfg.HTTPClient.CloseIdleConnections()
	return err
}

// stopAll kills every process of the agent and waits a little for them to
// be reaped, except the executors of checkpointing frameworks: they outlive
// the agent (detached, in sessions of their own) and subscribe to its next
// run.
func (a *Agent) stopAll() {
	a.mu.Lock()
	a.shuttingDown = true
	var waits []<-chan struct{}
	for _, fw := range a.frameworks {
		for _, e := range fw.executors {
			if a.survives(e) {
				a.log.Info("executor left running for the agent's next run", "executor_id", e.id(), "framework_id", fw.id)
				e.stopTimers()
				if e.stream != nil {
					e.stream.Close(nil)
				}
				e.oomWatch.stop()
				e.cgroup = nil // left in place, with the executor in it
				continue
			}
			e.killProcesses()
			waits = append(waits, e.allExited()...)
			if e.stream != nil {
				e.stream.Close(nil)
			}
		}
		for _, t := range fw.tasks {
			t.stopTimers()
		}
	}
	a.mu.Unlock()
	deadline := time.After(5 * time.Second)
	for _, w := range waits {
		select {
		case <-w:
		case <-deadline:
			return
		}
	}
}

// info is the AgentInfo the agent registers with. Callers hold a.mu.
func (a *Agent) info() mesos.AgentInfo {
	_, portText, _ := net.SplitHostPort(a.Endpoint())
	port, _ := strconv.Atoi(portText)
	p := int32(port)
	info := mesos.AgentInfo{
		Hostname:   a.cfg.Hostname,
		Port:       &p,
		Resources:  a.cfg.Resources,
		Attributes: a.cfg.Attributes,
	}
	if a.id != "" {
		info.ID = &mesos.AgentID{Value: a.id}
	}
	return info
}

var agentCapabilities = []mesos.AgentInfo_Capability{
	{Type: mesos.AgentInfo_Capability_MULTI_ROLE},
	{Type: mesos.AgentInfo_Capability_HIERARCHICAL_ROLE},
	{Type: mesos.AgentInfo_Capability_RESERVATION_REFINEMENT},
	{Type: mesos.AgentInfo_Capability_TASK_RESOURCE_LIMITS},
}

// registration builds a (re-)registration with everything the agent runs.
func (a *Agent) registration(reregister bool) agentproto.Registration {
	a.mu.Lock()
	defer a.mu.Unlock()
	reg := agentproto.Registration{
		Info:         a.info(),
		Capabilities: agentCapabilities,
		Endpoint:     a.Endpoint(),
		Version:      Version,
		Reregister:   reregister,
		Batches:      true,
	}
	for _, fw := range a.frameworks {
		for _, t := range fw.tasks {
			reg.Tasks = append(reg.Tasks, t.asTask(a.id))
		}
		for _, e := range fw.executors {
			if !e.command {
				info := e.info
				info.FrameworkID = &mesos.FrameworkID{Value: fw.id}
				reg.Executors = append(reg.Executors, info)
			}
		}
	}
	return reg
}

// registerLoop (re-)registers until the master accepts, with back-off
// (Mesos: REGISTER_RETRY_INTERVAL_MAX = 1 min), then resends the status
// updates in flight.
func (a *Agent) registerLoop(reregister bool) {
	a.mu.Lock()
	if a.registering {
		a.mu.Unlock()
		return
	}
	a.registering = true
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.registering = false
		a.mu.Unlock()
	}()
	backoff := 100 * time.Millisecond
	for {
		reg := a.registration(reregister || a.ID() != "")
		id, err := a.register(reg)
		if err == nil {
			a.mu.Lock()
			first := a.id == ""
			a.id = id
			a.lastPing = a.clock.Now()
			a.checkpointAgent()
			a.recovering = false
			for _, fw := range a.frameworks {
				for _, t := range fw.tasks {
					if len(t.pending) > 0 {
						a.forwardHead(t)
					}
				}
			}
			for _, msg := range a.exitedLater {
				a.postExited(msg)
			}
			a.exitedLater = nil
			a.mu.Unlock()
			a.log.Info("agent registered with the master", "agent_id", id, "endpoint", a.Endpoint(), "reregistered", !first)
			a.regOnce.Do(func() { close(a.registered) })
			return
		}
		if errors.Is(err, ErrGone) {
			a.markGone()
			return
		}
		if var400 := (*masterError)(nil); errors.As(err, &var400) && var400.code == http.StatusBadRequest {
			a.log.Warn("the master refused the registration; retrying", "error", err, "backoff", backoff)
		} else {
			a.log.Debug("registration failed; retrying", "error", err, "backoff", backoff)
		}
		select {
		case <-a.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, a.cfg.RegisterRetryMax)
	}
}

// watchPings registers the agent again when the master has not pinged it
// for MasterPingTimeout, as a Mesos agent re-detects its master.
func (a *Agent) watchPings() {
	period := max(a.cfg.MasterPingTimeout/4, 10*time.Millisecond)
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-tick.C:
		}
		a.mu.Lock()
		// A recovering agent registers once its executors are back (or
		// their time is up); the master cannot have pinged it before.
		silent := a.id != "" && !a.registering && !a.recovering && a.clock.Now().Sub(a.lastPing) > a.cfg.MasterPingTimeout
		if silent {
			a.lastPing = a.clock.Now()
		}
		a.mu.Unlock()
		if silent {
			a.log.Info("no ping from the master; registering again", "timeout", a.cfg.MasterPingTimeout)
			go a.registerLoop(true)
		}
	}
}

func (a *Agent) markGone() {
	a.goneOnce.Do(func() { close(a.gone) })
}

func (a *Agent) register(reg agentproto.Registration) (string, error) {
	var out agentproto.Registered
	code, err := a.postMaster(agentproto.PathRegister, reg, &out)
	switch {
	case err != nil:
		return "", err
	case code == http.StatusGone:
		return "", ErrGone
	case out.AgentID == "":
		return "", errors.New("master returned no agent id")
	}
	return out.AgentID, nil
}

// postMaster posts v as JSON to the master and decodes a 2xx answer into out
// (if not nil). A non-2xx answer is an error, except 410 (returned as code).
func (a *Agent) postMaster(path string, v, out any) (int, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(a.ctx, http.MethodPost, a.cfg.MasterURL+path, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusGone {
		return resp.StatusCode, nil
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, &masterError{code: resp.StatusCode, text: string(bytes.TrimSpace(body))}
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode master answer: %w", err)
		}
	}
	return resp.StatusCode, nil
}

type masterError struct {
	code int
	text string
}

func (e *masterError) Error() string { return fmt.Sprintf("master answered %d: %s", e.code, e.text) }

// unknownAgent reports whether the master answered that it does not know
// the agent (it was marked unreachable): the agent must register again.
func unknownAgent(err error) bool {
	var me *masterError
	return errors.As(err, &me) && me.code == http.StatusNotFound
}

// serveMaster receives the master's messages (agentproto.FromMaster).
func (a *Agent) serveMaster(w http.ResponseWriter, r *http.Request) {
	var msg agentproto.FromMaster
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err == nil {
		err = json.Unmarshal(body, &msg)
	}
	if err != nil {
		http.Error(w, fmt.Sprintf("invalid message: %v", err), http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	if a.id == "" && msg.AgentID != "" {
		// The master's first message can overtake its answer to the
		// registration.
		a.id = msg.AgentID
	}
	id := a.id
	if msg.AgentID != "" && msg.AgentID != id {
		a.mu.Unlock()
		http.Error(w, fmt.Sprintf("this is agent %s, not %s", id, msg.AgentID), http.StatusConflict)
		return
	}
	if msg.Kind == agentproto.KindPing {
		a.lastPing = a.clock.Now()
		a.mu.Unlock()
		w.WriteHeader(http.StatusOK)
		return
	}
	if msg.Kind == agentproto.KindBatch {
		// Each message applies on its own; the first error answers.
		for _, m := range msg.Batch {
			if e := a.handleMaster(m); e != nil && err == nil {
				err = e
			}
		}
	} else {
		err = a.handleMaster(msg)
	}
	a.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// handleMaster applies one message of the master. Callers hold a.mu.
func (a *Agent) handleMaster(msg agentproto.FromMaster) error {
	switch msg.Kind {
	case agentproto.KindRunTasks:
		if msg.Run == nil {
			return errors.New("run_tasks without run")
		}
		a.runTasks(*msg.Run)
	case agentproto.KindKillTask:
		a.killTask(msg.FrameworkID, msg.TaskID, msg.KillPolicy)
	case agentproto.KindShutdownExecutor:
		if fw := a.frameworks[msg.FrameworkID]; fw != nil {
			if e := fw.executors[msg.ExecutorID]; e != nil {
				a.shutdownExecutor(e)
			}
		}
	case agentproto.KindShutdownFramework:
		a.shutdownFramework(msg.FrameworkID)
	case agentproto.KindAcknowledge:
		a.acknowledge(msg.FrameworkID, msg.TaskID, msg.UUID)
	case agentproto.KindFrameworkMessage:
		a.frameworkMessage(msg.FrameworkID, msg.ExecutorID, msg.Data)
	case agentproto.KindShutdown:
		a.log.Warn("the master shut the agent down", "reason", msg.Reason)
		go a.markGone()
	default:
		return fmt.Errorf("unknown message kind %q", msg.Kind)
	}
	return nil
}

// Handler serves the agent's HTTP endpoints.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(agentproto.PathAgent, a.serveMaster)
	for _, p := range []string{"/api/v1/executor", "/slave(1)/api/v1/executor"} {
		mux.HandleFunc(p, a.serveExecutor)
	}
	for p, h := range map[string]http.HandlerFunc{
		"browse": a.serveBrowse, "read": a.serveRead, "download": a.serveDownload, "debug": a.serveDebug,
	} {
		mux.HandleFunc("/files/"+p, h)
		mux.HandleFunc("/files/"+p+".json", h)
	}
	for _, p := range []string{"/state", "/slave(1)/state", "/state.json", "/slave(1)/state.json"} {
		mux.HandleFunc(p, a.serveState)
	}
	for _, p := range []string{"/health", "/slave(1)/health"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	}
	return mux
}
