package master_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/kubemesos/kubemesos/mesos-sim/master"
	"github.com/kubemesos/kubemesos/mesos-sim/simtest"
	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

const wait = 5 * time.Second

var codecs = []wire.Codec{wire.JSON, wire.Protobuf}

func frameworkInfo(name string, caps ...mesos.FrameworkInfo_Capability_Type) *mesos.FrameworkInfo {
	info := &mesos.FrameworkInfo{User: "tester", Name: name}
	for _, c := range caps {
		info.Capabilities = append(info.Capabilities, mesos.FrameworkInfo_Capability{Type: c})
	}
	return info
}

// clientKind is one way of talking to the scheduler API: the plain HTTP
// client in either encoding, or mesos-go's own httpsched client.
type clientKind struct {
	name      string
	subscribe func(env *simtest.Env, info *mesos.FrameworkInfo) (simtest.Client, error)
}

var clientKinds = []clientKind{
	{"json", func(env *simtest.Env, info *mesos.FrameworkInfo) (simtest.Client, error) {
		return simtest.Subscribe(env.SchedulerURL(), wire.JSON, info, nil)
	}},
	{"protobuf", func(env *simtest.Env, info *mesos.FrameworkInfo) (simtest.Client, error) {
		return simtest.Subscribe(env.SchedulerURL(), wire.Protobuf, info, nil)
	}},
	{"mesos-go", func(env *simtest.Env, info *mesos.FrameworkInfo) (simtest.Client, error) {
		return simtest.SubscribeMesosGo(env.SchedulerURL(), info)
	}},
}

// forEachClient runs a case once per client kind.
func forEachClient(t *testing.T, f func(t *testing.T, kind clientKind)) {
	for _, k := range clientKinds {
		t.Run(k.name, func(t *testing.T) { f(t, k) })
	}
}

// subscribe subscribes and checks that SUBSCRIBED comes first.
func subscribe(t *testing.T, env *simtest.Env, kind clientKind, info *mesos.FrameworkInfo) simtest.Client {
	t.Helper()
	s, err := kind.subscribe(env, info)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	t.Cleanup(s.Close)
	awaitSubscribed(t, s)
	return s
}

// subscribeRaw subscribes with the plain HTTP client, for tests that look
// at headers and stream ids.
func subscribeRaw(t *testing.T, env *simtest.Env, codec wire.Codec, info *mesos.FrameworkInfo) *simtest.Scheduler {
	t.Helper()
	s, err := simtest.Subscribe(env.SchedulerURL(), codec, info, nil)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	t.Cleanup(s.Close)
	awaitSubscribed(t, s)
	return s
}

func awaitSubscribed(t *testing.T, s simtest.Client) {
	t.Helper()
	ev, err := s.Next(wait)
	if err != nil {
		t.Fatalf("first event: %v", err)
	}
	if ev.Type != scheduler.Event_SUBSCRIBED {
		t.Fatalf("first event is %s (%v), want SUBSCRIBED", ev.Type, ev)
	}
}

// forEachCodec runs a case once per encoding of the v1 API.
func forEachCodec(t *testing.T, f func(t *testing.T, codec wire.Codec)) {
	for _, c := range codecs {
		name := "json"
		if !c.IsJSON() {
			name = "protobuf"
		}
		t.Run(name, func(t *testing.T) { f(t, c) })
	}
}

