package master

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/kubemesos/kubemesos/mesos-sim/agentproto"
)

// TestRemoteLinkBatches: what queues up for an agent while a request is
// under way goes in the next request, as one batch in order, to an agent
// that takes batches; one message per request to one that does not.
func TestRemoteLinkBatches(t *testing.T) {
	for _, tc := range []struct {
		name    string
		batches bool
		want    []string // per request: the kinds (and task IDs) it carried
	}{
		{"batches", true, []string{"kill_task:first", "acknowledge:a kill_task:b acknowledge:c"}},
		{"one by one", false, []string{"kill_task:first", "acknowledge:a", "kill_task:b", "acknowledge:c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []string
			first := make(chan struct{})
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var msg agentproto.FromMaster
				if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
					t.Errorf("decode: %v", err)
				}
				if msg.AgentID != "agent-1" {
					t.Errorf("message for %q, want agent-1", msg.AgentID)
				}
				msgs := []agentproto.FromMaster{msg}
				if msg.Kind == agentproto.KindBatch {
					msgs = msg.Batch
				}
				var kinds []string
				for _, m := range msgs {
					k := m.Kind
					if m.TaskID != "" {
						k += ":" + m.TaskID
					}
					kinds = append(kinds, k)
				}
				mu.Lock()
				got = append(got, strings.Join(kinds, " "))
				n := len(got)
				mu.Unlock()
				if n == 1 {
					close(first)
					<-release // the others queue up meanwhile
				}
				w.WriteHeader(http.StatusAccepted)
			}))
			defer srv.Close()
			m := &Master{log: slog.New(slog.DiscardHandler)}
			l := newRemoteLink(strings.TrimPrefix(srv.URL, "http://"), "agent-1", tc.batches, m)
			l.KillTask("fw", "first", nil)
			<-first
			l.AcknowledgeUpdate("fw", "a", []byte("u"))
			l.KillTask("fw", "b", nil)
			l.AcknowledgeUpdate("fw", "c", []byte("u"))
			close(release)
			for {
				l.mu.Lock()
				idle := !l.sending
				l.mu.Unlock()
				if idle {
					break
				}
				runtime.Gosched()
			}
			mu.Lock()
			defer mu.Unlock()
			if strings.Join(got, " | ") != strings.Join(tc.want, " | ") {
				t.Errorf("requests %q, want %q", got, tc.want)
			}
		})
	}
}
