package master

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	opapi "github.com/mesos/mesos-go/api/v1/lib/master"

	"github.com/kubemesos/kubemesos/internal/clock"
	"github.com/kubemesos/kubemesos/mesos-sim/spec"
	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

// nopLink is an AgentLink that drops every message, for agents that exist
// only in the master's books.
type nopLink struct{}

func (nopLink) RunTasks(RunTasks)                          {}
func (nopLink) KillTask(string, string, *mesos.KillPolicy) {}
func (nopLink) ShutdownExecutor(string, string)            {}
func (nopLink) ShutdownFramework(string)                   {}
func (nopLink) AcknowledgeUpdate(string, string, []byte)   {}
func (nopLink) FrameworkMessage(string, string, []byte)    {}
func (nopLink) Ping() bool                                 { return true }
func (nopLink) Shutdown(string)                            {}

// clusterShape says how big a cluster buildCluster makes.
type clusterShape struct {
	agents     int
	frameworks int
	running    int // running tasks per framework
	completed  int // completed tasks per framework
}

// buildCluster makes a master holding registered agents and frameworks
// whose tasks are RUNNING (each with a STARTING and a RUNNING status, as
// agents report them) or completed, entered through the master's own
// bookkeeping (addTask, applyStatus, archiveTask) rather than offers.
func buildCluster(tb testing.TB, s clusterShape) *Master {
	tb.Helper()
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	m, err := New(Config{Clock: clk, Address: "127.0.0.1:5050"})
	if err != nil {
		tb.Fatal(err)
	}
	total, err := spec.ParseResources("cpus:32;mem:262144;disk:1048576;ports:[31000-32000]")
	if err != nil {
		tb.Fatal(err)
	}
	attrs, err := spec.ParseAttributes("rack:r1;zone:z1")
	if err != nil {
		tb.Fatal(err)
	}
	agentIDs := make([]string, s.agents)
	for i := range agentIDs {
		port := int32(5051)
		id, err := m.RegisterAgent(AgentRegistration{
			Info: mesos.AgentInfo{
				Hostname:   fmt.Sprintf("agent-%d.example.com", i),
				Port:       &port,
				Resources:  total.Clone(),
				Attributes: attrs,
			},
			Capabilities: []mesos.AgentInfo_Capability{
				{Type: mesos.AgentInfo_Capability_MULTI_ROLE},
				{Type: mesos.AgentInfo_Capability_HIERARCHICAL_ROLE},
			},
			Endpoint: fmt.Sprintf("10.%d.%d.%d:5051", i>>16&0xff, i>>8&0xff, i&0xff),
			Version:  "1.11.0",
		}, nopLink{})
		if err != nil {
			tb.Fatal(err)
		}
		agentIDs[i] = id
	}
	role := "bench"
	n := 0
	for f := 0; f < s.frameworks; f++ {
		info := &mesos.FrameworkInfo{User: "bench", Name: fmt.Sprintf("framework-%d", f), Role: &role}
		m.mu.Lock()
		fw, err := m.subscribeLocked(wire.NewStream(wire.JSON), newUUID(), info, nil, "")
		if err != nil {
			m.mu.Unlock()
			tb.Fatal(err)
		}
		for t := 0; t < s.running+s.completed; t++ {
			ag := m.agents[agentIDs[n%len(agentIDs)]]
			port := uint64(31000 + (n/len(agentIDs))%1000)
			n++
			ti := &mesos.TaskInfo{
				Name:    fmt.Sprintf("task-%d-%d", f, t),
				TaskID:  mesos.TaskID{Value: fmt.Sprintf("framework-%d.task-%d.%s", f, t, newUUID())},
				AgentID: mesos.AgentID{Value: ag.id},
				Resources: withAllocation([]mesos.Resource{
					scalarResource("cpus", 0.1), scalarResource("mem", 64), scalarResource("disk", 16),
					{Name: "ports", Type: mesos.RANGES.Enum(), Ranges: &mesos.Value_Ranges{Range: []mesos.Value_Range{{Begin: port, End: port}}}},
				}, role),
			}
			if t >= s.running {
				task := mesos.Task{
					Name: ti.Name, TaskID: ti.TaskID, FrameworkID: mesos.FrameworkID{Value: fw.id},
					AgentID: ti.AgentID, State: mesos.TASK_FINISHED.Enum(), Resources: ti.Resources,
					Statuses: []mesos.TaskStatus{m.benchStatus(ti, mesos.TASK_RUNNING), m.benchStatus(ti, mesos.TASK_FINISHED)},
				}
				m.archiveTask(fw, &task)
				continue
			}
			task := m.addTask(fw, ag, ti)
			m.applyStatus(task, m.benchStatus(ti, mesos.TASK_STARTING))
			m.applyStatus(task, m.benchStatus(ti, mesos.TASK_RUNNING))
		}
		m.mu.Unlock()
	}
	return m
}

