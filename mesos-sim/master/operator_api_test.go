package master_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding"
	mgcodecs "github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpmaster"
	opapi "github.com/mesos/mesos-go/api/v1/lib/master"
	"github.com/mesos/mesos-go/api/v1/lib/master/calls"
	"github.com/mesos/mesos-go/api/v1/lib/quota"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/kubemesos/kubemesos/mesos-sim/simtest"
	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

// opAnswer is an operator API answer as it came over the wire.
type opAnswer struct {
	code        int
	contentType string
	body        []byte
}

// opPost posts an operator call encoded with c, accepting c in return.
func opPost(t *testing.T, env *simtest.Env, c wire.Codec, call *opapi.Call) opAnswer {
	t.Helper()
	body, err := c.Marshal(call)
	if err != nil {
		t.Fatal(err)
	}
	return opPostRaw(t, env.URL+"/api/v1", c.MediaType, body, http.Header{"Accept": {c.MediaType}})
}

func opPostRaw(t *testing.T, url, contentType string, body []byte, header http.Header) opAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return opAnswer{resp.StatusCode, resp.Header.Get("Content-Type"), b}
}

// opGet makes a synchronous call and checks the answer: 200, the exact
// media type, and a Response of the matching type.
func opGet(t *testing.T, env *simtest.Env, c wire.Codec, call *opapi.Call) *opapi.Response {
	t.Helper()
	a := opPost(t, env, c, call)
	if a.code != http.StatusOK || a.contentType != c.MediaType {
		t.Fatalf("%s: %d %q %s; want 200 %s", call.Type, a.code, a.contentType, a.body, c.MediaType)
	}
	resp := &opapi.Response{}
	if err := c.Unmarshal(a.body, resp); err != nil {
		t.Fatalf("%s: decode: %v", call.Type, err)
	}
	if resp.Type.String() != call.Type.String() {
		t.Fatalf("%s answered a %s response", call.Type, resp.Type)
	}
	return resp
}

// opDo makes a mutation and checks that it answers 200 with no body and no
// Content-Type, as Mesos does and mesos-go requires.
func opDo(t *testing.T, env *simtest.Env, c wire.Codec, call *opapi.Call) {
	t.Helper()
	a := opPost(t, env, c, call)
	if a.code != http.StatusOK || a.contentType != "" || len(a.body) != 0 {
		t.Fatalf("%s: %d %q %q; want 200 with no body", call.Type, a.code, a.contentType, a.body)
	}
}

// opStream is an operator event subscription read off the wire.
type opStream struct {
	header http.Header
	events chan *opapi.Event
	cancel context.CancelFunc
}

func opSubscribe(t *testing.T, env *simtest.Env, c wire.Codec) *opStream {
	t.Helper()
	body, err := c.Marshal(calls.Subscribe())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, env.URL+"/api/v1", bytes.NewReader(body))
	req.Header.Set("Content-Type", c.MediaType)
	req.Header.Set("Accept", c.MediaType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != c.MediaType || resp.ContentLength != -1 {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("SUBSCRIBE: %d %q length %d: %s", resp.StatusCode, resp.Header.Get("Content-Type"), resp.ContentLength, b)
	}
	s := &opStream{header: resp.Header, events: make(chan *opapi.Event, 4096), cancel: cancel}
	go func() {
		defer close(s.events)
		defer resp.Body.Close()
		rr := wire.NewRecordReader(resp.Body)
		for {
			rec, err := rr.Next()
			if err != nil {
				return
			}
			ev := &opapi.Event{}
			if err := c.Unmarshal(rec, ev); err != nil {
				t.Errorf("decode event: %v", err)
				return
			}
			s.events <- ev
		}
	}()
	t.Cleanup(cancel)
	return s
}

// await returns the next event of the type that satisfies match (nil:
// any), skipping others.
func (s *opStream) await(t *testing.T, typ opapi.Event_Type, match func(*opapi.Event) bool) *opapi.Event {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatalf("stream ended while waiting for %s", typ)
			}
			if ev.Type == typ && (match == nil || match(ev)) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event within %v", typ, wait)
		}
	}
}

