package master_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	opapi "github.com/mesos/mesos-go/api/v1/lib/master"
	"github.com/mesos/mesos-go/api/v1/lib/master/calls"

	"github.com/kubemesos/kubemesos/mesos-sim/master"
	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

// FuzzOperatorCall feeds arbitrary bodies, in both encodings, to the
// operator API: the master must never panic, and must answer garbage with
// a 4xx and a message. The only 5xx allowed is 501 for a well-formed call
// mesos-sim does not implement, which also carries a message.
func FuzzOperatorCall(f *testing.F) {
	seeds := []*opapi.Call{
		calls.GetHealth(), calls.GetState(), calls.GetMetrics(nil), calls.Subscribe(),
		calls.UpdateWeights(mesos.WeightInfo{Role: proto("a"), Weight: 2}),
		calls.Teardown(mesos.FrameworkID{Value: "f"}),
		calls.MarkAgentGone(mesos.AgentID{Value: "a"}),
		calls.DeactivateAgent(mesos.AgentID{Value: "a"}),
		updateQuota(false, quotaConfig("q", 1, 2)),
		calls.RemoveQuota("q"),
	}
	for _, c := range seeds {
		for _, codec := range []wire.Codec{wire.JSON, wire.Protobuf} {
			b, err := codec.Marshal(c)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(codec.IsJSON(), b)
		}
	}
	f.Add(true, []byte(`{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"weight":-1,"role":"x"}]}}`))
	f.Add(true, []byte(`{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"r","limits":{"cpus":{"value":-1}}}]}}`))
	f.Add(true, []byte(`{"type":"NOT_A_TYPE"}`))
	f.Add(false, []byte{0x08, 0xff, 0xff, 0xff, 0xff, 0x0f})

	m, err := master.New(master.Config{})
	if err != nil {
		f.Fatal(err)
	}
	h := m.Handler()
	f.Fuzz(func(t *testing.T, isJSON bool, body []byte) {
		ct := wire.MediaTypeProtobuf
		if isJSON {
			ct = wire.MediaTypeJSON
		}
		req := httptest.NewRequest(http.MethodPost, "/api/v1", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", ct)
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // a subscription stream ends at once
		req = req.WithContext(ctx)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case rec.Code >= 500 && rec.Code != http.StatusNotImplemented:
			t.Fatalf("server error %d for %q: %s", rec.Code, body, rec.Body)
		case rec.Code >= 400 && rec.Body.Len() == 0:
			t.Fatalf("%d without a message for %q", rec.Code, body)
		}
	})
}
