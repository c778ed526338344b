package master

import (
	"net"
	"net/http"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/kubemesos/kubemesos/internal/buildinfo"
)

// operator serves the master's operator and observability endpoints: the
// v1 operator API (/api/v1), the JSON state endpoints (/master/state,
// /master/frameworks, ...), /metrics/snapshot, /health, /version and
// /master/redirect. It holds what those endpoints need besides the master
// itself: pools for state rendering and the operator event subscribers.
// Each Handler has its own.
type operator struct {
	m     *Master
	build mesos.VersionInfo
	// BuildTime and BuildDate of build, kept unboxed for the JSON writers.
	buildFacts buildFacts
	flags      []mesos.Flag

	taskStores  sync.Pool // *[]mesos.Task, backing store of state views
	buffers     sync.Pool // *[]byte, JSON output buffers
	subscribers atomic.Int64
}

// buildFacts is what /version and /master/state say about the build.
type buildFacts struct {
	Version   string
	GitSHA    string
	BuildDate string
	BuildTime float64
	BuildUser string
}

// buildUser is reported as the build user (Mesos reports the Unix user that
// compiled it).
const buildUser = "kubemesos"

// newOperator returns the operator endpoints of m.
func newOperator(m *Master) *operator {
	op := &operator{m: m, buildFacts: currentBuild(), flags: masterFlags(m.cfg)}
	f := op.buildFacts
	op.build = mesos.VersionInfo{Version: f.Version, BuildDate: &f.BuildDate, BuildTime: &f.BuildTime, BuildUser: &f.BuildUser}
	if f.GitSHA != "" {
		op.build.GitSHA = &f.GitSHA
	}
	return op
}

// currentBuild reads the build facts: the Mesos version mesos-sim speaks,
// the commit, and the build time stamped by the Makefile or, failing that,
// by the Go toolchain's VCS information.
func currentBuild() buildFacts {
	info := buildinfo.Get()
	f := buildFacts{Version: buildinfo.MesosVersion, GitSHA: info.Commit, BuildUser: buildUser}
	stamp := info.BuildDate
	if stamp == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.time" {
					stamp = s.Value
				}
			}
		}
	}
	if t, err := time.Parse(time.RFC3339, stamp); err == nil {
		f.BuildDate = t.UTC().Format("2006-01-02 15:04:05")
		f.BuildTime = float64(t.Unix())
	}
	return f
}