// runTask launches a command task on the first offer and waits for it to
// run.
func runTask(t *testing.T, s simtest.Client, id string) *mesos.Offer {
	t.Helper()
	offer := firstOffer(t, s)
	launch(t, s, offer, commandTask(id, offer, 1, 64))
	for {
		if st := awaitUpdate(t, s, id, true); st.GetState() == mesos.TASK_RUNNING {
			return offer
		}
	}
}

func TestOperatorReadCalls(t *testing.T) {
	forEachCodec(t, func(t *testing.T, c wire.Codec) {
		env := simtest.Start(t, simtest.Options{Agents: 2, Master: fastMaster()})
		s := subscribeRaw(t, env, c, frameworkInfo("reader"))
		runTask(t, s, "r1")

		if r := opGet(t, env, c, calls.GetHealth()); !r.GetHealth.Healthy {
			t.Error("GET_HEALTH: not healthy")
		}
		if r := opGet(t, env, c, calls.GetVersion()); r.GetVersion.VersionInfo.Version != "1.11.0" {
			t.Errorf("GET_VERSION: %v", r.GetVersion)
		}
		flags := map[string]string{}
		for _, f := range opGet(t, env, c, calls.GetFlags()).GetFlags.Flags {
			flags[f.Name] = f.GetValue()
		}
		if flags["allocation_interval"] != "50ms" || flags["max_completed_frameworks"] != "50" {
			t.Errorf("GET_FLAGS: %v", flags)
		}
		metrics := map[string]float64{}
		for _, m := range opGet(t, env, c, calls.GetMetrics(nil)).GetMetrics.Metrics {
			metrics[m.Name] = m.GetValue()
		}
		if metrics["master/elected"] != 1 || metrics["master/tasks_running"] != 1 || metrics["master/slaves_active"] != 2 {
			t.Errorf("GET_METRICS: elected %v, tasks_running %v, slaves_active %v",
				metrics["master/elected"], metrics["master/tasks_running"], metrics["master/slaves_active"])
		}
		if r := opGet(t, env, c, calls.GetMaster()); r.GetMaster.MasterInfo.ID != env.Master.Info().ID || r.GetMaster.GetStartTime() == 0 {
			t.Errorf("GET_MASTER: %v", r.GetMaster)
		}
		state := opGet(t, env, c, calls.GetState()).GetState
		if len(state.GetAgents.Agents) != 2 || len(state.GetFrameworks.Frameworks) != 1 || len(state.GetTasks.Tasks) != 1 {
			t.Errorf("GET_STATE: %d agents, %d frameworks, %d tasks", len(state.GetAgents.Agents),
				len(state.GetFrameworks.Frameworks), len(state.GetTasks.Tasks))
		}
		agents := opGet(t, env, c, calls.GetAgents()).GetAgents.Agents
		if len(agents) != 2 || !agents[0].Active || agents[0].AgentInfo.Hostname == "" {
			t.Errorf("GET_AGENTS: %v", agents)
		}
		fws := opGet(t, env, c, calls.GetFrameworks()).GetFrameworks.Frameworks
		if len(fws) != 1 || fws[0].FrameworkInfo.GetID().GetValue() != s.FrameworkID() || !fws[0].Connected {
			t.Errorf("GET_FRAMEWORKS: %v", fws)
		}
		tasks := opGet(t, env, c, calls.GetTasks()).GetTasks.Tasks
		if len(tasks) != 1 || tasks[0].TaskID.Value != "r1" || tasks[0].GetState() != mesos.TASK_RUNNING {
			t.Errorf("GET_TASKS: %v", tasks)
		}
		opGet(t, env, c, calls.GetExecutors())
		opGet(t, env, c, calls.GetOperations())
		opGet(t, env, c, calls.GetMaintenanceStatus())
		opGet(t, env, c, calls.GetMaintenanceSchedule())
		roles := opGet(t, env, c, calls.GetRoles()).GetRoles.Roles
		if len(roles) != 1 || roles[0].Name != "*" || len(roles[0].Frameworks) != 1 {
			t.Errorf("GET_ROLES: %v", roles)
		}
		if ws := opGet(t, env, c, calls.GetWeights()).GetWeights.WeightInfos; len(ws) != 0 {
			t.Errorf("GET_WEIGHTS with no weights set: %v", ws)
		}
		if q := opGet(t, env, c, calls.GetQuota()).GetQuota.Status; len(q.Configs) != 0 {
			t.Errorf("GET_QUOTA with no quota set: %v", q)
		}
	})
}

