package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestAgentFaults runs three standalone `kubemesos agent` processes under a
// `kubemesos up --agents 0` master whose agent health checks are short, and
// a `kubemesos framework` that spreads pods and reconciles every few
// seconds. Two Deployments run on them: "fragile" tolerates the unreachable
// taint for 2 s, "sturdy" for the default 300 s. Then:
//
//   - an agent process is killed with SIGKILL (its executors go on): its
//     node turns NotReady with the unreachable NoExecute taint, the fragile
//     pods are evicted and replaced on the other agents within two minutes,
//     the evicted pods stay Terminating and one of them is force-deleted;
//     nothing is killed over and over meanwhile. The agent is started
//     again on its work dir: it re-registers with its tasks, the tasks of
//     the evicted and of the force-deleted pods are killed, their pods
//     disappear, the sturdy pods keep running in the same processes and
//     the node is Ready again;
//   - an agent is partitioned (SIGSTOP) and healed (SIGCONT): the same, and
//     its sturdy pods never restart;
//   - an agent dies with everything it ran and never comes back: its
//     fragile pods are replaced and the evicted ones stay Terminating until
//     the operator marks the agent gone; then the framework learns it on
//     its next reconciliation, the evicted pods are removed, the sturdy
//     ones fail and are replaced, and the node is deleted.
//
// After each fault every live pod has exactly one running task and no task
// runs without its pod.
func TestAgentFaults(t *testing.T) {
	needBinary(t)
	dataDir := filepath.Join(t.TempDir(), "kubemesos")
	c := startUp(t, dataDir, t.TempDir(), "--agents", "0", "--framework=false",
		"--agent-ping-timeout", "1s", "--max-agent-ping-timeouts", "4")
	mesos := mesosURL(t, c)
	agents := &agentProcs{t: t, mesos: mesos, home: c.home, dir: t.TempDir(), tracked: map[int]bool{}}
	var fw *frameworkProc
	defer func() {
		if fw != nil {
			fw.kill()
		}
		agents.killAll()
		c.stop()
	}()
	for _, name := range []string{"agent-a", "agent-b", "agent-c"} {
		agents.start(name)
	}
	// The agents register first: a framework with no pod to place
	// suppresses offers, and learns of an agent only from its offers.
	eventually(t, time.Minute, func() string {
		if n := registeredAgents(t, mesos); n != 3 {
			return fmt.Sprintf("%d agents registered, want 3", n)
		}
		return ""
	})
	fw = c.startFramework(t, t, mesos, "127.0.0.1:"+strconv.Itoa(freePort(t)), "--scoring", "Spread", "--reconcile-interval", "5s")
	c.eventuallyNodes(t, 3)
	c.apply(t, faultDeployment("fragile", 6, 2)+"---\n"+faultDeployment("sturdy", 3, 0))
	const selector = "app in (fragile,sturdy)"
	check := func(t *testing.T, live int) {
		t.Helper()
		eventually(t, 2*time.Minute, func() string { return c.consistent(t, mesos, selector, live) })
	}
	check(t, 9)

	t.Run("a killed agent's pods are replaced; back, its orphaned tasks are killed", func(t *testing.T) {
		victim := agents.hosting(t, c, "agent-b", "agent-c")
		before := podsOf(t, c, victim.name)
		kills := masterMetric(t, mesos, "master/messages_kill_task")
		began := time.Now()
		agents.kill(victim)
		evicted := c.awaitUnreachable(t, victim.name, before)
		t.Logf("fragile pods replaced %s after the agent was killed", time.Since(began).Round(time.Second))
		// The operator force-deletes one pod stuck Terminating: its task
		// can only be killed once the agent is back.
		forced := evicted[0]
		c.mustKubectl("delete", "pod", forced.Name, "--force", "--grace-period=0")
		if n := masterMetric(t, mesos, "master/messages_kill_task") - kills; n > float64(2*len(evicted)) {
			t.Errorf("%v KILLs for the %d evicted pods while their agent was unreachable: unreachable tasks are killed over and over", n, len(evicted))
		}
		agents.restart(victim)
		c.awaitHealed(t, mesos, victim, before)
		if state := taskStateByID(t, mesos, "pod-"+forced.UID); state != "TASK_KILLED" {
			t.Errorf("task of the force-deleted pod %s is %q after its agent came back, want TASK_KILLED", forced.Name, state)
		}
		check(t, 9)
	})

	t.Run("a partitioned agent's pods keep running; healed, its node is Ready", func(t *testing.T) {
		victim := agents.hosting(t, c, "agent-c", "agent-a")
		before := podsOf(t, c, victim.name)
		if err := syscall.Kill(victim.pid(), syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		stopped := true
		defer func() {
			if stopped {
				_ = syscall.Kill(victim.pid(), syscall.SIGCONT)
			}
		}()
		c.awaitUnreachable(t, victim.name, before)
		if err := syscall.Kill(victim.pid(), syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		stopped = false
		c.awaitHealed(t, mesos, victim, before)
		check(t, 9)
	})

	t.Run("an agent that never comes back, marked gone", func(t *testing.T) {
		victim := agents.hosting(t, c, "agent-a", "agent-b")
		before := podsOf(t, c, victim.name)
		agentID := c.jsonpath("node/"+victim.name, `{.metadata.labels.kubemesos\.io/agent-id}`)
		agents.killWithEverything(victim)
		evicted := c.awaitUnreachable(t, victim.name, before)
		markAgentGone(t, mesos, agentID)
		eventually(t, time.Minute, func() string {
			if _, err := c.kubectl("get", "node", victim.name); err == nil {
				return "the node of the agent marked gone is still there"
			}
			pods, err := c.pods(selector)
			if err != nil {
				return err.Error()
			}
			for _, p := range pods {
				for _, e := range evicted {
					if p.UID == e.UID {
						return fmt.Sprintf("evicted pod %s is still there (%s, deleting %v)", p.Name, p.Phase, p.Deleting)
					}
				}
				for _, s := range before.sturdy {
					if p.UID == s.UID && p.Phase != "Failed" {
						return fmt.Sprintf("sturdy pod %s of the gone agent is %s, want Failed", p.Name, p.Phase)
					}
				}
			}
			return ""
		})
		check(t, 9)
	})
}

// faultDeployment is a Deployment of replicas pods spread over the agents
// whose container logs its pid and sleeps in that very process (Kubernetes
// reads `$$` as an escaped `$`). With
// tolerate > 0 its pods tolerate the unreachable taint for tolerate
// seconds instead of the default 300.
func faultDeployment(name string, replicas, tolerate int) string {
	tolerations := ""
	if tolerate > 0 {
		tolerations = fmt.Sprintf(`
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: %d}`, tolerate)
	}
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s}
spec:
  replicas: %[2]d
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      terminationGracePeriodSeconds: 5%[3]s
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: %[1]s}}}
      containers:
      - name: main
        image: busybox
        command: ["sh", "-c", "echo pid $$$$; exec sleep 3600"]
        resources: {requests: {cpu: 100m, memory: 32Mi}}