// masterFlags lists the master's configuration as Mesos' flags, for
// /master/state, /master/flags and GET_FLAGS.
func masterFlags(cfg Config) []mesos.Flag {
	host, port, _ := net.SplitHostPort(cfg.Address)
	flags := map[string]string{
		"allocation_interval":                   formatDuration(cfg.AllocationInterval),
		"agent_ping_timeout":                    formatDuration(cfg.AgentPingTimeout),
		"max_agent_ping_timeouts":               strconv.Itoa(cfg.MaxAgentPingTimeouts),
		"max_completed_frameworks":              strconv.Itoa(cfg.MaxCompletedFrameworks),
		"max_completed_tasks_per_framework":     strconv.Itoa(cfg.MaxCompletedTasksPerFramework),
		"max_unreachable_tasks_per_framework":   strconv.Itoa(cfg.MaxUnreachableTasksPerFramework),
		"max_operator_event_stream_subscribers": strconv.Itoa(DefaultMaxOperatorSubscribers),
		"hostname":                              cfg.Hostname,
		"ip":                                    host,
		"port":                                  port,
		"authenticate_frameworks":               "false",
		"authenticate_http_frameworks":          strconv.FormatBool(cfg.Credentials != nil),
		"authenticate_http_readonly":            "false",
		"authenticate_http_readwrite":           "false",
		"min_allocatable_resources":             formatMinAllocatable(cfg.MinAllocatable),
		"root_submissions":                      "true",
		"filter_gpu_resources":                  "true",
		"allocator":                             "hierarchical",
		"framework_sorter":                      "drf",
		"role_sorter":                           "drf",
		"registry":                              "in_memory",
	}
	if cfg.OfferTimeout > 0 {
		flags["offer_timeout"] = formatDuration(cfg.OfferTimeout)
	}
	if len(cfg.Weights) > 0 {
		var ws []string
		for role, w := range cfg.Weights {
			ws = append(ws, role+"="+strconv.FormatFloat(w, 'g', -1, 64))
		}
		sort.Strings(ws)
		flags["weights"] = strings.Join(ws, ",")
	}
	out := make([]mesos.Flag, 0, len(flags))
	for name, value := range flags {
		out = append(out, mesos.Flag{Name: name, Value: &value})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// formatMinAllocatable renders quantity sets as Mesos' flag does:
// "cpus:0.01|mem:32".
func formatMinAllocatable(sets []map[string]float64) string {
	if len(sets) == 0 {
		return "cpus:0.01|mem:32"
	}
	parts := make([]string, 0, len(sets))
	for _, set := range sets {
		var names []string
		for name := range set {
			names = append(names, name)
		}
		sort.Strings(names)
		var qs []string
		for _, name := range names {
			qs = append(qs, name+":"+strconv.FormatFloat(set[name], 'g', -1, 64))
		}
		parts = append(parts, strings.Join(qs, ";"))
	}
	return strings.Join(parts, "|")
}

// formatDuration renders a duration as Mesos' stout does: in the largest
// unit that keeps the value at least 1 ("1secs", "15secs", "100ms").
func formatDuration(d time.Duration) string {
	units := []struct {
		size time.Duration
		name string
	}{
		{7 * 24 * time.Hour, "weeks"}, {24 * time.Hour, "days"}, {time.Hour, "hrs"},
		{time.Minute, "mins"}, {time.Second, "secs"}, {time.Millisecond, "ms"},
		{time.Microsecond, "us"},
	}
	for _, u := range units {
		if d >= u.size {
			return strconv.FormatFloat(float64(d)/float64(u.size), 'g', -1, 64) + u.name
		}
	}
	return strconv.FormatInt(int64(d), 10) + "ns"
}

// registerOperatorRoutes adds the operator and state endpoints. Mesos serves
// them under /master/ and, through libprocess' default delegate, also
// without the prefix; both are served. The .json aliases Mesos removed in
// 1.8 are kept for older tooling.
func (m *Master) registerOperatorRoutes(mux *http.ServeMux) {
	op := newOperator(m)
	both := func(path string, h http.HandlerFunc) {
		mux.HandleFunc(path, h)
		mux.HandleFunc("/master"+path, h)
	}
	both("/api/v1", op.serveAPI)
	both("/health", op.serveHealth)
	both("/redirect", op.serveRedirect)
	both("/state", op.serveState)
	both("/state.json", op.serveState)
	both("/state-summary", op.serveStateSummary)
	both("/frameworks", op.serveFrameworks)
	both("/slaves", op.serveSlaves)
	both("/tasks", op.serveTasks)
	both("/tasks.json", op.serveTasks)
	both("/roles", op.serveRoles)
	both("/weights", op.serveWeights)
	both("/flags", op.serveFlags)
	both("/teardown", op.serveTeardown)
	mux.HandleFunc("/version", op.serveVersion)
	mux.HandleFunc("/metrics/snapshot", op.serveMetrics)
}

// serveHealth is /master/health: 200 with an empty body.
func (op *operator) serveHealth(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusOK)
}

// serveRedirect is /master/redirect: a 307 to the leading master, which is
// always this one: Location is //host:port.
func (op *operator) serveRedirect(w http.ResponseWriter, _ *http.Request) {
	info := op.m.info
	w.Header().Set("Location", "//"+net.JoinHostPort(info.GetHostname(), strconv.FormatUint(uint64(info.GetPort()), 10)))
	w.WriteHeader(http.StatusTemporaryRedirect)
}

// serveVersion is /version, as libprocess' version process answers it.
func (op *operator) serveVersion(w http.ResponseWriter, r *http.Request) {
	f := op.buildFacts
	op.serveJSON(w, r, func(rd *renderer) {
		b := append(rd.b, `{"build_date":`...)
		b = appendString(b, f.BuildDate)
		b = append(b, `,"build_time":`...)
		b = appendFloat(b, f.BuildTime)
		b = append(b, `,"build_user":`...)
		b = appendString(b, f.BuildUser)
		if f.GitSHA != "" {
			b = append(b, `,"git_sha":`...)
			b = appendString(b, f.GitSHA)
		}
		b = append(b, `,"version":`...)
		b = appendString(b, f.Version)
		rd.b = append(b, '}')
	})
}

// serveFlags is /master/flags.
func (op *operator) serveFlags(w http.ResponseWriter, r *http.Request) {
	op.serveJSON(w, r, func(rd *renderer) {
		b := append(rd.b, `{"flags":{`...)
		for i, f := range op.flags {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f.Name)
			b = append(b, ':')
			b = appendString(b, f.GetValue())
		}
		rd.b = append(b, '}', '}')
	})
}
