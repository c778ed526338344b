package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
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
	bad := exec.Command(binary, "version")
	bad.Env = append(env(t.TempDir()), protocolMinorEnv+"=x")
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), protocolMinorEnv) {
		t.Fatalf("kubemesos version with %s=x: %v, want an error naming the variable\n%s", protocolMinorEnv, err, out)
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

// TestSharedCluster runs kubemesos and a second framework (batchFramework,
// on mesos-go) on the same agents, with the roles weighted 1 (kubemesos'
// pods, role "apps", chosen by the kubemesos.io/role annotation) to 3
// (batch). While kubemesos has nothing to place, the batch framework gets
// every cpu; with a Deployment larger than the cluster, kubemesos grows into
// the cpus the batch tasks give back until it holds its weighted share,
// 1/4 of 12 cpus, and no more: Mesos' allocator offers freed cpus to the
// role furthest below its weighted share, and kubemesos declines what it
// cannot use (with a refuse filter) instead of holding it.
//
// The tolerance is ±1.5 cpus around 3: the allocator hands out a whole
// agent's free cpus at once, so kubemesos, just below its share, may be
// offered one freed batch task's cpu (1) and fill it with pods of 0.5 (plus
// 0.1 per executor), and it cannot shed a running pod. Unweighted DRF would
// give it 6 cpus, a framework that hoards offers 12, and one that declines
// too much none; each is outside the tolerance.
func TestSharedCluster(t *testing.T) {
	needBinary(t)
	const (
		agents, agentCPUs = 3, 4
		total             = agents * agentCPUs
		kubeWeight        = 1
		batchWeight       = 3
		tolerance         = 1.5
	)
	kubeShare := float64(total) * kubeWeight / (kubeWeight + batchWeight)
	c := startUp(t, filepath.Join(t.TempDir(), "kubemesos"), t.TempDir(), "--agents", strconv.Itoa(agents), "--framework=false",
		"--agent-resources", fmt.Sprintf("cpus:%d;mem:4096;disk:4096;ports:[31000-32000]", agentCPUs))
	mesos := mesosURL(t, c)
	updateWeights(t, mesos, map[string]float64{"apps": kubeWeight, "batch": batchWeight})
	fw := c.startFrameworkWith(t, t, mesos, "127.0.0.1:"+strconv.Itoa(freePort(t)), nil, "--roles", "system,apps")
	var batch *batchFramework
	defer func() {
		if batch != nil {
			batch.teardown(t, mesos)
		}
		// The batch tasks' processes are gone with them (c.stop checks that
		// kubemesos up has no child but executors).
		eventually(t, time.Minute, func() string {
			for _, kid := range children(c.cmd.Process.Pid) {
				if args := cmdline(kid); args != nil && !isExecutor(args) {
					return fmt.Sprintf("process %d %q of a batch task is still running", kid, args)
				}
			}
			return ""
		})
		fw.kill()
		c.stop()
	}()
	c.eventuallyNodes(t, agents)

	batch = startBatchFramework(t, mesos, "batch")
	// kubemesos has no pod to place: it suppresses its offers, and the
	// batch framework gets every cpu.
	eventually(t, time.Minute, func() string {
		if err := batch.check(); err != nil {
			t.Fatalf("batch framework: %v", err)
		}
		roles := roleCPUs(t, mesos)
		if roles["batch"] < total-1e-9 {
			return fmt.Sprintf("allocated cpus by role %v: batch should have all %d while kubemesos is idle", roles, total)
		}
		return ""
	})

	c.apply(t, sharedDeployment("shared", 24, "apps"))
	// settle waits until kubemesos (role apps) uses at least low cpus, as
	// batch tasks end, then checks that it stays within [low, high] while
	// every batch cpu turns over twice more. It returns the most cpus the
	// batch framework used meanwhile.
	settle := func(t *testing.T, low, high float64) (batchMost float64) {
		t.Helper()
		// Seconds: offers too small for any waiting pod are declined after
		// the short hold (held, they counted as kubemesos' allocation and
		// the allocator gave freed cpus to the batch framework instead).
		eventually(t, 2*time.Minute, func() string {
			if roles := roleCPUs(t, mesos); roles["apps"] < low-1e-9 {
				return fmt.Sprintf("cpus used by role %v: apps (kubemesos) has not reached %.1f", roles, low)
			}
			return ""
		})
		until := batch.launches() + 2*total
		appsLeast, appsMost, samples := math.Inf(1), 0.0, 0
		eventually(t, 2*time.Minute, func() string {
			if err := batch.check(); err != nil {
				t.Fatalf("batch framework: %v", err)
			}
			roles := roleCPUs(t, mesos)
			samples++
			if roles["apps"] > high+1e-9 || roles["apps"] < low-1e-9 {
				t.Fatalf("cpus used by role %v: apps (kubemesos) is outside [%.1f, %.1f]", roles, low, high)
			}
			if roles["system"] > 0 {
				t.Errorf("cpus used by role %v: kubemesos' role system has no pod to run and holds cpus", roles)
			}
			batchMost = max(batchMost, roles["batch"])
			appsLeast, appsMost = min(appsLeast, roles["apps"]), max(appsMost, roles["apps"])
			if n := batch.launches(); n < until {
				return fmt.Sprintf("the batch framework launched %d tasks, waiting for %d (roles %v)", n, until, roles)
			}
			return ""
		})
		t.Logf("%d samples: kubemesos used %.1f to %.1f cpus, the batch framework at most %.1f", samples, appsLeast, appsMost, batchMost)
		return batchMost
	}
	// runsInShare checks that kubemesos' Running pods run in role apps,
	// within most cpus, and that the others wait.
	runsInShare := func(t *testing.T, most float64) {
		t.Helper()
		pods, err := c.pods("app=shared")
		if err != nil {
			t.Fatal(err)
		}
		tasks := map[string]mesosRoleTask{}
		for _, tk := range roleTasks(t, mesos) {
			tasks[tk.ID] = tk
		}
		running, pending := 0, 0
		for _, p := range pods {
			switch p.Phase {
			case "Running":
				running++
				if tk := tasks["pod-"+p.UID]; tk.State != "TASK_RUNNING" || tk.Role != "apps" {
					t.Errorf("Running pod %s has task %+v, want TASK_RUNNING in role apps", p.Name, tk)
				}
			case "Pending":
				pending++
			default:
				t.Errorf("pod %s is %s", p.Name, p.Phase)
			}
		}
		if running == 0 || pending == 0 || float64(running)*0.5 > most {
			t.Errorf("%d pods Running and %d Pending: want some of each, the Running ones within %.1f cpus", running, pending, most)
		}
	}

	t.Run("weighted share", func(t *testing.T) {
		batchMost := settle(t, kubeShare-tolerance, kubeShare+tolerance)
		if want := float64(total) - kubeShare - tolerance; batchMost < want {
			t.Errorf("the batch framework used at most %.1f cpus, want at least %.1f (its weighted share less the tolerance)", batchMost, want)
		}
		runsInShare(t, kubeShare+tolerance)
	})
	// A quota guarantee above the weighted share: the allocator keeps freed
	// cpus for role apps until it has it, and its limit caps kubemesos.
	t.Run("quota", func(t *testing.T) {
		const quota = 6
		updateQuota(t, mesos, "apps", quota)
		batchMost := settle(t, quota-tolerance, quota)
		if want := float64(total) - quota - tolerance; batchMost < want {
			t.Errorf("the batch framework used at most %.1f cpus, want at least %.1f (what the quota leaves, less the tolerance)", batchMost, want)
		}
		runsInShare(t, quota)
	})
}

// sharedDeployment is a Deployment of pods of 0.5 cpu in a Mesos role.
func sharedDeployment(name string, replicas int, role string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s}
spec:
  replicas: %[2]d
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata:
      labels: {app: %[1]s}
      annotations: {kubemesos.io/role: %[3]s}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: main
        image: busybox
        command: ["sleep", "3600"]
        resources: {requests: {cpu: 500m, memory: 32Mi}}
`, name, replicas, role)
}

// updateWeights sets role weights through the master's v1 operator API.
func updateWeights(t *testing.T, mesos string, weights map[string]float64) {
	t.Helper()
	var infos []any
	for role, w := range weights {
		infos = append(infos, map[string]any{"role": role, "weight": w})
	}
	operatorCall(t, mesos, map[string]any{"type": "UPDATE_WEIGHTS", "update_weights": map[string]any{"weight_infos": infos}})
}

// updateQuota sets a role's quota guarantee and limit of cpus through the
// master's v1 operator API.
func updateQuota(t *testing.T, mesos, role string, cpus float64) {
	t.Helper()
	operatorCall(t, mesos, map[string]any{"type": "UPDATE_QUOTA", "update_quota": map[string]any{
		"force": true,
		"quota_configs": []any{map[string]any{
			"role":       role,
			"guarantees": map[string]any{"cpus": map[string]float64{"value": cpus}},
			"limits":     map[string]any{"cpus": map[string]float64{"value": cpus}},
		}},
	}})
}

// operatorCall sends a v1 operator API call, in JSON, that answers 200.
func operatorCall(t *testing.T, mesos string, call map[string]any) {
	t.Helper()
	body, err := json.Marshal(call)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(mesos+"/api/v1", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s: %s: %s", call["type"], resp.Status, msg)
	}
}

// roleCPUs are the cpus that running tasks and executors use, by role,
// from /master/state (offers held are not counted: a framework holds them
// only until it accepts or declines them).
func roleCPUs(t *testing.T, mesos string) map[string]float64 {
	t.Helper()
	type used struct {
		Role      string `json:"role"`
		Resources struct {
			CPUs float64 `json:"cpus"`
		} `json:"resources"`
	}
	var state struct {
		Frameworks []struct {
			Tasks     []used `json:"tasks"`
			Executors []used `json:"executors"`
		} `json:"frameworks"`
	}
	getJSON(t, mesos+"/master/state", &state)
	out := map[string]float64{}
	for _, f := range state.Frameworks {
		for _, u := range append(f.Tasks, f.Executors...) {
			out[u.Role] += u.Resources.CPUs
		}
	}
	for role, cpus := range out {
		out[role] = math.Round(cpus*100) / 100
	}
	return out
}

type mesosRoleTask struct {
	ID    string `json:"id"`
	State string `json:"state"`
	Role  string `json:"role"`
}

// roleTasks are the live tasks of every framework, with their roles.
func roleTasks(t *testing.T, mesos string) []mesosRoleTask {
	t.Helper()
	var state struct {
		Frameworks []struct {
			Tasks []mesosRoleTask `json:"tasks"`
		} `json:"frameworks"`
	}
	getJSON(t, mesos+"/master/state", &state)
	var out []mesosRoleTask
	for _, f := range state.Frameworks {
		out = append(out, f.Tasks...)
	}
	return out
}
