package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// frameworkProc is a `kubemesos framework` process run against a
// `kubemesos up --framework=false` cluster.
type frameworkProc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    strings.Builder
	exited chan struct{}
}

// startFramework runs `kubemesos framework` with the flags a user gives it
// for this cluster (and extra ones), listening on listen. The process is
// killed when owner (the test that outlives restarts) ends.
func (c *cluster) startFramework(t, owner *testing.T, mesos, listen string, extra ...string) *frameworkProc {
	t.Helper()
	return c.startFrameworkWith(t, owner, mesos, listen, nil, extra...)
}

// startFrameworkWith is startFramework with more environment variables
// (KEY=value) and flags.
func (c *cluster) startFrameworkWith(t, owner *testing.T, mesos, listen string, environ []string, flags ...string) *frameworkProc {
	t.Helper()
	p := &frameworkProc{exited: make(chan struct{})}
	p.cmd = exec.Command(binary, append([]string{"framework",
		"--mesos-master", mesos,
		"--kubeconfig", filepath.Join(c.dataDir, "kubeconfig"),
		"--listen", listen,
		"--scheduler-name", "default-scheduler",
		"--kubelet-client-ca", filepath.Join(c.dataDir, "pki", "ca.crt"),
		// A killed leader holds its lease until it expires: short leases
		// keep the restarts quick.
		"--leader-elect-lease-duration", "4s", "--leader-elect-renew-deadline", "3s", "--leader-elect-retry-period", "500ms"}, flags...)...)
	p.cmd.Env = append(env(c.home), environ...)
	w := &procWriter{p: p}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	owner.Cleanup(func() {
		p.kill()
		if owner.Failed() {
			owner.Logf("kubemesos framework (pid %d) output:\n%s", p.cmd.Process.Pid, p.output())
		}
	})
	return p
}

type procWriter struct{ p *frameworkProc }

func (w *procWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.out.Write(b)
}

func (p *frameworkProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *frameworkProc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// liveTask is a task of /master/state that has not ended.
type liveTask struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	State string `json:"state"`
}

// frameworkTasks are the tasks (not the completed ones) of every framework
// in the master's state.
func frameworkTasks(t *testing.T, mesos string) []liveTask {
	t.Helper()
	var state struct {
		Frameworks []struct {
			Tasks []liveTask `json:"tasks"`
		} `json:"frameworks"`
	}
	getJSON(t, mesos+"/master/state", &state)
	var out []liveTask
	for _, f := range state.Frameworks {
		out = append(out, f.Tasks...)
	}
	return out
}

type podInfo struct {
	Name, UID, Phase, Node, Reason, Message string
	Deleting                                bool
}

