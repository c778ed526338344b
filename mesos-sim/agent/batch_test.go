package agent_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/kubemesos/kubemesos/mesos-sim/agentproto"
)

// TestMasterBatch posts batches of master messages to an agent: a batch of
// valid messages is accepted (202); one with an invalid message is applied
// but for it and answers 400 with its error; a batch for another agent is
// refused whole (409).
func TestMasterBatch(t *testing.T) {
	env := start(t, 1, nil)
	a := env.agents[0]
	<-a.Registered()
	ack := agentproto.FromMaster{Kind: agentproto.KindAcknowledge, FrameworkID: "no-such-framework", TaskID: "t", UUID: []byte("u")}
	for _, tc := range []struct {
		name     string
		agentID  string
		batch    []agentproto.FromMaster
		wantCode int
		wantText string
	}{
		{"valid", a.ID(), []agentproto.FromMaster{ack, ack}, http.StatusAccepted, ""},
		{"an invalid message", a.ID(), []agentproto.FromMaster{ack, {Kind: "bogus"}, {Kind: agentproto.KindRunTasks}}, http.StatusBadRequest, `unknown message kind "bogus"`},
		{"another agent", "someone-else", []agentproto.FromMaster{ack}, http.StatusConflict, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, err := json.Marshal(agentproto.FromMaster{Kind: agentproto.KindBatch, AgentID: tc.agentID, Batch: tc.batch})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.Post(a.URL()+agentproto.PathAgent, "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			text, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode || !strings.Contains(string(text), tc.wantText) {
				t.Errorf("%d %q, want %d %q", resp.StatusCode, text, tc.wantCode, tc.wantText)
			}
		})
	}
}