// benchStatus is a reliable status update from an executor.
func (m *Master) benchStatus(ti *mesos.TaskInfo, state mesos.TaskState) mesos.TaskStatus {
	st := m.newStatus(ti.TaskID, ti.AgentID.Value, nil, state, mesos.REASON_RECONCILIATION, "")
	st.Reason = nil
	st.Source = mesos.SOURCE_EXECUTOR.Enum()
	st.UUID = newUUIDBytes()
	return st
}

func scalarResource(name string, v float64) mesos.Resource {
	return mesos.Resource{Name: name, Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: v}}
}

// discardResponse is a ResponseWriter that counts and drops the body.
type discardResponse struct {
	header http.Header
	code   int
	n      int
}

func (d *discardResponse) Header() http.Header  { return d.header }
func (d *discardResponse) WriteHeader(code int) { d.code = code }
func (d *discardResponse) Write(b []byte) (int, error) {
	d.n += len(b)
	return len(b), nil
}

// BenchmarkStateJSON measures /master/state at scale: rendering through the
// handler into a discarding writer (reporting the response size and the
// master's live heap after building the cluster, heap-MB, a proxy for its
// RSS), the part that holds the master's lock, and a whole request over
// real HTTP on loopback.
func BenchmarkStateJSON(b *testing.B) {
	for _, s := range []clusterShape{
		{agents: 10000, frameworks: 10, running: 10000},
		{agents: 20000, frameworks: 20, running: 10000},
		{agents: 20000, frameworks: 200, running: 1000, completed: 1000},
	} {
		name := fmt.Sprintf("agents=%d/running=%d/completed=%d", s.agents, s.frameworks*s.running, s.frameworks*s.completed)
		b.Run(name, func(b *testing.B) {
			m := buildCluster(b, s)
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heap := float64(ms.HeapInuse) / (1 << 20)
			op := newOperator(m)

			b.Run("handler", func(b *testing.B) {
				req := httptest.NewRequest(http.MethodGet, "/master/state", nil)
				w := &discardResponse{header: http.Header{}}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					w.n = 0
					op.serveState(w, req)
				}
				b.ReportMetric(float64(w.n)/(1<<20), "MB/response")
				b.ReportMetric(heap, "heap-MB")
			})
			b.Run("lock", func(b *testing.B) {
				// The part of a request that holds the master's lock.
				store := new([]mesos.Task)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					var v stateView
					m.mu.Lock()
					m.viewLocked(&v, store)
					m.mu.Unlock()
				}
			})
			b.Run("http", func(b *testing.B) {
				srv := httptest.NewServer(m.Handler())
				defer srv.Close()
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					resp, err := http.Get(srv.URL + "/master/state")
					if err != nil {
						b.Fatal(err)
					}
					if _, err := io.Copy(io.Discard, resp.Body); err != nil {
						b.Fatal(err)
					}
					resp.Body.Close()
				}
			})
		})
	}
}

// getState fetches a state endpoint through the handler and decodes it.
func getState(t *testing.T, h http.Handler, path string) (map[string]any, []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: %d %q", path, rec.Code, rec.Header().Get("Content-Type"))
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("GET %s: invalid JSON: %v\n%s", path, err, rec.Body.Bytes())
	}
	return out, rec.Body.Bytes()
}