func (c *cluster) pods(selector string) ([]podInfo, error) {
	out, err := c.kubectl("get", "pods", "-l", selector, "-o", "json")
	if err != nil {
		return nil, fmt.Errorf("kubectl get pods: %v: %s", err, out)
	}
	var list struct {
		Items []struct {
			Metadata struct {
				Name              string  `json:"name"`
				UID               string  `json:"uid"`
				DeletionTimestamp *string `json:"deletionTimestamp"`
			} `json:"metadata"`
			Spec struct {
				NodeName string `json:"nodeName"`
			} `json:"spec"`
			Status struct {
				Phase   string `json:"phase"`
				Reason  string `json:"reason"`
				Message string `json:"message"`
			} `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return nil, err
	}
	var pods []podInfo
	for _, i := range list.Items {
		pods = append(pods, podInfo{Name: i.Metadata.Name, UID: i.Metadata.UID, Phase: i.Status.Phase, Node: i.Spec.NodeName,
			Reason: i.Status.Reason, Message: i.Status.Message, Deleting: i.Metadata.DeletionTimestamp != nil})
	}
	return pods, nil
}

// consistent reports ("" when all is well) whether exactly n pods match
// selector and are Running, each with its own running task in the master,
// and whether every live task of the master belongs to such a pod.
func (c *cluster) consistent(t *testing.T, mesos, selector string, n int) string {
	pods, err := c.pods(selector)
	if err != nil {
		return err.Error()
	}
	tasks := map[string]string{}
	for _, tk := range frameworkTasks(t, mesos) {
		tasks[tk.ID] = tk.State
	}
	var problems []string
	running := map[string]bool{}
	for _, p := range pods {
		if p.Phase == "Failed" || p.Phase == "Succeeded" {
			continue
		}
		id := "pod-" + p.UID
		switch {
		case p.Deleting || p.Phase != "Running":
			problems = append(problems, fmt.Sprintf("pod %s is %s (deleting %v)", p.Name, p.Phase, p.Deleting))
		case tasks[id] != "TASK_RUNNING":
			problems = append(problems, fmt.Sprintf("pod %s Running on %s has task %s %q", p.Name, p.Node, id, tasks[id]))
		}
		running[id] = true
	}
	if len(running) != n {
		problems = append(problems, fmt.Sprintf("%d live pods, want %d", len(running), n))
	}
	for id, state := range tasks {
		if !running[id] {
			problems = append(problems, fmt.Sprintf("orphan task %s %s", id, state))
		}
	}
	sort.Strings(problems)
	return strings.Join(problems, "; ")
}

// waitTasks polls the master until cond holds for the number of tasks.
func waitTasks(t *testing.T, mesos string, what string, cond func(n int) bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if n := len(frameworkTasks(t, mesos)); cond(n) {
			t.Logf("kill point: %s (%d tasks)", what, n)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("never reached the kill point %q", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFrameworkFailover kills the framework process with SIGKILL at several
// points of a rollout of 50 pods on 5 process agents (then of scaling to 60
// and down to 25) and restarts it with the same flags: every time, each
// pod ends up Running with exactly one running task and no task runs
// without its pod, within 60 s. Then it kills an executor process: its pods
// become Failed and their Deployment replaces them. Last, it runs a standby
// replica, kills the leader, and checks that the standby takes over with
// the same framework ID, that no pod restarts, and that it launches new
// pods into the executors the old leader started.
func TestFrameworkFailover(t *testing.T) {
	needBinary(t)
	dataDir := filepath.Join(t.TempDir(), "kubemesos")
	c := startUp(t, dataDir, t.TempDir(), "--agents", "5", "--framework=false")
	mesos := mesosURL(t, c)
	listen := "127.0.0.1:" + strconv.Itoa(freePort(t))
	top := t
	fw := c.startFramework(t, top, mesos, listen)
	defer func() {
		fw.kill()
		c.stop()
	}()
	c.eventuallyNodes(t, 5)

	restart := func(t *testing.T) {
		fw.kill()
		fw = c.startFramework(t, top, mesos, listen)
	}
	check := func(t *testing.T, n int) {
		t.Helper()
		eventually(t, time.Minute, func() string { return c.consistent(t, mesos, "app=faults", n) })
	}

	t.Run("kill right after the first ACCEPT", func(t *testing.T) {
		c.apply(t, deployment("faults", 50, "v1"))
		waitTasks(t, mesos, "first task", func(n int) bool { return n >= 1 })
		restart(t)
		check(t, 50)
		// The endpoint's /metrics has the framework's and kube-scheduler's.
		resp, err := http.Get("http://" + listen + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /metrics: %d, %v", resp.StatusCode, err)
		}
		for _, family := range []string{"kubemesos_framework_offers_total", "scheduler_schedule_attempts_total", "scheduler_pending_pods"} {
			if !strings.Contains(string(body), "\n# TYPE "+family+" ") {
				t.Errorf("/metrics has no %s", family)
			}
		}
	})
	t.Run("kill mid-way through scaling up", func(t *testing.T) {
		c.mustKubectl("scale", "deployment/faults", "--replicas=60")
		waitTasks(t, mesos, "half of the new tasks", func(n int) bool { return n >= 55 })
		restart(t)
		check(t, 60)
	})
	t.Run("kill while scaling down", func(t *testing.T) {
		c.mustKubectl("scale", "deployment/faults", "--replicas=25")
		waitTasks(t, mesos, "first tasks killed", func(n int) bool { return n <= 55 })
		restart(t)
		check(t, 25)
	})
	t.Run("kill an executor", func(t *testing.T) {
		execs := executors(c.cmd.Process.Pid)
		if len(execs) == 0 {
			t.Fatal("no executor process under kubemesos up")
		}
		before, err := c.pods("app=faults")
		if err != nil {
			t.Fatal(err)
		}
		// The executor of an agent that runs pods (bin packing may leave an
		// agent with an idle executor).
		var victims []podInfo
		var victim int
		var agentID, node string
		for _, pid := range execs {
			agentID = environ(pid)["MESOS_SLAVE_ID"]
			node = c.jsonpath("nodes", `{.items[?(@.metadata.labels.kubemesos\.io/agent-id=="`+agentID+`")].metadata.name}`)
			for _, p := range before {
				if p.Phase == "Running" && p.Node == node && node != "" {
					victims = append(victims, p)
				}
			}
			if len(victims) > 0 {
				victim = pid
				break
			}
		}
		if len(victims) == 0 {
			t.Fatalf("no Running pod on the nodes of the executors %v", execs)
		}
		t.Logf("killing the executor %d of agent %s (node %s), which runs %d pods", victim, agentID, node, len(victims))
		if err := syscallKill(victim); err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Minute, func() string {
			pods, err := c.pods("app=faults")
			if err != nil {
				return err.Error()
			}
			byUID := map[string]podInfo{}
			for _, p := range pods {
				byUID[p.UID] = p
			}
			for _, v := range victims {
				p, ok := byUID[v.UID]
				if ok && p.Phase != "Failed" {
					return fmt.Sprintf("pod %s of the killed executor is %s", v.Name, p.Phase)
				}
				if ok && (p.Reason == "" || p.Message == "") {
					return fmt.Sprintf("pod %s Failed without a reason and message: %+v", p.Name, p)
				}
			}
			return ""
		})
		check(t, 25)
	})
	t.Run("a standby replica takes over from a killed leader", func(t *testing.T) {
		id := c.jsonpath("configmap/kubemesos-framework -n kube-system", "{.data.frameworkID}")
		before, err := c.pods("app=faults")
		if err != nil {
			t.Fatal(err)
		}
		standby := c.startFramework(t, top, mesos, "127.0.0.1:"+strconv.Itoa(freePort(t)))
		eventually(t, time.Minute, func() string {
			if !strings.Contains(standby.output(), "standing by") {
				return "the standby does not say it stands by:\n" + standby.output()
			}
			return ""
		})
		fw.kill()
		fw = standby
		eventually(t, time.Minute, func() string {
			if !strings.Contains(standby.output(), "kubemesos framework is subscribed") {
				return "the standby did not take over"
			}
			return ""
		})
		if got := c.jsonpath("configmap/kubemesos-framework -n kube-system", "{.data.frameworkID}"); got != id || id == "" {
			t.Errorf("framework ID after the takeover %q, before %q", got, id)
		}
		check(t, 25)
		after, _ := c.pods("app=faults")
		running := map[string]bool{}
		for _, p := range after {
			if p.Phase == "Running" {
				running[p.UID] = true
			}
		}
		for _, p := range before {
			if p.Phase == "Running" && !running[p.UID] {
				t.Errorf("pod %s was Running before the takeover and is not after", p.Name)
			}
		}
		// Logs of a pod the old leader launched, before any status of it
		// reached the new one (reconciliation carries no log paths).
		for _, p := range before {
			if p.Phase == "Running" {
				if out, err := c.kubectl("logs", p.Name); err != nil || !strings.Contains(out, "version v1") {
					t.Errorf("kubectl logs %s after the takeover: %v: %s", p.Name, err, out)
				}
				break
			}
		}
		// The new leader launches too: into the executors the old one
		// started, with their ExecutorInfo (the master refuses any other),
		// although its own --executor-uri differs (another --listen).
		c.mustKubectl("scale", "deployment/faults", "--replicas=35")
		check(t, 35)
	})
}