func TestOperatorStatusCodes(t *testing.T) {
	forEachCodec(t, func(t *testing.T, c wire.Codec) {
		env := simtest.Start(t, simtest.Options{Agents: 1})
		url := env.URL + "/api/v1"
		enc := func(call *opapi.Call) []byte { return mustMarshal(t, c, call) }
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
			t.Errorf("GET: %d Allow %q, want 405 POST", resp.StatusCode, resp.Header.Get("Allow"))
		}
		agentID := mesos.AgentID{Value: env.Agents[0].ID()}
		cases := []struct {
			name        string
			contentType string
			body        []byte
			header      http.Header
			want        int
			wantBody    string
		}{
			{"NoContentType", "", enc(calls.GetHealth()), nil, 400, "Content-Type"},
			{"UnsupportedMediaType", "application/xml", enc(calls.GetHealth()), nil, 415, "Content-Type"},
			{"Malformed", c.MediaType, []byte("MALFORMED"), nil, 400, "Failed to"},
			{"NoType", c.MediaType, enc(&opapi.Call{}), nil, 400, "'type'"},
			{"UnknownTypeNumber", c.MediaType, enc(&opapi.Call{Type: 999}), nil, 400, "Call"},
			{"MissingTeardown", c.MediaType, enc(&opapi.Call{Type: opapi.Call_TEARDOWN}), nil, 400, "'teardown'"},
			{"MissingGetMetrics", c.MediaType, enc(&opapi.Call{Type: opapi.Call_GET_METRICS}), nil, 400, "'get_metrics'"},
			{"NotAcceptable", c.MediaType, enc(calls.GetHealth()), http.Header{"Accept": {"text/html"}}, 406, "Accept"},
			{"UnknownFramework", c.MediaType, enc(calls.Teardown(mesos.FrameworkID{Value: "nope"})), nil, 400, "No framework found"},
			{"MarkUnknownAgentGone", c.MediaType, enc(calls.MarkAgentGone(mesos.AgentID{Value: "nope"})), nil, 404, "'nope' not found"},
			{"DeactivateUnknownAgent", c.MediaType, enc(calls.DeactivateAgent(mesos.AgentID{Value: "nope"})), nil, 400, "Unknown agent"},
			{"ReactivateActiveAgent", c.MediaType, enc(calls.ReactivateAgent(agentID)), nil, 400, "not deactivated"},
			{"InvalidWeightRole", c.MediaType, enc(calls.UpdateWeights(mesos.WeightInfo{Role: proto("-bad"), Weight: 2})), nil, 400, "Invalid role"},
			{"ZeroWeight", c.MediaType, enc(calls.UpdateWeights(mesos.WeightInfo{Role: proto("a"), Weight: 0})), nil, 400, "Weights must be positive"},
			{"QuotaOnStar", c.MediaType, enc(updateQuota(false, quotaConfig("*", 1, 1))), nil, 400, "'*' role"},
			{"QuotaGuaranteeAboveLimit", c.MediaType, enc(updateQuota(false, quotaConfig("q", 2, 1))), nil, 400, "not contained within"},
			{"QuotaOvercommit", c.MediaType, enc(updateQuota(false, quotaConfig("q", 1000, 1000))), nil, 400, "exceed cluster capacity"},
			{"NestedQuota", c.MediaType, enc(updateQuota(false, quotaConfig("a/b", 1, 1))), nil, 400, "nested role"},
			{"RemoveMissingQuota", c.MediaType, enc(calls.RemoveQuota("nope")), nil, 400, "no quota"},
			{"NotImplemented", c.MediaType, enc(calls.ListFiles("/")), nil, 501, "LIST_FILES"},
		}
		if c.IsJSON() {
			cases = append(cases, struct {
				name        string
				contentType string
				body        []byte
				header      http.Header
				want        int
				wantBody    string
			}{"UnknownTypeName", c.MediaType, []byte(`{"type":"NOT_A_CALL"}`), nil, 400, "Failed to convert JSON"})
		}
		for _, tc := range cases {
			a := opPostRaw(t, url, tc.contentType, tc.body, tc.header)
			if a.code != tc.want || !strings.Contains(string(a.body), tc.wantBody) {
				t.Errorf("%s: got %d %q, want %d with %q", tc.name, a.code, a.body, tc.want, tc.wantBody)
			}
		}
		// The /master prefix serves the same API.
		if a := opPostRaw(t, env.URL+"/master/api/v1", c.MediaType, enc(calls.GetHealth()), nil); a.code != http.StatusOK || a.contentType != wire.MediaTypeJSON {
			t.Errorf("/master/api/v1 without Accept: %d %q, want 200 JSON", a.code, a.contentType)
		}
	})
}

