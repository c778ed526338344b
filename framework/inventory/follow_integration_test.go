package inventory

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubemesos/kubemesos/mesos-sim/simagent"
	"github.com/kubemesos/kubemesos/mesos-sim/simtest"
	"github.com/kubemesos/kubemesos/mesos-sim/spec"
)

// startFollow runs Follow on the master at masterURL until the test ends; the
// channels get what its Handler is told.
func startFollow(t *testing.T, masterURL string) (inv *Inventory, added chan Agent, synced chan struct{}) {
	inv, added, synced = New(), make(chan Agent, 16), make(chan struct{}, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Follow(ctx, Source{URL: masterURL}, inv, Handler{
			Added:  func(a Agent) { added <- a },
			Synced: func() { synced <- struct{}{} },
		}, slog.New(slog.DiscardHandler))
	}()
	t.Cleanup(func() { cancel(); <-done })
	return inv, added, synced
}

// TestFollow follows a mesos-sim master over real HTTP: the agents
// registered before, one that registers later, and one marked gone.
func TestFollow(t *testing.T) {
	env := simtest.Start(t, simtest.Options{Agents: 2, AgentResources: "cpus:2;mem:1024;ports:[31000-31010]"})
	inv, added, synced := startFollow(t, env.URL)

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

// TestFollowRedirect: a master that is not the leader answers SUBSCRIBE
// with a 307 and Location //leader:port/api/v1, as Mesos does; Follow
// subscribes to the leader it names (a mesos-sim master) and gets its
// agents, and every new subscription asks the configured master again.
func TestFollowRedirect(t *testing.T) {
	env := simtest.Start(t, simtest.Options{Agents: 2, AgentResources: "cpus:2;mem:1024"})
	leader, err := url.Parse(env.URL)
	if err != nil {
		t.Fatal(err)
	}
	var asked atomic.Int32
	follower := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		w.Header().Set("Location", "//"+leader.Host+r.URL.Path)
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	defer follower.Close()

	inv, added, synced := startFollow(t, follower.URL)
	select {
	case <-synced:
	case <-time.After(10 * time.Second):
		t.Fatal("not synced within 10 s through the redirect to the leader")
	}
	if len(added) != 2 || inv.Len() != 2 {
		t.Fatalf("%d agents added, inventory holds %d; want the leader's 2", len(added), inv.Len())
	}
	if n := asked.Load(); n != 1 {
		t.Fatalf("the master that is not the leader was asked %d times, want 1", n)
	}
}

// TestFollowRedirectRefusesBadLocations: a 307 that names no leader or the
// same master is an error of its own, not a redirect to follow; masters that
// redirect to each other are followed maxRedirects times in a row, then
// backed off from like a master that is down.
func TestFollowRedirectRefusesBadLocations(t *testing.T) {
	for name, location := range map[string]string{"no Location": "", "itself": "SELF", "no host": "/api/v1"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if location == "SELF" {
				w.Header().Set("Location", "//"+r.Host+r.URL.Path)
			} else if location != "" {
				w.Header().Set("Location", location)
			}
			w.WriteHeader(http.StatusTemporaryRedirect)
		}))
		_, err := followOnce(context.Background(), Source{URL: srv.URL}, New(), Handler{})
		srv.Close()
		var moved *notLeaderError
		if err == nil || errors.As(err, &moved) || !strings.Contains(err.Error(), "not the leader") && !strings.Contains(err.Error(), "redirects to itself") {
			t.Errorf("%s: err %v; want an error that explains the redirect, not one to follow", name, err)
		}
	}

	// Two masters that name each other as the leader.
	var asked atomic.Int32
	var a, b *httptest.Server
	redirectTo := func(other **httptest.Server) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			asked.Add(1)
			w.Header().Set("Location", "//"+strings.TrimPrefix((*other).URL, "http://")+r.URL.Path)
			w.WriteHeader(http.StatusTemporaryRedirect)
		}
	}
	a = httptest.NewServer(redirectTo(&b))
	defer a.Close()
	b = httptest.NewServer(redirectTo(&a))
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 1200*time.Millisecond)
	defer cancel()
	Follow(ctx, Source{URL: a.URL}, New(), Handler{}, slog.New(slog.DiscardHandler))
	// 1.2 s holds the first round (1 + maxRedirects calls), a 0.5 s and a
	// 1 s back-off: at most three rounds; without the bound it would be
	// thousands of calls.
	if n := asked.Load(); n < 1+maxRedirects || n > 3*(1+maxRedirects) {
		t.Fatalf("masters redirecting to each other were asked %d times in 1.2 s, want %d to %d", n, 1+maxRedirects, 3*(1+maxRedirects))
	}
}
