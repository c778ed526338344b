package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// protocolMinorEnv is the test-only knob of cmd/kubemesos: the executor
// protocol minor version a kubemesos process speaks.
const protocolMinorEnv = "KUBEMESOS_PROTOCOL_MINOR"

// TestUpgradeWithoutDrain restarts the framework process with builds whose
// executor protocol minor versions differ (simulated with
// KUBEMESOS_PROTOCOL_MINOR) while pods run, with no drain. The executor is
// fetched from one --executor-uri that serves the build of the framework
// started last, as an upgrade with a shared executor URI does; a build is a
// script that runs the kubemesos binary with its minor version set.
//
//  1. Framework and executor of minor 2 start three pods.
//  2. Rollback to a framework of minor 1: the pods, their tasks and the
//     executor process are untouched, and new pods run in the newer
//     executor.
//  3. Upgrade to a framework of minor 3 with other framework settings: the
//     same, with an executor older than the framework; there is still one
//     executor, and its ID does not depend on the framework's settings.
func TestUpgradeWithoutDrain(t *testing.T) {
	needBinary(t)
	if out, err := exec.Command(binary, "version").CombinedOutput(); err != nil || !strings.Contains(string(out), "executor protocol 1.0") {
		t.Fatalf("kubemesos version (without %s): %v\n%s", protocolMinorEnv, err, out)
	}
	knob := exec.Command(binary, "version")
	knob.Env = append(env(t.TempDir()), protocolMinorEnv+"=7")
	if out, err := knob.CombinedOutput(); err != nil || !strings.Contains(string(out), "executor protocol 1.7") {
		t.Fatalf("kubemesos version with %s=7 does not report protocol 1.7: %v\n%s", protocolMinorEnv, err, out)
	}

	var served atomic.Int64
	builds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "#!/bin/sh\nexport %s=%d\nexec '%s' \"$@\"\n", protocolMinorEnv, served.Load(), binary)
	}))
	defer builds.Close()
	uri := builds.URL + "/kubemesos"

	c := startUp(t, filepath.Join(t.TempDir(), "kubemesos"), t.TempDir(), "--agents", "1", "--framework=false")
	mesos := mesosURL(t, c)
	listen := "127.0.0.1:" + strconv.Itoa(freePort(t))
	top := t
	start := func(minor int, flags ...string) *frameworkProc {
		served.Store(int64(minor))
		p := c.startFrameworkWith(t, top, mesos, listen, []string{protocolMinorEnv + "=" + strconv.Itoa(minor)},
			append([]string{"--executor-uri", uri}, flags...)...)
		eventually(t, time.Minute, func() string {
			if !strings.Contains(p.output(), "kubemesos framework is subscribed") {
				return "the framework of minor " + strconv.Itoa(minor) + " did not subscribe"
			}
			return ""
		})
		return p
	}
	fw := start(2)
	defer func() {
		fw.kill()
		c.stop()
	}()
	c.eventuallyNodes(t, 1)

	c.apply(t, deployment("upgrade", 3, "v1"))
	eventually(t, 2*time.Minute, func() string { return c.consistent(t, mesos, "app=upgrade", 3) })
	first := c.upgradeSnapshot(t, mesos)
	if len(first.executors) != 1 {
		t.Fatalf("executor processes %v, want one (one agent)", first.executors)
	}
	if minor := environ(first.executors[0])[protocolMinorEnv]; minor != "2" {
		t.Fatalf("the executor runs with %s=%q, want 2 (the build the executor URI served)", protocolMinorEnv, minor)
	}

	// untouched checks that the pods, tasks and executor of before still
	// run, none restarted.
	untouched := func(t *testing.T, before snapshot) {
		t.Helper()
		after := c.upgradeSnapshot(t, mesos)
		if fmt.Sprint(after.executors) != fmt.Sprint(before.executors) {
			t.Errorf("executor processes %v, before %v", after.executors, before.executors)
		}
		for uid, p := range before.pods {
			a, ok := after.pods[uid]
			switch {
			case !ok:
				t.Errorf("pod %s is gone", p.name)
			case a.phase != "Running" || a.restarts != 0 || a.startTime != p.startTime:
				t.Errorf("pod %s: %+v, before %+v", p.name, a, p)
			case after.tasks["pod-"+uid] != "TASK_RUNNING":
				t.Errorf("pod %s: task %q", p.name, after.tasks["pod-"+uid])
			}
		}
		for id, e := range after.executorIDs {
			if id != "kubemesos" || e != 1 {
				t.Errorf("the master has %d executors with ID %q, want one kubemesos", e, id)
			}
		}
	}
	scale := func(t *testing.T, fw *frameworkProc, n int, before snapshot) {
		t.Helper()
		c.mustKubectl("scale", "deployment/upgrade", "--replicas="+strconv.Itoa(n))
		eventually(t, 2*time.Minute, func() string { return c.consistent(t, mesos, "app=upgrade", n) })
		untouched(t, before)
		// The new pods' updates came from the executor of minor 2.
		eventually(t, time.Minute, func() string {
			if !strings.Contains(fw.output(), "executor_protocol=1.2") {
				return "the framework never logged an executor of protocol 1.2"
			}
			return ""
		})
		if bad := c.jsonpath("pods", `{.items[*].status.conditions[?(@.type=="kubemesos.io/StatusPayload")].message}`); bad != "" {
			t.Errorf("status payloads the framework could not read: %s", bad)
		}
	}

	t.Run("rollback to an older framework: a newer executor keeps its pods and takes new ones", func(t *testing.T) {
		fw.kill()
		fw = start(1)
		eventually(t, time.Minute, func() string { return c.consistent(t, mesos, "app=upgrade", 3) })
		untouched(t, first)
		scale(t, fw, 5, first)
		if !strings.Contains(fw.output(), "framework_protocol=1.1") {
			t.Errorf("the framework of minor 1 does not say so:\n%s", fw.output())
		}
	})
	t.Run("upgrade to a newer framework with other settings: an older executor keeps its pods and takes new ones", func(t *testing.T) {
		second := c.upgradeSnapshot(t, mesos)
		fw.kill()
		fw = start(3, "--offer-hold", "3s", "--decline-refuse", "2s", "--reconcile-interval", "1m", "--launch-window", "20ms")
		eventually(t, time.Minute, func() string { return c.consistent(t, mesos, "app=upgrade", 5) })
		untouched(t, second)
		scale(t, fw, 7, second)
		if !strings.Contains(fw.output(), "framework_protocol=1.3") {
			t.Errorf("the framework of minor 3 does not say so:\n%s", fw.output())
		}
	})
}