`, name, replicas, tolerations)
}

// nodePods are the live pods of one node, by Deployment.
type nodePods struct{ fragile, sturdy []podInfo }

func podsOf(t *testing.T, c *cluster, node string) nodePods {
	t.Helper()
	var out nodePods
	for _, app := range []string{"fragile", "sturdy"} {
		pods, err := c.pods("app=" + app)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods {
			if p.Node != node || p.Deleting || p.Phase != "Running" {
				continue
			}
			if app == "fragile" {
				out.fragile = append(out.fragile, p)
			} else {
				out.sturdy = append(out.sturdy, p)
			}
		}
	}
	return out
}

// awaitUnreachable waits, after a fault of node's agent, until the node is
// NotReady with the unreachable NoExecute taint, its sturdy pods are not
// Ready but stay, and its fragile pods are evicted (Terminating: their
// tasks cannot be killed) and replaced on the other agents, all within two
// minutes. It returns the evicted pods.
func (c *cluster) awaitUnreachable(t *testing.T, node string, before nodePods) []podInfo {
	t.Helper()
	eventually(t, 2*time.Minute, func() string {
		if ready, tainted := c.nodeCondition(node); ready != "Unknown" || !tainted {
			return fmt.Sprintf("node %s: Ready %q, unreachable taint %v; want Unknown and tainted", node, ready, tainted)
		}
		pods, err := c.pods("app=fragile")
		if err != nil {
			return err.Error()
		}
		byUID := map[string]podInfo{}
		running := 0
		for _, p := range pods {
			byUID[p.UID] = p
			if p.Phase == "Running" && !p.Deleting && p.Node != node {
				running++
			}
		}
		for _, e := range before.fragile {
			if p, ok := byUID[e.UID]; ok && !p.Deleting {
				return fmt.Sprintf("fragile pod %s of the unreachable node not evicted", e.Name)
			}
		}
		if running != 6 {
			return fmt.Sprintf("%d fragile pods Running on the other nodes, want 6", running)
		}
		for _, s := range before.sturdy {
			if r := c.podReady(t, s.Name); r != "False" {
				return fmt.Sprintf("sturdy pod %s on the unreachable node: Ready %q, want False", s.Name, r)
			}
		}
		return ""
	})
	var evicted []podInfo
	pods, err := c.pods("app=fragile")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		for _, e := range before.fragile {
			if p.UID == e.UID {
				evicted = append(evicted, p)
			}
		}
	}
	if len(evicted) == 0 {
		t.Fatalf("no evicted pod is Terminating on %s (before: %+v)", node, before.fragile)
	}
	for _, s := range before.sturdy {
		if got := c.jsonpath("pod/"+s.Name, "{.metadata.uid}"); got != s.UID {
			t.Errorf("sturdy pod %s tolerating the taint for 300 s was replaced (%q)", s.Name, got)
		}
	}
	return evicted
}

// awaitHealed waits, after the agent of a node came back, until the node
// is Ready without the taint, the evicted pods are gone (their tasks
// killed), and the sturdy pods run in the very processes they ran in
// before the fault.
func (c *cluster) awaitHealed(t *testing.T, mesos string, a *agentProc, before nodePods) {
	t.Helper()
	eventually(t, 2*time.Minute, func() string {
		if ready, tainted := c.nodeCondition(a.name); ready != "True" || tainted {
			return fmt.Sprintf("node %s: Ready %q, unreachable taint %v; want True, untainted", a.name, ready, tainted)
		}
		for _, e := range before.fragile {
			if uid := c.jsonpath("pod/"+e.Name, "{.metadata.uid}"); uid == e.UID {
				return fmt.Sprintf("evicted pod %s is still there (task %s)", e.Name, taskStateByID(t, mesos, "pod-"+e.UID))
			}
		}
		for _, s := range before.sturdy {
			if r := c.podReady(t, s.Name); r != "True" {
				return fmt.Sprintf("sturdy pod %s: Ready %q", s.Name, r)
			}
		}
		return ""
	})
	for _, s := range before.sturdy {
		logs := findLogs(t, a.workDir, s.Name)
		pids := regexp.MustCompile(`pid (\d+)`).FindAllStringSubmatch(logs, -1)
		if len(pids) != 1 {
			t.Errorf("sturdy pod %s logged %d starts, want 1:\n%s\nfiles: %v", s.Name, len(pids), logs, filesNaming(a.workDir, s.Name))
			continue
		}
		if args := cmdline(atoi(pids[0][1])); len(args) == 0 || !strings.HasSuffix(args[0], "sleep") {
			t.Errorf("the process %s of sturdy pod %s is gone (%q): the pod restarted", pids[0][1], s.Name, args)
		}
		if state := taskStateByID(t, mesos, "pod-"+s.UID); state != "TASK_RUNNING" {
			t.Errorf("task of sturdy pod %s is %s", s.Name, state)
		}
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// nodeCondition is a node's Ready status and whether it has the
// unreachable NoExecute taint.
func (c *cluster) nodeCondition(name string) (ready string, tainted bool) {
	ready = c.jsonpath("node/"+name, `{.status.conditions[?(@.type=="Ready")].status}`)
	taints := c.jsonpath("node/"+name, `{range .spec.taints[*]}{.key}:{.effect}{"\n"}{end}`)
	return ready, strings.Contains(taints, "node.kubernetes.io/unreachable:NoExecute")
}

// taskStateByID is the state of a task of /master/state (live, unreachable
// or completed; "" when the master does not know it).
func taskStateByID(t *testing.T, mesos, id string) string {
	t.Helper()
	var state struct {
		Frameworks []struct {
			Tasks            []liveTask `json:"tasks"`
			UnreachableTasks []liveTask `json:"unreachable_tasks"`
			CompletedTasks   []liveTask `json:"completed_tasks"`
		} `json:"frameworks"`
	}
	getJSON(t, mesos+"/master/state", &state)
	found := ""
	for _, f := range state.Frameworks {
		for _, list := range [][]liveTask{f.CompletedTasks, f.UnreachableTasks, f.Tasks} {
			for _, tk := range list {
				if tk.ID == id {
					found = tk.State
				}
			}
		}
	}
	return found
}

// registeredAgents is the number of agents in the master's /master/slaves.
func registeredAgents(t *testing.T, mesos string) int {
	t.Helper()
	var state struct {
		Slaves []json.RawMessage `json:"slaves"`
	}
	getJSON(t, mesos+"/master/slaves", &state)
	return len(state.Slaves)
}

// masterMetric reads one value of the master's /metrics/snapshot.
func masterMetric(t *testing.T, mesos, name string) float64 {
	t.Helper()
	var m map[string]float64
	getJSON(t, mesos+"/metrics/snapshot", &m)
	return m[name]
}

// markAgentGone is the operator's MARK_AGENT_GONE.
func markAgentGone(t *testing.T, mesos, agentID string) {
	t.Helper()
	if agentID == "" {
		t.Fatal("no agent ID to mark gone")
	}
	body := fmt.Sprintf(`{"type":"MARK_AGENT_GONE","mark_agent_gone":{"agent_id":{"value":%q}}}`, agentID)
	req, err := http.NewRequest(http.MethodPost, mesos+"/api/v1", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("MARK_AGENT_GONE %s: %s", agentID, resp.Status)
	}
}

// agentProc is a standalone `kubemesos agent` process; restarted, it runs
// again on the same work dir and endpoint.
type agentProc struct {
	name, workDir string
	args          []string
	mu            sync.Mutex
	out           bytes.Buffer
	cmd           *exec.Cmd
	exited        chan struct{}
}

func (a *agentProc) pid() int { return a.cmd.Process.Pid }

func (a *agentProc) alive() bool {
	select {
	case <-a.exited:
		return false
	default:
		return true
	}
}

// agentProcs runs the agents of a test and kills, at its end, every process
// that ever ran under one of them (executors outlive their agent).
type agentProcs struct {
	t                *testing.T
	mesos, home, dir string
	all              []*agentProc
	tracked          map[int]bool
}

func (s *agentProcs) start(name string) *agentProc {
	s.t.Helper()
	a := &agentProc{name: name, workDir: filepath.Join(s.dir, name)}
	a.args = []string{"agent", "--master", s.mesos, "--listen", "127.0.0.1:" + strconv.Itoa(freePort(s.t)),
		"--hostname", name, "--work-dir", a.workDir,
		// Register again soon after the master lost the agent.
		"--master-ping-timeout", "5s",
		// Executors of an agent killed for good end on their own.
		"--recovery-timeout", "2m"}
	s.all = append(s.all, a)
	s.run(a)
	return a
}

func (s *agentProcs) run(a *agentProc) {
	s.t.Helper()
	a.cmd = exec.Command(binary, a.args...)
	a.cmd.Env = env(s.home)
	w := &lockedWriter{mu: &a.mu, w: &a.out}
	a.cmd.Stdout, a.cmd.Stderr = w, w
	a.exited = make(chan struct{})
	if err := a.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	go func(cmd *exec.Cmd, exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(a.cmd, a.exited)
	s.t.Cleanup(func() {
		if s.t.Failed() {
			a.mu.Lock()
			s.t.Logf("kubemesos agent %s (pid %d) output:\n%s", a.name, a.cmd.Process.Pid, a.out.String())
			a.mu.Unlock()
		}
	})
}

// restart runs a killed agent again with the same flags.
func (s *agentProcs) restart(a *agentProc) {
	s.t.Helper()
	if a.alive() {
		s.t.Fatalf("agent %s still runs", a.name)
	}
	a.mu.Lock()
	a.out.WriteString("--- restarted ---\n")
	a.mu.Unlock()
	s.run(a)
}

// track records the processes under the live agents and under the
// processes recorded before.
func (s *agentProcs) track() {
	for _, a := range s.all {
		if a.alive() {
			for _, pid := range descendants(a.pid()) {
				s.tracked[pid] = true
			}
		}
	}
	for pid := range s.tracked {
		for _, kid := range descendants(pid) {
			s.tracked[kid] = true
		}
	}
}

// kill sends SIGKILL to the agent process only: its executors and pods go
// on, as after an agent crash.
func (s *agentProcs) kill(a *agentProc) {
	s.track()
	_ = a.cmd.Process.Kill()
	<-a.exited
}

// killWithEverything kills the agent and every process under it, as when
// its host dies.
func (s *agentProcs) killWithEverything(a *agentProc) {
	pids := descendants(a.pid())
	s.kill(a)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// killAll ends every agent and every process that ran under one.
func (s *agentProcs) killAll() {
	s.track()
	for _, a := range s.all {
		if a.alive() {
			_ = a.cmd.Process.Kill()
			<-a.exited
		}
	}
	pids := make([]int, 0, len(s.tracked))
	for pid := range s.tracked {
		pids = append(pids, pid)
	}
	sort.Ints(pids)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	// Executors killed with SIGKILL leave the tmpfs of their pods' secret
	// volumes mounted.
	for _, m := range mountsUnder(s.dir) {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
			s.t.Logf("unmount %s: %v", m, err)
		}
	}
}

// mountsUnder lists the mount points below dir, deepest first.
func mountsUnder(dir string) []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		// The mount point, with space, tab, newline and backslash octal-escaped.
		point := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(f[4])
		if strings.HasPrefix(point, dir+"/") {
			out = append(out, point)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out
}

// filesNaming lists the files below dir whose path names the pod.
func filesNaming(dir, pod string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(path, pod) {
			out = append(out, strings.TrimPrefix(path, dir))
		}
		return nil
	})
	return out
}

// hosting is the first of the named live agents that runs at least one
// pod of each Deployment.
func (s *agentProcs) hosting(t *testing.T, c *cluster, names ...string) *agentProc {
	t.Helper()
	for _, name := range names {
		for _, a := range s.all {
			if a.name != name || !a.alive() {
				continue
			}
			if p := podsOf(t, c, name); len(p.fragile) > 0 && len(p.sturdy) > 0 {
				return a
			}
		}
	}
	out, _ := c.kubectl("get", "pods", "-o", "wide")
	t.Fatalf("none of the agents %v runs pods of both Deployments:\n%s", names, out)
	return nil
}

// descendants lists the processes under pid, children first.
func descendants(pid int) []int {
	var out []int
	for _, kid := range children(pid) {
		out = append(out, kid)
		out = append(out, descendants(kid)...)
	}
	return out
}