func TestOperatorStateLayout(t *testing.T) {
	m := buildCluster(t, clusterShape{agents: 3, frameworks: 2, running: 4, completed: 2})
	h := m.Handler()
	for _, path := range []string{"/master/state", "/state", "/state.json", "/master/state.json"} {
		state, _ := getState(t, h, path)
		for _, key := range []string{"version", "build_date", "build_time", "build_user", "start_time", "elected_time",
			"id", "pid", "hostname", "capabilities", "activated_slaves", "deactivated_slaves", "unreachable_slaves",
			"leader", "leader_info", "flags", "slaves", "recovered_slaves", "frameworks", "completed_frameworks",
			"orphan_tasks", "unregistered_frameworks"} {
			if _, ok := state[key]; !ok {
				t.Errorf("%s: no %q", path, key)
			}
		}
		if state["version"] != "1.11.0" || state["activated_slaves"] != 3.0 || state["id"] != m.info.ID {
			t.Errorf("%s: version %v, activated_slaves %v, id %v", path, state["version"], state["activated_slaves"], state["id"])
		}
	}
	state, _ := getState(t, h, "/master/state")
	slaves := state["slaves"].([]any)
	if len(slaves) != 3 {
		t.Fatalf("%d slaves, want 3", len(slaves))
	}
	var used float64
	for _, s := range slaves {
		s := s.(map[string]any)
		for _, key := range []string{"id", "pid", "hostname", "port", "resources", "used_resources", "offered_resources",
			"reserved_resources", "unreserved_resources", "attributes", "active", "registered_time", "capabilities", "version"} {
			if _, ok := s[key]; !ok {
				t.Errorf("slave has no %q: %v", key, s)
			}
		}
		res := s["resources"].(map[string]any)
		if res["cpus"] != 32.0 || res["ports"] != "[31000-32000]" || res["gpus"] != 0.0 {
			t.Errorf("slave resources %v", res)
		}
		if attrs := s["attributes"].(map[string]any); attrs["rack"] != "r1" {
			t.Errorf("slave attributes %v", attrs)
		}
		used += s["used_resources"].(map[string]any)["cpus"].(float64)
	}
	if used < 0.7999 || used > 0.8001 {
		t.Errorf("slaves use %v cpus, want 0.8 (8 running tasks of 0.1)", used)
	}
	fws := state["frameworks"].([]any)
	if len(fws) != 2 {
		t.Fatalf("%d frameworks, want 2", len(fws))
	}
	fw := fws[0].(map[string]any)
	for _, key := range []string{"id", "name", "user", "role", "active", "connected", "failover_timeout", "checkpoint",
		"registered_time", "capabilities", "resources", "used_resources", "offered_resources", "tasks",
		"unreachable_tasks", "completed_tasks", "offers", "executors"} {
		if _, ok := fw[key]; !ok {
			t.Errorf("framework has no %q", key)
		}
	}
	if fw["role"] != "bench" || fw["active"] != true {
		t.Errorf("framework role %v active %v", fw["role"], fw["active"])
	}
	tasks := fw["tasks"].([]any)
	if len(tasks) != 4 || len(fw["completed_tasks"].([]any)) != 2 {
		t.Fatalf("%d tasks and %d completed, want 4 and 2", len(tasks), len(fw["completed_tasks"].([]any)))
	}
	task := tasks[0].(map[string]any)
	for _, key := range []string{"id", "name", "framework_id", "executor_id", "slave_id", "state", "resources", "role", "statuses"} {
		if _, ok := task[key]; !ok {
			t.Errorf("task has no %q: %v", key, task)
		}
	}
	if task["state"] != "TASK_RUNNING" || task["role"] != "bench" || task["framework_id"] != fw["id"] {
		t.Errorf("task %v", task)
	}
	statuses := task["statuses"].([]any)
	if len(statuses) != 2 || statuses[1].(map[string]any)["state"] != "TASK_RUNNING" {
		t.Errorf("statuses %v", statuses)
	}
	if ts := statuses[0].(map[string]any)["timestamp"].(float64); ts != 1.7e9 {
		t.Errorf("status timestamp %v, want 1.7e9", ts)
	}
	if res := task["resources"].(map[string]any); res["mem"] != 64.0 || !strings.HasPrefix(res["ports"].(string), "[31") {
		t.Errorf("task resources %v", res)
	}
}

func TestOperatorStateHasNoTaskData(t *testing.T) {
	m := buildCluster(t, clusterShape{agents: 1, frameworks: 1, running: 1})
	secret := []byte("very-secret-task-data")
	m.mu.Lock()
	var task *task
	for _, fw := range m.frameworks {
		for _, t := range fw.tasks {
			task = t
		}
	}
	st := m.masterStatus(task, mesos.TASK_RUNNING, mesos.REASON_TASK_HEALTH_CHECK_STATUS_UPDATED, "")
	st.Data = secret
	m.applyStatus(task, st)
	// An agent re-registering reports statuses as it kept them, data and all.
	task.t.Statuses = append(task.t.Statuses[:len(task.t.Statuses):len(task.t.Statuses)], st)
	m.mu.Unlock()

	// Protobuf carries the bytes as they are, JSON in base64.
	b64, _ := json.Marshal(secret)
	encoded := []string{string(secret), strings.Trim(string(b64), `"`)}

	h := m.Handler()
	for _, path := range []string{"/master/state", "/master/frameworks", "/master/tasks", "/master/state-summary"} {
		_, body := getState(t, h, path)
		for _, e := range encoded {
			if bytes.Contains(body, []byte(e)) {
				t.Errorf("%s shows task data", path)
			}
		}
		if bytes.Contains(body, []byte(`"data"`)) {
			t.Errorf("%s has a data field", path)
		}
	}
	for _, c := range []wire.Codec{wire.JSON, wire.Protobuf} {
		body := mustMarshalCall(t, c, `{"type":"GET_STATE"}`)
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/api/v1", bytes.NewReader(body))
		req.Header.Set("Content-Type", c.MediaType)
		req.Header.Set("Accept", c.MediaType)
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET_STATE: %d %s", rec.Code, rec.Body)
		}
		for _, e := range encoded {
			if bytes.Contains(rec.Body.Bytes(), []byte(e)) {
				t.Errorf("GET_STATE (%s) shows task data", c.MediaType)
			}
		}
	}
}