func TestStatusCodes(t *testing.T) {
	forEachCodec(t, func(t *testing.T, codec wire.Codec) {
		env := simtest.Start(t, simtest.Options{})
		url := env.SchedulerURL()
		s := subscribeRaw(t, env, codec, frameworkInfo("codes"))
		teardown := &scheduler.Call{Type: scheduler.Call_TEARDOWN, FrameworkID: &mesos.FrameworkID{Value: s.FrameworkID()}}
		validSubscribe := &scheduler.Call{Type: scheduler.Call_SUBSCRIBE, Subscribe: &scheduler.Call_Subscribe{FrameworkInfo: frameworkInfo("x")}}
		subscribeBody, _ := codec.Marshal(validSubscribe)

		get, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		get.Body.Close()
		if get.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GetRequest: got %d, want 405", get.StatusCode)
		}

		cases := []struct {
			name        string
			contentType string
			body        []byte
			header      http.Header
			want        int
			wantBody    string
		}{
			{"NoContentType", "", subscribeBody, nil, 400, "Content-Type"},
			{"UnsupportedContentMediaType", "application/xml", subscribeBody, nil, 415, "Content-Type"},
			{"MalformedContent", codec.MediaType, []byte("MALFORMED_CONTENT"), nil, 400, "Failed to"},
			{"NotAcceptable", codec.MediaType, subscribeBody, http.Header{"Accept": {"foo"}}, 406, "Accept"},
			{"SubscribeWithStreamId", codec.MediaType, subscribeBody, http.Header{"Mesos-Stream-Id": {"x"}}, 400, "should not include"},
			{"TeardownWithoutStreamId", codec.MediaType, mustMarshal(t, codec, teardown), nil, 400, "Mesos-Stream-Id"},
			{"TeardownWrongStreamId", codec.MediaType, mustMarshal(t, codec, teardown), http.Header{"Mesos-Stream-Id": {"wrong"}}, 400, "didn't match"},
			{"UnknownFramework", codec.MediaType, mustMarshal(t, codec, &scheduler.Call{Type: scheduler.Call_REVIVE, FrameworkID: &mesos.FrameworkID{Value: "nope"}}),
				http.Header{"Mesos-Stream-Id": {s.StreamID}}, 400, "Framework cannot be found"},
			{"MissingFrameworkID", codec.MediaType, mustMarshal(t, codec, &scheduler.Call{Type: scheduler.Call_REVIVE}), nil, 400, "framework_id"},
			{"MalformedUUID", codec.MediaType, mustMarshal(t, codec, &scheduler.Call{
				Type: scheduler.Call_ACKNOWLEDGE, FrameworkID: &mesos.FrameworkID{Value: s.FrameworkID()},
				Acknowledge: &scheduler.Call_Acknowledge{AgentID: mesos.AgentID{Value: "a"}, TaskID: mesos.TaskID{Value: "t"}, UUID: []byte("not-a-uuid")},
			}), http.Header{"Mesos-Stream-Id": {s.StreamID}}, 400, "UUID"},
			{"UnknownCallType", codec.MediaType, mustMarshal(t, codec, &scheduler.Call{Type: scheduler.Call_UNKNOWN, FrameworkID: &mesos.FrameworkID{Value: s.FrameworkID()}}),
				http.Header{"Mesos-Stream-Id": {s.StreamID}}, 501, "UNKNOWN"},
			{"MissingType", codec.MediaType, withoutType(t, codec, &scheduler.Call{Type: scheduler.Call_UNKNOWN, FrameworkID: &mesos.FrameworkID{Value: s.FrameworkID()}}),
				http.Header{"Mesos-Stream-Id": {s.StreamID}}, 400, "'type'"},
			{"MissingAcceptBody", codec.MediaType, mustMarshal(t, codec, &scheduler.Call{Type: scheduler.Call_ACCEPT, FrameworkID: &mesos.FrameworkID{Value: s.FrameworkID()}}),
				http.Header{"Mesos-Stream-Id": {s.StreamID}}, 400, "'accept'"},
		}
		if codec.IsJSON() {
			cases = append(cases, struct {
				name        string
				contentType string
				body        []byte
				header      http.Header
				want        int
				wantBody    string
			}{"ValidJsonButInvalidProtobuf", codec.MediaType, []byte(`{"string":"hello world"}`), nil, 400, "type"})
		}
		for _, c := range cases {
			code, body, err := simtest.PostRaw(url, c.contentType, c.body, c.header)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if code != c.want || !strings.Contains(body, c.wantBody) {
				t.Errorf("%s: got %d %q, want %d with %q", c.name, code, body, c.want, c.wantBody)
			}
		}
		// A valid call on the right stream is accepted.
		if code, body, err := s.Call(&scheduler.Call{Type: scheduler.Call_REVIVE}); err != nil || code != http.StatusAccepted {
			t.Errorf("REVIVE: got %d %q %v, want 202", code, body, err)
		}
	})
}

