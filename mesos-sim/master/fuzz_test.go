package master_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/kubemesos/kubemesos/mesos-sim/master"
	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

// FuzzSchedulerCall feeds arbitrary bodies, in both encodings, to the
// scheduler endpoint: the master must never panic and must answer garbage
// with a 4xx and a message.
func FuzzSchedulerCall(f *testing.F) {
	seeds := []*scheduler.Call{
		{Type: scheduler.Call_SUBSCRIBE, Subscribe: &scheduler.Call_Subscribe{FrameworkInfo: &mesos.FrameworkInfo{User: "u", Name: "n"}}},
		{Type: scheduler.Call_ACCEPT, FrameworkID: &mesos.FrameworkID{Value: "f"}, Accept: &scheduler.Call_Accept{OfferIDs: []mesos.OfferID{{Value: "o"}}}},
		{Type: scheduler.Call_ACKNOWLEDGE, FrameworkID: &mesos.FrameworkID{Value: "f"}, Acknowledge: &scheduler.Call_Acknowledge{UUID: make([]byte, 16)}},
		{Type: scheduler.Call_RECONCILE, FrameworkID: &mesos.FrameworkID{Value: "f"}, Reconcile: &scheduler.Call_Reconcile{}},
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
	f.Add(true, []byte(`{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","roles":["a","a"]}}}`))
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
		req := httptest.NewRequest(http.MethodPost, "/api/v1/scheduler", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Mesos-Stream-Id", "fuzz")
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // a subscription stream ends at once
		req = req.WithContext(ctx)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case rec.Code >= 500:
			t.Fatalf("server error %d for %q: %s", rec.Code, body, rec.Body)
		case rec.Code >= 400 && rec.Body.Len() == 0:
			t.Fatalf("%d without a message for %q", rec.Code, body)
		}
	})
}