// snapshot is what an upgrade must leave as it was.
type snapshot struct {
	executors   []int             // executor process IDs
	executorIDs map[string]int    // the master's executors of our framework, by ID
	tasks       map[string]string // task ID → state
	pods        map[string]podRun // by UID
}

type podRun struct {
	name, phase, startTime string
	restarts               int
}

func (c *cluster) upgradeSnapshot(t *testing.T, mesos string) snapshot {
	t.Helper()
	s := snapshot{executors: executors(c.cmd.Process.Pid), executorIDs: map[string]int{}, tasks: map[string]string{}, pods: map[string]podRun{}}
	sort.Ints(s.executors)
	var state struct {
		Frameworks []struct {
			Name      string     `json:"name"`
			Tasks     []liveTask `json:"tasks"`
			Executors []struct {
				ID string `json:"executor_id"`
			} `json:"executors"`
		} `json:"frameworks"`
	}
	getJSON(t, mesos+"/master/state", &state)
	for _, f := range state.Frameworks {
		for _, tk := range f.Tasks {
			s.tasks[tk.ID] = tk.State
		}
		for _, e := range f.Executors {
			s.executorIDs[e.ID]++
		}
	}
	out := c.mustKubectl("get", "pods", "-l", "app=upgrade", "-o", "json")
	var list struct {
		Items []struct {
			Metadata struct{ Name, UID string } `json:"metadata"`
			Status   struct {
				Phase             string `json:"phase"`
				StartTime         string `json:"startTime"`
				ContainerStatuses []struct {
					RestartCount int `json:"restartCount"`
				} `json:"containerStatuses"`
			} `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	for _, p := range list.Items {
		r := podRun{name: p.Metadata.Name, phase: p.Status.Phase, startTime: p.Status.StartTime}
		for _, cs := range p.Status.ContainerStatuses {
			r.restarts += cs.RestartCount
		}
		s.pods[p.Metadata.UID] = r
	}
	return s
}

// getJSON decodes the JSON at url into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