// withoutType encodes an UNKNOWN call with its type field left out.
func withoutType(t *testing.T, c wire.Codec, call *scheduler.Call) []byte {
	t.Helper()
	b := mustMarshal(t, c, call)
	if c.IsJSON() {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(b, &fields); err != nil {
			t.Fatal(err)
		}
		delete(fields, "type")
		out, err := json.Marshal(fields)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// Protobuf: type is field 2, a varint: 0 is the bytes 0x10 0x00, after
	// the framework id.
	i := bytes.LastIndex(b, []byte{0x10, 0x00})
	if i < 0 {
		t.Fatalf("no type field in %x", b)
	}
	return append(b[:i:i], b[i+2:]...)
}

func mustMarshal(t *testing.T, c wire.Codec, m wire.Message) []byte {
	t.Helper()
	b, err := c.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSubscribeStream(t *testing.T) {
	forEachCodec(t, func(t *testing.T, codec wire.Codec) {
		env := simtest.Start(t, simtest.Options{})
		body := mustMarshal(t, codec, &scheduler.Call{Type: scheduler.Call_SUBSCRIBE, Subscribe: &scheduler.Call_Subscribe{FrameworkInfo: frameworkInfo("stream")}})
		req, _ := http.NewRequest(http.MethodPost, env.SchedulerURL(), strings.NewReader(string(body)))
		req.Header.Set("Content-Type", codec.MediaType)
		req.Header.Set("Accept", codec.MediaType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if got := resp.Header.Get("Content-Type"); got != codec.MediaType {
			t.Errorf("Content-Type = %q, want %q", got, codec.MediaType)
		}
		if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" || resp.ContentLength != -1 {
			t.Errorf("transfer encoding = %v, content length = %d; want chunked and none", resp.TransferEncoding, resp.ContentLength)
		}
		if id := resp.Header.Get(master.StreamIDHeader); len(id) != 36 {
			t.Errorf("Mesos-Stream-Id = %q, want a UUID", id)
		}
	})
}

func TestSubscribeWithoutAcceptGetsJSON(t *testing.T) {
	env := simtest.Start(t, simtest.Options{})
	body := mustMarshal(t, wire.Protobuf, &scheduler.Call{Type: scheduler.Call_SUBSCRIBE, Subscribe: &scheduler.Call_Subscribe{FrameworkInfo: frameworkInfo("noaccept")}})
	req, _ := http.NewRequest(http.MethodPost, env.SchedulerURL(), strings.NewReader(string(body)))
	req.Header.Set("Content-Type", wire.MediaTypeProtobuf)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != wire.MediaTypeJSON {
		t.Fatalf("got %d %q, want 200 application/json", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestSubscribedEvent(t *testing.T) {
	forEachCodec(t, func(t *testing.T, codec wire.Codec) {
		env := simtest.Start(t, simtest.Options{Master: master.Config{HeartbeatInterval: 200 * time.Millisecond}})
		s, err := simtest.Subscribe(env.SchedulerURL(), codec, frameworkInfo("sub"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ev, err := s.Next(wait)
		if err != nil || ev.Type != scheduler.Event_SUBSCRIBED {
			t.Fatalf("first event %v, %v", ev, err)
		}
		sub := ev.Subscribed
		if !strings.HasPrefix(sub.FrameworkID.Value, env.Master.Info().ID+"-") {
			t.Errorf("framework id %q does not start with the master id", sub.FrameworkID.Value)
		}
		if sub.GetHeartbeatIntervalSeconds() != 0.2 || sub.MasterInfo == nil || sub.MasterInfo.ID != env.Master.Info().ID {
			t.Errorf("SUBSCRIBED = %v", sub)
		}
		// First heartbeat at once, then every interval.
		for i := 0; i < 3; i++ {
			ev, err := s.Next(wait)
			if err != nil || ev.Type != scheduler.Event_HEARTBEAT {
				t.Fatalf("event %d: %v, %v; want HEARTBEAT", i, ev, err)
			}
		}
	})
}

func TestSubscribeRefusals(t *testing.T) {
	forEachCodec(t, func(t *testing.T, codec wire.Codec) {
		env := simtest.Start(t, simtest.Options{})
		bad := []struct {
			name string
			info *mesos.FrameworkInfo
			want string
		}{
			{"InvalidRole", func() *mesos.FrameworkInfo { i := frameworkInfo("r"); r := "-bad"; i.Role = &r; return i }(), "role"},
			{"RolesWithoutMultiRole", func() *mesos.FrameworkInfo { i := frameworkInfo("r"); i.Roles = []string{"a"}; return i }(), "MULTI_ROLE"},
			{"DuplicateRoles", func() *mesos.FrameworkInfo {
				i := frameworkInfo("r", mesos.FrameworkInfo_Capability_MULTI_ROLE)
				i.Roles = []string{"a", "a"}
				return i
			}(), "duplicate"},
		}
		for _, c := range bad {
			s, err := simtest.Subscribe(env.SchedulerURL(), codec, c.info, nil)
			if err != nil {
				t.Fatalf("%s: want 200 with an ERROR event, got %v", c.name, err)
			}
			ev, err := s.Next(wait)
			if err != nil || ev.Type != scheduler.Event_ERROR || !strings.Contains(ev.Error.Message, c.want) {
				t.Errorf("%s: got %v, %v; want ERROR mentioning %q", c.name, ev, err, c.want)
			}
			if _, err := s.Next(wait); err == nil {
				t.Errorf("%s: stream stayed open after the ERROR", c.name)
			}
			s.Close()
		}
	})
}

func TestFrameworkFailover(t *testing.T) {
	forEachClient(t, func(t *testing.T, codec clientKind) {
		env := simtest.Start(t, simtest.Options{})
		info := frameworkInfo("failover")
		timeout := 3600.0
		info.FailoverTimeout = &timeout
		first := subscribe(t, env, codec, info)
		info.ID = &mesos.FrameworkID{Value: first.FrameworkID()}
		second := subscribe(t, env, codec, info)
		if second.FrameworkID() != first.FrameworkID() {
			t.Fatalf("failover got a new framework id %q (was %q)", second.FrameworkID(), first.FrameworkID())
		}
		ev, err := first.Await(scheduler.Event_ERROR, wait)
		if err != nil || ev.Error.Message != "Framework failed over" {
			t.Fatalf("old stream: %v, %v; want ERROR Framework failed over", ev, err)
		}
		// The old stream id no longer works (mesos-go's client refuses it
		// itself, with 403, once its subscription has ended); the new one does.
		wantOld := http.StatusBadRequest
		if codec.name == "mesos-go" {
			wantOld = http.StatusForbidden
		}
		if code, msg, _ := first.Call(&scheduler.Call{Type: scheduler.Call_REVIVE}); code != wantOld {
			t.Errorf("call on the old stream: %d %s, want %d", code, msg, wantOld)
		}
		if code, _, _ := second.Call(&scheduler.Call{Type: scheduler.Call_REVIVE}); code != http.StatusAccepted {
			t.Errorf("call on the new stream: %d, want 202", code)
		}
	})
}

func TestTeardownRemovesFramework(t *testing.T) {
	forEachClient(t, func(t *testing.T, kind clientKind) {
		env := simtest.Start(t, simtest.Options{})
		s := subscribe(t, env, kind, frameworkInfo("teardown"))
		if code, body, err := s.Call(&scheduler.Call{Type: scheduler.Call_TEARDOWN}); err != nil || code != http.StatusAccepted {
			t.Fatalf("TEARDOWN: %d %q %v", code, body, err)
		}
		if _, err := s.Await(scheduler.Event_UNKNOWN, wait); err == nil {
			t.Fatal("stream not closed after TEARDOWN")
		}
		// Subscribing again with the removed id is refused.
		info := frameworkInfo("teardown")
		info.ID = &mesos.FrameworkID{Value: s.FrameworkID()}
		again, err := kind.subscribe(env, info)
		if err != nil {
			t.Fatal(err)
		}
		defer again.Close()
		ev, err := again.Next(wait)
		if err != nil || ev.Type != scheduler.Event_ERROR || ev.Error.Message != "Framework has been removed" {
			t.Fatalf("re-subscribe after teardown: %v, %v", ev, err)
		}
	})
}

func TestAuthentication(t *testing.T) {
	env := simtest.Start(t, simtest.Options{Master: master.Config{Credentials: map[string]string{"alice": "s3cret"}}})
	info := frameworkInfo("auth")
	p := "alice"
	info.Principal = &p
	if _, err := simtest.Subscribe(env.SchedulerURL(), wire.JSON, info, nil); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("unauthenticated subscribe: %v, want 401", err)
	}
	req, _ := http.NewRequest(http.MethodPost, env.SchedulerURL(), nil)
	req.SetBasicAuth("alice", "wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "mesos-master-scheduler") {
		t.Fatalf("wrong password: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	auth := http.Header{}
	r2, _ := http.NewRequest("GET", "/", nil)
	r2.SetBasicAuth("alice", "s3cret")
	auth.Set("Authorization", r2.Header.Get("Authorization"))
	s, err := simtest.Subscribe(env.SchedulerURL(), wire.JSON, info, auth)
	if err != nil {
		t.Fatalf("authenticated subscribe: %v", err)
	}
	defer s.Close()
	if ev, err := s.Next(wait); err != nil || ev.Type != scheduler.Event_SUBSCRIBED {
		t.Fatalf("authenticated subscribe: %v %v", ev, err)
	}
	other := frameworkInfo("auth")
	bob := "bob"
	other.Principal = &bob
	if _, err := simtest.Subscribe(env.SchedulerURL(), wire.JSON, other, auth); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("principal mismatch: %v, want 400", err)
	}
}
