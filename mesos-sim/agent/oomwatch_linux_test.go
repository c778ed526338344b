package agent

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	memcg "github.com/kubemesos/kubemesos/internal/cgroup"
)

// TestOOMWatchV2 drives the cgroup v2 watch on a fake hierarchy (plain
// files, which inotify watches alike): a modification of memory.events
// without an OOM kill is no breach, one with an OOM kill is, once; a
// stopped watch reports nothing. A sentinel group's breach, reported in
// the order of the events, shows that the events before it were handled.
func TestOOMWatchV2(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "cgroup.controllers"), []byte("cpu memory\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := memcg.Detect(root)
	if err != nil {
		t.Fatal(err)
	}
	var ow oomWatcher
	defer ow.close()
	fired := make(chan string, 10)
	events := func(g *memcg.Group, maxEvents, oomKills int) {
		t.Helper()
		text := []byte("low 0\nhigh 0\nmax " + strconv.Itoa(maxEvents) + "\noom " + strconv.Itoa(oomKills) + "\noom_kill " + strconv.Itoa(oomKills) + "\n")
		if err := os.WriteFile(filepath.Join(g.Dir(), "memory.events"), text, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	watched := func(name string) (*memcg.Group, *oomWatch) {
		t.Helper()
		g, err := c.Create("kubemesos-agent-test", name, 64<<20)
		if err != nil {
			t.Fatal(err)
		}
		events(g, 0, 0)
		w, err := ow.watch(g, func() { fired <- name })
		if err != nil {
			t.Fatal(err)
		}
		return g, w
	}
	next := func() string {
		t.Helper()
		select {
		case name := <-fired:
			return name
		case <-time.After(30 * time.Second):
			t.Fatal("no breach reported")
			return ""
		}
	}
	a, aw := watched("a")
	sentinels := 0
	sentinel := func() {
		t.Helper()
		sentinels++
		g, w := watched("sentinel-" + strconv.Itoa(sentinels))
		defer w.stop()
		events(g, 1, 1)
		if got := next(); got != "sentinel-"+strconv.Itoa(sentinels) {
			t.Fatalf("breach of %s reported before the sentinel's", got)
		}
	}

	events(a, 3, 0) // the limit was hit, and reclaim sufficed
	sentinel()
	events(a, 4, 1)
	if got := next(); got != "a" {
		t.Fatalf("breach of %s, want a", got)
	}
	events(a, 5, 2) // once only
	sentinel()

	b, bw := watched("b")
	bw.stop()
	bw.stop()
	events(b, 1, 1)
	sentinel()
	aw.stop()
}

// TestOOMKilledV1 reads the v1 confirmation of an OOM event from fake
// memory.oom_control files: a kill counted, no count at all (old kernels:
// the event is the breach), no kill within the wait (another group's OOM),
// no group any more.
func TestOOMKilledV1(t *testing.T) {
	for _, tc := range []struct {
		name, control string
		want          bool
	}{
		{"killed", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n", true},
		{"kernel without the count", "oom_kill_disable 0\nunder_oom 1\n", true},
		{"no kill", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", false},
		{"group gone", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.control != "" {
				if err := os.WriteFile(filepath.Join(dir, "memory.oom_control"), []byte(tc.control), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := oomKilledV1(dir); got != tc.want {
				t.Errorf("oomKilledV1 = %v, want %v", got, tc.want)
			}
		})
	}
}