// mustMarshalCall encodes an operator call given as JSON in codec c.
func mustMarshalCall(t *testing.T, c wire.Codec, callJSON string) []byte {
	t.Helper()
	var call opapi.Call
	if err := wire.JSON.Unmarshal([]byte(callJSON), &call); err != nil {
		t.Fatal(err)
	}
	b, err := c.Marshal(&call)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAppendFloatLikeMesos(t *testing.T) {
	for v, want := range map[float64]string{
		4: "4.0", 0.25: "0.25", 8192: "8192.0", 1700000000.5: "1700000000.5", 1e20: "1.0e+20",
		-3: "-3.0", 0.1 + 0.2: "0.3", 1e-7: "1.0e-07",
	} {
		if got := string(appendFloat(nil, v)); got != want {
			t.Errorf("appendFloat(%v) = %s, want %s", v, got, want)
		}
	}
}

func TestAppendStringEscapes(t *testing.T) {
	for _, s := range []string{"plain", `q"uote\`, "ctl\x01\n\t", "ünïcødé", "bad\xffutf8", "line\u2028sep"} {
		b := appendString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Errorf("appendString(%q) = %s: %v", s, b, err)
			continue
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); back != want {
			t.Errorf("appendString(%q) round-trips to %q", s, back)
		}
	}
}

func TestResourceSummaryMergesRanges(t *testing.T) {
	rs, err := spec.ParseResources("cpus:1;mem:2;ports:[31005-31010,31000-31004,31020-31020];disks:{a,b}")
	if err != nil {
		t.Fatal(err)
	}
	rs = append(rs, mesos.Resource{Name: "cpus", Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: 2}, Revocable: &mesos.Resource_RevocableInfo{}})
	var s resourceSummary
	got := string(appendResources(nil, rs, &s))
	want := `{"cpus":1.0,"disk":0.0,"gpus":0.0,"mem":2.0,"cpus_revocable":2.0,"ports":"[31000-31010, 31020-31020]","disks":"{a, b}"}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestOperatorSubscriberLimit(t *testing.T) {
	m := buildCluster(t, clusterShape{agents: 1})
	op := newOperator(m)
	op.subscribers.Store(DefaultMaxOperatorSubscribers)
	body := mustMarshalCall(t, wire.JSON, `{"type":"SUBSCRIBE"}`)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/api/v1", bytes.NewReader(body))
	req.Header.Set("Content-Type", wire.MediaTypeJSON)
	op.serveAPI(rec, req)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "1000") {
		t.Fatalf("subscriber %d: %d %s, want 503", DefaultMaxOperatorSubscribers+1, rec.Code, rec.Body)
	}
	if n := op.subscribers.Load(); n != DefaultMaxOperatorSubscribers {
		t.Errorf("refused subscriber left the count at %d", n)
	}
}

// TestParallelTaskRenderingIsIdentical: a task list long enough to be
// rendered in parallel comes out byte for byte as rendered one by one.
func TestParallelTaskRenderingIsIdentical(t *testing.T) {
	m := buildCluster(t, clusterShape{agents: 50, frameworks: 1, running: parallelTasks + taskChunk + 7})
	v := newOperator(m).takeView()
	var tasks []mesos.Task
	for i := range v.frameworks {
		tasks = append(tasks, v.frameworks[i].tasks...)
	}
	if len(tasks) < parallelTasks {
		t.Fatalf("only %d tasks; the parallel path needs %d", len(tasks), parallelTasks)
	}
	var sequential renderer
	for i := range tasks {
		if i > 0 {
			sequential.b = append(sequential.b, ',')
		}
		sequential.task(&tasks[i])
	}
	var out bytes.Buffer
	parallel := &renderer{jsonWriter: jsonWriter{w: &out}}
	parallel.tasks(len(tasks), func(i int) *mesos.Task { return &tasks[i] })
	parallel.flush()
	if !bytes.Equal(out.Bytes(), sequential.b) {
		t.Fatalf("parallel rendering differs: %d bytes vs %d", out.Len(), len(sequential.b))
	}
}