func proto[T any](v T) *T { return &v }

func quotaConfig(role string, guarantee, limit float64) quota.QuotaConfig {
	return quota.QuotaConfig{
		Role:       role,
		Guarantees: map[string]mesos.Value_Scalar{"cpus": {Value: guarantee}},
		Limits:     map[string]mesos.Value_Scalar{"cpus": {Value: limit}},
	}
}

func updateQuota(force bool, configs ...quota.QuotaConfig) *opapi.Call {
	return &opapi.Call{Type: opapi.Call_UPDATE_QUOTA, UpdateQuota: &opapi.Call_UpdateQuota{Force: &force, QuotaConfigs: configs}}
}

func TestOperatorWeights(t *testing.T) {
	forEachCodec(t, func(t *testing.T, c wire.Codec) {
		env := simtest.Start(t, simtest.Options{Agents: 1, Master: fastMaster()})
		info := frameworkInfo("weights")
		info.Role = proto("analytics")
		s := subscribeRaw(t, env, c, info)
		firstOffer(t, s)
		opDo(t, env, c, calls.UpdateWeights(
			mesos.WeightInfo{Role: proto("analytics"), Weight: 2.5},
			mesos.WeightInfo{Role: proto(" batch "), Weight: 0.5},
		))
		// The outstanding offer goes back: a role with frameworks changed weight.
		if _, err := s.Await(scheduler.Event_RESCIND, wait); err != nil {
			t.Errorf("no RESCIND after the weight change: %v", err)
		}
		got := map[string]float64{}
		for _, w := range opGet(t, env, c, calls.GetWeights()).GetWeights.WeightInfos {
			got[w.GetRole()] = w.Weight
		}
		if got["analytics"] != 2.5 || got["batch"] != 0.5 {
			t.Errorf("GET_WEIGHTS: %v", got)
		}
		weights := map[string]float64{}
		for _, r := range opGet(t, env, c, calls.GetRoles()).GetRoles.Roles {
			weights[r.Name] = r.Weight
		}
		if weights["analytics"] != 2.5 || weights["batch"] != 0.5 {
			t.Errorf("GET_ROLES weights: %v", weights)
		}

		// The JSON endpoints agree, and PUT /master/weights updates too.
		req, _ := http.NewRequest(http.MethodPut, env.URL+"/master/weights", strings.NewReader(`[{"weight":4,"role":"batch"}]`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT /master/weights: %v %v", resp, err)
		}
		resp.Body.Close()
		var listed []struct {
			Role   string  `json:"role"`
			Weight float64 `json:"weight"`
		}
		getJSON(t, env.URL+"/master/weights", &listed)
		if len(listed) != 2 || listed[1].Role != "batch" || listed[1].Weight != 4 {
			t.Errorf("/master/weights: %v", listed)
		}
		var roles struct {
			Roles []struct {
				Name       string   `json:"name"`
				Weight     float64  `json:"weight"`
				Frameworks []string `json:"frameworks"`
			} `json:"roles"`
		}
		getJSON(t, env.URL+"/master/roles", &roles)
		found := false
		for _, r := range roles.Roles {
			if r.Name == "analytics" {
				found = r.Weight == 2.5 && len(r.Frameworks) == 1 && r.Frameworks[0] == s.FrameworkID()
			}
		}
		if !found {
			t.Errorf("/master/roles: %+v", roles)
		}
	})
}

func TestOperatorQuota(t *testing.T) {
	forEachCodec(t, func(t *testing.T, c wire.Codec) {
		env := simtest.Start(t, simtest.Options{Agents: 2})
		opDo(t, env, c, updateQuota(false, quotaConfig("dev", 2, 3)))
		status := opGet(t, env, c, calls.GetQuota()).GetQuota.Status
		if len(status.Configs) != 1 || status.Configs[0].Role != "dev" ||
			status.Configs[0].Guarantees["cpus"].Value != 2 || status.Configs[0].Limits["cpus"].Value != 3 {
			t.Fatalf("GET_QUOTA: %v", status)
		}
		if len(status.Infos) != 1 || status.Infos[0].GetRole() != "dev" || len(status.Infos[0].Guarantee) != 1 {
			t.Errorf("GET_QUOTA legacy infos: %v", status.Infos)
		}
		// Guarantees beyond the cluster (8 cpus) need force.
		if a := opPost(t, env, c, updateQuota(false, quotaConfig("prod", 7, 7))); a.code != http.StatusBadRequest {
			t.Errorf("overcommitting quota: %d %s, want 400", a.code, a.body)
		}
		opDo(t, env, c, updateQuota(true, quotaConfig("prod", 7, 7)))
		// A config with neither guarantees nor limits removes the quota.
		opDo(t, env, c, updateQuota(false, quota.QuotaConfig{Role: "prod"}))
		opDo(t, env, c, calls.RemoveQuota("dev"))
		if q := opGet(t, env, c, calls.GetQuota()).GetQuota.Status; len(q.Configs) != 0 {
			t.Errorf("quota left after removal: %v", q)
		}
	})
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: %d %q", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func TestOperatorSubscribe(t *testing.T) {
	forEachCodec(t, func(t *testing.T, c wire.Codec) {
		cfg := fastMaster()
		cfg.HeartbeatInterval = 300 * time.Millisecond
		env := simtest.Start(t, simtest.Options{Agents: 2, Master: cfg})
		start := time.Now()
		ops := opSubscribe(t, env, c)
		sub := ops.await(t, opapi.Event_SUBSCRIBED, nil).Subscribed
		if sub.GetHeartbeatIntervalSeconds() != 0.3 || len(sub.GetState.GetAgents.Agents) != 2 {
			t.Fatalf("SUBSCRIBED: heartbeat %v, %d agents", sub.GetHeartbeatIntervalSeconds(), len(sub.GetState.GetAgents.Agents))
		}
		ops.await(t, opapi.Event_HEARTBEAT, nil)
		if since := time.Since(start); since < 250*time.Millisecond {
			t.Errorf("first HEARTBEAT after %v, want one interval", since)
		}

		info := frameworkInfo("watched", mesos.FrameworkInfo_Capability_PARTITION_AWARE)
		s := subscribeRaw(t, env, c, info)
		added := ops.await(t, opapi.Event_FRAMEWORK_ADDED, nil).FrameworkAdded
		if added.Framework.FrameworkInfo.GetID().GetValue() != s.FrameworkID() {
			t.Errorf("FRAMEWORK_ADDED for %v", added.Framework.FrameworkInfo.ID)
		}
		offer := runTask(t, s, "w1")
		ta := ops.await(t, opapi.Event_TASK_ADDED, nil).TaskAdded
		if ta.Task.TaskID.Value != "w1" || ta.Task.GetState() != mesos.TASK_STAGING {
			t.Errorf("TASK_ADDED: %v", ta.Task)
		}
		ops.await(t, opapi.Event_TASK_UPDATED, func(ev *opapi.Event) bool {
			return ev.TaskUpdated.Status.TaskID.Value == "w1" && ev.TaskUpdated.GetState() == mesos.TASK_RUNNING
		})

		opDo(t, env, c, calls.MarkAgentGone(offer.AgentID))
		gone := ops.await(t, opapi.Event_TASK_UPDATED, func(ev *opapi.Event) bool {
			return ev.TaskUpdated.Status.TaskID.Value == "w1"
		}).TaskUpdated
		if gone.GetState() != mesos.TASK_GONE_BY_OPERATOR || gone.FrameworkID.Value != s.FrameworkID() {
			t.Errorf("TASK_UPDATED after MARK_AGENT_GONE: %v", gone)
		}
		if removed := ops.await(t, opapi.Event_AGENT_REMOVED, nil).AgentRemoved; removed.AgentID != offer.AgentID {
			t.Errorf("AGENT_REMOVED for %v, want %v", removed.AgentID, offer.AgentID)
		}
		opDo(t, env, c, calls.Teardown(mesos.FrameworkID{Value: s.FrameworkID()}))
		ops.await(t, opapi.Event_FRAMEWORK_REMOVED, func(ev *opapi.Event) bool {
			return ev.FrameworkRemoved.FrameworkInfo.GetID().GetValue() == s.FrameworkID()
		})
	})
}

func TestOperatorMarkAgentGone(t *testing.T) {
	forEachCodec(t, func(t *testing.T, c wire.Codec) {
		env := simtest.Start(t, simtest.Options{Agents: 1, Master: fastMaster()})
		s := subscribeRaw(t, env, c, frameworkInfo("partition-aware", mesos.FrameworkInfo_Capability_PARTITION_AWARE))
		offer := runTask(t, s, "g1")
		opDo(t, env, c, calls.MarkAgentGone(offer.AgentID))
		st := awaitUpdate(t, s, "g1", true)
		if st.GetState() != mesos.TASK_GONE_BY_OPERATOR || st.GetReason() != mesos.REASON_AGENT_REMOVED_BY_OPERATOR || len(st.UUID) != 0 {
			t.Errorf("update after MARK_AGENT_GONE: %v %v uuid %x; want TASK_GONE_BY_OPERATOR, REASON_AGENT_REMOVED_BY_OPERATOR, none",
				st.GetState(), st.GetReason(), st.UUID)
		}
		if agents := opGet(t, env, c, calls.GetAgents()).GetAgents.Agents; len(agents) != 0 {
			t.Errorf("GET_AGENTS lists %d agents after MARK_AGENT_GONE", len(agents))
		}
		// Marking it again is fine, as in Mesos.
		opDo(t, env, c, calls.MarkAgentGone(offer.AgentID))
	})
}

func TestOperatorTeardownAndAgentActivation(t *testing.T) {
	forEachCodec(t, func(t *testing.T, c wire.Codec) {
		env := simtest.Start(t, simtest.Options{Agents: 1, Master: fastMaster()})
		s := subscribeRaw(t, env, c, frameworkInfo("doomed"))
		offer := firstOffer(t, s)

		opDo(t, env, c, calls.DeactivateAgent(offer.AgentID))
		if _, err := s.Await(scheduler.Event_RESCIND, wait); err != nil {
			t.Errorf("no RESCIND after DEACTIVATE_AGENT: %v", err)
		}
		agents := opGet(t, env, c, calls.GetAgents()).GetAgents.Agents
		if len(agents) != 1 || agents[0].Active || !agents[0].GetDeactivated() {
			t.Errorf("GET_AGENTS after DEACTIVATE_AGENT: %v", agents)
		}
		opDo(t, env, c, calls.ReactivateAgent(offer.AgentID))
		if _, err := s.Await(scheduler.Event_OFFERS, wait); err != nil {
			t.Errorf("no offer after REACTIVATE_AGENT: %v", err)
		}

		opDo(t, env, c, calls.Teardown(mesos.FrameworkID{Value: s.FrameworkID()}))
		if _, err := s.Await(scheduler.Event_UNKNOWN, wait); err == nil {
			t.Error("framework stream still open after TEARDOWN")
		}
		fws := opGet(t, env, c, calls.GetFrameworks()).GetFrameworks
		if len(fws.Frameworks) != 0 || len(fws.CompletedFrameworks) != 1 {
			t.Errorf("GET_FRAMEWORKS after TEARDOWN: %d active, %d completed", len(fws.Frameworks), len(fws.CompletedFrameworks))
		}
	})
}

// TestOperatorMesosGoClient drives the API with mesos-go's own operator
// client, which checks content types strictly.
func TestOperatorMesosGoClient(t *testing.T) {
	env := simtest.Start(t, simtest.Options{Agents: 1})
	for _, mt := range []encoding.MediaType{mgcodecs.MediaTypeProtobuf, mgcodecs.MediaTypeJSON} {
		cli := httpcli.New(httpcli.Endpoint(env.URL+"/api/v1"), httpcli.Codec(mgcodecs.ByMediaType[mt]))
		sender := httpmaster.NewSender(cli.Send)
		ctx := context.Background()
		get := func(call *opapi.Call) *opapi.Response {
			t.Helper()
			resp, err := sender.Send(ctx, calls.NonStreaming(call))
			if err != nil {
				t.Fatalf("%s (%s): %v", call.Type, mt, err)
			}
			defer resp.Close()
			var r opapi.Response
			if err := resp.Decode(&r); err != nil {
				t.Fatalf("%s (%s): decode: %v", call.Type, mt, err)
			}
			return &r
		}
		if r := get(calls.GetHealth()); !r.GetHealth.Healthy {
			t.Errorf("GET_HEALTH (%s): %v", mt, r)
		}
		if r := get(calls.GetState()); len(r.GetState.GetAgents.Agents) != 1 {
			t.Errorf("GET_STATE (%s): %v", mt, r.GetState.GetAgents)
		}
		resp, err := sender.Send(ctx, calls.NonStreaming(calls.UpdateWeights(mesos.WeightInfo{Role: proto("x"), Weight: 3})))
		if err != nil {
			t.Fatalf("UPDATE_WEIGHTS (%s): %v", mt, err)
		}
		if resp != nil { // mesos-go returns no response for a no-data call
			resp.Close()
		}

		sctx, cancel := context.WithCancel(ctx)
		resp, err = sender.Send(sctx, calls.NonStreaming(calls.Subscribe()))
		if err != nil {
			cancel()
			t.Fatalf("SUBSCRIBE (%s): %v", mt, err)
		}
		var ev opapi.Event
		if err := resp.Decode(&ev); err != nil || ev.Type != opapi.Event_SUBSCRIBED {
			t.Errorf("SUBSCRIBE (%s): first event %v, %v", mt, ev.Type, err)
		}
		resp.Close()
		cancel()
	}
}

func TestOperatorEndpoints(t *testing.T) {
	env := simtest.Start(t, simtest.Options{Agents: 1, Master: fastMaster()})
	s := subscribeRaw(t, env, wire.JSON, frameworkInfo("endpoints"))
	runTask(t, s, "e1")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		resp, err := noRedirect.Get(env.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	for _, p := range []string{"/health", "/master/health"} {
		if resp, b := get(p); resp.StatusCode != http.StatusOK || len(b) != 0 {
			t.Errorf("%s: %d %q, want 200 empty", p, resp.StatusCode, b)
		}
	}
	host := strings.TrimPrefix(env.URL, "http://")
	for _, p := range []string{"/redirect", "/master/redirect"} {
		if resp, _ := get(p); resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != "//"+host {
			t.Errorf("%s: %d Location %q, want 307 //%s", p, resp.StatusCode, resp.Header.Get("Location"), host)
		}
	}
	if resp, _ := get("/master/redirect/elsewhere"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/master/redirect/elsewhere: %d, want 404", resp.StatusCode)
	}
	var version map[string]any
	getJSON(t, env.URL+"/version", &version)
	if version["version"] != "1.11.0" || version["build_user"] == nil || version["build_time"] == nil {
		t.Errorf("/version: %v", version)
	}
	var metrics map[string]float64
	getJSON(t, env.URL+"/metrics/snapshot", &metrics)
	for _, name := range []string{"master/elected", "master/uptime_secs", "master/slaves_active", "master/frameworks_active",
		"master/tasks_running", "master/tasks_finished", "master/outstanding_offers", "master/cpus_total", "master/cpus_used",
		"master/cpus_percent", "master/mem_total", "master/disk_used", "master/valid_status_updates",
		"master/valid_status_update_acknowledgements", "master/dropped_messages", "master/messages_launch_tasks",
		"allocator/mesos/allocation_runs", "allocator/mesos/allocation_run_ms", "allocator/mesos/allocation_run_ms/p99"} {
		if _, ok := metrics[name]; !ok {
			t.Errorf("/metrics/snapshot has no %s", name)
		}
	}
	if metrics["master/tasks_running"] != 1 || metrics["master/cpus_used"] != 1 || metrics["master/messages_launch_tasks"] != 1 {
		t.Errorf("metrics: tasks_running %v, cpus_used %v, messages_launch_tasks %v",
			metrics["master/tasks_running"], metrics["master/cpus_used"], metrics["master/messages_launch_tasks"])
	}
	var fws struct {
		Frameworks []struct {
			ID    string `json:"id"`
			Tasks []struct {
				ID    string `json:"id"`
				State string `json:"state"`
			} `json:"tasks"`
		} `json:"frameworks"`
	}
	getJSON(t, env.URL+"/master/frameworks?framework_id="+s.FrameworkID(), &fws)
	if len(fws.Frameworks) != 1 || len(fws.Frameworks[0].Tasks) != 1 || fws.Frameworks[0].Tasks[0].State != "TASK_RUNNING" {
		t.Errorf("/master/frameworks: %+v", fws)
	}
	var slaves struct {
		Slaves []struct {
			ID   string `json:"id"`
			Used struct {
				Cpus float64 `json:"cpus"`
			} `json:"used_resources"`
		} `json:"slaves"`
	}
	getJSON(t, env.URL+"/master/slaves", &slaves)
	if len(slaves.Slaves) != 1 || slaves.Slaves[0].Used.Cpus != 1 {
		t.Errorf("/master/slaves: %+v", slaves)
	}
	var tasks struct {
		Tasks []struct {
			ID string `json:"id"`
		} `json:"tasks"`
	}
	getJSON(t, env.URL+"/master/tasks?limit=5&order=asc", &tasks)
	if len(tasks.Tasks) != 1 || tasks.Tasks[0].ID != "e1" {
		t.Errorf("/master/tasks: %+v", tasks)
	}
	if resp, _ := get("/master/tasks?limit=x"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("/master/tasks?limit=x: %d, want 400", resp.StatusCode)
	}
	var summary struct {
		Slaves []struct {
			ID           string   `json:"id"`
			Running      int      `json:"TASK_RUNNING"`
			FrameworkIDs []string `json:"framework_ids"`
		} `json:"slaves"`
		Frameworks []struct {
			ID       string   `json:"id"`
			Running  int      `json:"TASK_RUNNING"`
			SlaveIDs []string `json:"slave_ids"`
		} `json:"frameworks"`
	}
	getJSON(t, env.URL+"/master/state-summary", &summary)
	if len(summary.Slaves) != 1 || summary.Slaves[0].Running != 1 || len(summary.Slaves[0].FrameworkIDs) != 1 ||
		len(summary.Frameworks) != 1 || summary.Frameworks[0].Running != 1 || summary.Frameworks[0].SlaveIDs[0] != summary.Slaves[0].ID {
		t.Errorf("/master/state-summary: %+v", summary)
	}
	var flags struct {
		Flags map[string]string `json:"flags"`
	}
	getJSON(t, env.URL+"/master/flags", &flags)
	if flags.Flags["allocation_interval"] != "50ms" {
		t.Errorf("/master/flags: %v", flags.Flags)
	}
	resp, b := get("/master/state?jsonp=cb")
	if resp.Header.Get("Content-Type") != "text/javascript" || !bytes.HasPrefix(b, []byte("cb({")) || !bytes.HasSuffix(b, []byte("});")) {
		t.Errorf("/master/state?jsonp=cb: %q %.20s…", resp.Header.Get("Content-Type"), b)
	}
	form := strings.NewReader("frameworkId=" + s.FrameworkID())
	tr, err := http.Post(env.URL+"/master/teardown", "application/x-www-form-urlencoded", form)
	if err != nil || tr.StatusCode != http.StatusOK {
		t.Fatalf("/master/teardown: %v %v", tr, err)
	}
	tr.Body.Close()
	if _, err := s.Await(scheduler.Event_UNKNOWN, wait); err == nil {
		t.Error("framework stream still open after /master/teardown")
	}
}

// TestOperatorStateUnderChurn reads the state endpoints while the master
// changes, for the race detector.
func TestOperatorStateUnderChurn(t *testing.T) {
	env := simtest.Start(t, simtest.Options{Agents: 3, Master: fastMaster()})
	s := subscribeRaw(t, env, wire.JSON, frameworkInfo("churn"))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 20; i++ {
			for _, p := range []string{"/master/state", "/master/state-summary", "/master/tasks", "/metrics/snapshot"} {
				resp, err := http.Get(env.URL + p)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			_ = opPost(t, env, wire.Protobuf, calls.GetState())
		}
	}()
	for i := 0; i < 3; i++ {
		offer := firstOffer(t, s)
		id := "c" + string(rune('0'+i))
		launch(t, s, offer, commandTask(id, offer, 1, 64))
		awaitUpdate(t, s, id, true)
	}
	<-done
}
