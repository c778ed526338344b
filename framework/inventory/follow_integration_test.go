package inventory

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kubemesos/kubemesos/mesos-sim/simagent"
	"github.com/kubemesos/kubemesos/mesos-sim/simtest"
	"github.com/kubemesos/kubemesos/mesos-sim/spec"
)

// TestFollow follows a mesos-sim master over real HTTP: the agents
// registered before, one that registers later, and one marked gone.
func TestFollow(t *testing.T) {
	env := simtest.Start(t, simtest.Options{Agents: 2, AgentResources: "cpus:2;mem:1024;ports:[31000-31010]"})
	inv := New()
	added := make(chan Agent, 16)
	synced := make(chan struct{}, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Follow(ctx, Source{URL: env.URL}, inv, Handler{
			Added:  func(a Agent) { added <- a },
			Synced: func() { synced <- struct{}{} },
		}, slog.New(slog.DiscardHandler))
	}()
	t.Cleanup(func() { cancel(); <-done })

	next := func() Agent {
		t.Helper()
		select {
		case a := <-added:
			return a
		case <-time.After(10 * time.Second):
			t.Fatal("no agent added within 10 s")
		}
		return Agent{}
	}
	first := map[string]bool{next().ID: true, next().ID: true}
	for _, a := range env.Agents {
		if !first[a.ID()] {
			t.Fatalf("agent %s missing from the SUBSCRIBED state (got %v)", a.ID(), first)
		}
	}
	select {
	case <-synced:
	case <-time.After(10 * time.Second):
		t.Fatal("Synced not called")
	}
	if why := inv.NoAgentHasPorts("*", []uint32{31005}); why != "" {
		t.Fatalf("a port every agent has refused: %s", why)
	}
	if why := inv.NoAgentHasPorts("*", []uint32{8080}); why == "" {
		t.Fatal("a port no agent has was not refused")
	}

	res, err := spec.ParseResources("cpus:1;mem:512;ports:[8080-8080]")
	if err != nil {
		t.Fatal(err)
	}
	late, err := env.Cluster.AddAgent(simagent.AgentSpec{Hostname: "late", Port: 5999, Resources: res})
	if err != nil {
		t.Fatal(err)
	}
	if a := next(); a.ID != late.ID() || a.Hostname != "late" || len(a.Total) == 0 {
		t.Fatalf("AGENT_ADDED gave %+v, want agent %s (late) with its resources", a, late.ID())
	}
	if why := inv.NoAgentHasPorts("*", []uint32{8080}); why != "" {
		t.Fatalf("the late agent's port is refused: %s", why)
	}

	if err := env.Master.MarkGone(late.ID()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for inv.NoAgentHasPorts("*", []uint32{8080}) == "" {
		if time.Now().After(deadline) {
			t.Fatal("the gone agent's port is still taken for available after 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if inv.Len() != 2 {
		t.Fatalf("inventory holds %d agents, want 2", inv.Len())
	}
}

// TestFollowRefused: a master without the operator API (404) or that
// refuses our principal (401, 403) is told apart from one that is down.
func TestFollowRefused(t *testing.T) {
	for _, code := range []int{http.StatusNotFound, http.StatusUnauthorized, http.StatusForbidden} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "no", code)
		}))
		synced, err := followOnce(context.Background(), Source{URL: srv.URL}, New(), Handler{})
		srv.Close()
		if synced || !errors.Is(err, ErrRefused) {
			t.Errorf("HTTP %d: synced %v, err %v; want ErrRefused", code, synced, err)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	if _, err := followOnce(context.Background(), Source{URL: srv.URL}, New(), Handler{}); err == nil || errors.Is(err, ErrRefused) {
		t.Errorf("HTTP 503: err %v; want a transient error", err)
	}
}
