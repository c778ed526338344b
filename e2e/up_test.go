package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestUpLifecycle walks one data directory through a cluster's life: first
// start, kubectl, a Deployment whose pods the controller manager creates,
// state that survives a restart, --reset, and SIGTERM each time.
func TestUpLifecycle(t *testing.T) {
	needBinary(t)
	dataDir := filepath.Join(t.TempDir(), "kubemesos")
	home := t.TempDir()

	c := startUp(t, dataDir, home)
	if !strings.Contains(c.output(), "export KUBECONFIG="+filepath.Join(dataDir, "kubeconfig")) {
		t.Errorf("no export KUBECONFIG line for %s:\n%s", dataDir, c.output())
	}
	for _, component := range []string{"mesos-sim master", "certificates", "etcd", "kube-apiserver", "kube-controller-manager"} {
		if !strings.Contains(c.output(), component) {
			t.Errorf("progress does not mention %s:\n%s", component, c.output())
		}
	}
	st, err := os.Stat(filepath.Join(dataDir, "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("kubeconfig mode %v, want 0600", st.Mode().Perm())
	}
	for _, f := range []string{"logs/kubernetes.log", "logs/etcd.log", "pki/ca.crt", "pki/apiserver-kubelet-client.crt", "pki/sa.key", "volume-plugins"} {
		if _, err := os.Stat(filepath.Join(dataDir, f)); err != nil {
			t.Errorf("data dir: %v", err)
		}
	}

	t.Run("process agents registered", func(t *testing.T) {
		m := regexp.MustCompile(`Mesos master (http://[0-9.]+:[0-9]+)`).FindStringSubmatch(c.output())
		if m == nil {
			t.Fatalf("no Mesos master URL in the ready line:\n%s", c.output())
		}
		var state struct {
			Slaves []struct {
				Hostname string `json:"hostname"`
				PID      string `json:"pid"`
			} `json:"slaves"`
		}
		eventually(t, 30*time.Second, func() string {
			resp, err := http.Get(m[1] + "/master/slaves")
			if err != nil {
				return err.Error()
			}
			defer resp.Body.Close()
			if err := json.NewDecoder(resp.Body).Decode(&state); err != nil {
				return err.Error()
			}
			if len(state.Slaves) != 2 {
				return fmt.Sprintf("%d agents registered, want 2", len(state.Slaves))
			}
			return ""
		})
		for _, a := range state.Slaves {
			// Each process agent serves its own endpoint (slave(1)@host:port).
			_, endpoint, ok := strings.Cut(a.PID, "@")
			if !ok {
				t.Fatalf("agent %s has no endpoint: %q", a.Hostname, a.PID)
			}
			resp, err := http.Get("http://" + endpoint + "/health")
			if err != nil {
				t.Fatalf("agent %s endpoint %s: %v", a.Hostname, endpoint, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("agent %s /health: %s", a.Hostname, resp.Status)
			}
		}
	})

	t.Run("kubectl get namespaces", func(t *testing.T) {
		c.t = t
		out := c.mustKubectl("get", "namespaces")
		for _, ns := range []string{"default", "kube-system"} {
			if !strings.Contains(out, ns) {
				t.Errorf("namespace %s missing:\n%s", ns, out)
			}
		}
		// up's readiness probe namespace goes away.
		eventually(t, 30*time.Second, func() string {
			out, err := c.kubectl("get", "namespaces", "-l", "kubemesos.io/probe", "-o", "name")
			if err != nil || strings.TrimSpace(out) != "" {
				return fmt.Sprintf("probe namespaces left: %v %s", err, out)
			}
			return ""
		})
	})

	t.Run("deployment pods created, scheduled and running", func(t *testing.T) {
		c.t = t
		c.mustKubectl("create", "deployment", "web", "--image=busybox", "--replicas=3", "--", "sleep", "3600")
		eventually(t, 2*time.Minute, func() string {
			out, _ := c.kubectl("get", "pods", "-l", "app=web", "-o",
				`jsonpath={range .items[*]}{.metadata.ownerReferences[0].kind} {.status.phase} {.spec.nodeName}{"\n"}{end}`)
			if n := strings.Count(out, "ReplicaSet Running agent-"); n != 3 {
				return fmt.Sprintf("%d pods of the ReplicaSet Running on an agent's node, want 3:\n%s", n, out)
			}
			return ""
		})
		// The restart below is about the cluster's own state; what happens
		// to running pods across a restart is tested with the framework.
		c.mustKubectl("delete", "deployment", "web", "--wait=true")
		eventually(t, time.Minute, func() string {
			if out, _ := c.kubectl("get", "pods", "-l", "app=web", "-o", "name"); strings.TrimSpace(out) != "" {
				return "pods of the deleted deployment left:\n" + out
			}
			return ""
		})
	})

	// As after node leases renewed too late (a slow API server, a paused
	// framework): the node lifecycle controller marks the node Ready
	// Unknown, taints it unreachable and sets its pods' Ready False. The
	// framework, like a kubelet, writes the node Ready again and sets the
	// pods, still running, Ready again; nothing restarts.
	t.Run("a node and pods marked lost while their agent is fine come back", func(t *testing.T) {
		c.t = t
		c.mustKubectl("create", "deployment", "steady", "--image=busybox", "--replicas=2", "--", "sleep", "3600")
		const readyPods = `jsonpath={range .items[*]}{.metadata.uid} {.spec.nodeName} {.status.conditions[?(@.type=="Ready")].status} {.status.containerStatuses[0].restartCount}{"\n"}{end}`
		var before string
		eventually(t, 2*time.Minute, func() string {
			before, _ = c.kubectl("get", "pods", "-l", "app=steady", "-o", readyPods)
			if n := strings.Count(before, " True 0\n"); n != 2 {
				return fmt.Sprintf("%d pods Ready, want 2:\n%s", n, before)
			}
			return ""
		})
		node := strings.Fields(before)[1]
		c.mustKubectl("patch", "node", node, "--subresource=status", "--type=strategic", "-p",
			`{"status":{"conditions":[{"type":"Ready","status":"Unknown","reason":"NodeStatusUnknown","message":"Kubelet stopped posting node status."}]}}`)
		for _, line := range strings.Split(strings.TrimSpace(before), "\n") {
			if f := strings.Fields(line); f[1] == node {
				name := c.mustKubectl("get", "pods", "-l", "app=steady", "-o", `jsonpath={.items[?(@.metadata.uid=="`+f[0]+`")].metadata.name}`)
				c.mustKubectl("patch", "pod", name, "--subresource=status", "--type=strategic", "-p",
					`{"status":{"conditions":[{"type":"Ready","status":"False"}]}}`)
			}
		}
		eventually(t, time.Minute, func() string {
			out, _ := c.kubectl("get", "node", node, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status} {.spec.taints[*].key}`)
			if strings.TrimSpace(out) != "True" {
				return fmt.Sprintf("node %s: Ready and taints %q, want True and none", node, out)
			}
			after, _ := c.kubectl("get", "pods", "-l", "app=steady", "-o", readyPods)
			if after != before {
				return fmt.Sprintf("pods (uid, node, Ready, restarts) now:\n%s\nwant as before:\n%s", after, before)
			}
			return ""
		})
		c.mustKubectl("delete", "deployment", "steady", "--wait=true")
	})

	t.Run("second up on the same data dir is refused", func(t *testing.T) {
		cmd := exec.Command(binary, "up", "--data-dir", dataDir, "--api-port", strconv.Itoa(freePort(t)), "--mesos-port", strconv.Itoa(freePort(t)))
		cmd.Env = env(home)
		out, err := runWithTimeout(cmd, time.Minute)
		if err == nil || !strings.Contains(out, "in use by another kubemesos up") {
			t.Errorf("second up on %s: err %v, output:\n%s", dataDir, err, out)
		}
	})

	c.t = t
	c.mustKubectl("create", "configmap", "survivor", "--from-literal=kept=yes")
	c.stop()

	t.Run("restart keeps state", func(t *testing.T) {
		c := startUp(t, dataDir, home)
		if !strings.Contains(c.output(), "existing cluster") {
			t.Errorf("restart does not say it found the existing cluster:\n%s", c.output())
		}
		out := c.mustKubectl("get", "configmap", "survivor", "-o", "jsonpath={.data.kept}")
		if out != "yes" {
			t.Errorf("configmap survivor after restart: %q, want yes", out)
		}
		c.stop()
	})

	t.Run("reset wipes state", func(t *testing.T) {
		c := startUp(t, dataDir, home, "--reset")
		out, err := c.kubectl("get", "configmap", "survivor")
		if err == nil || !strings.Contains(out, "NotFound") && !strings.Contains(out, "not found") {
			t.Errorf("configmap survivor after --reset: err %v, output:\n%s", err, out)
		}
		c.stop()
	})
}

// TestUpPortInUse checks that a busy port is a clear error, found before
// anything starts.
func TestUpPortInUse(t *testing.T) {
	needBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	for _, flag := range []string{"--api-port", "--mesos-port"} {
		t.Run(flag, func(t *testing.T) {
			other := "--mesos-port"
			if flag == other {
				other = "--api-port"
			}
			cmd := exec.Command(binary, "up", "--data-dir", t.TempDir(), flag, strconv.Itoa(port), other, strconv.Itoa(freePort(t)))
			cmd.Env = env(t.TempDir())
			out, err := runWithTimeout(cmd, time.Minute)
			if err == nil {
				t.Fatalf("up with %s %d in use succeeded:\n%s", flag, port, out)
			}
			if !strings.Contains(out, "already in use") || !strings.Contains(out, flag) {
				t.Errorf("error does not say the port is in use and which flag to change:\n%s", out)
			}
		})
	}
}

// TestUpUnusableDataDir checks that a data dir that cannot be created is a
// clear error.
func TestUpUnusableDataDir(t *testing.T) {
	needBinary(t)
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "up", "--data-dir", filepath.Join(file, "data"), "--api-port", strconv.Itoa(freePort(t)), "--mesos-port", strconv.Itoa(freePort(t)))
	cmd.Env = env(t.TempDir())
	out, err := runWithTimeout(cmd, time.Minute)
	if err == nil {
		t.Fatalf("up with an unusable data dir succeeded:\n%s", out)
	}
	if !strings.Contains(out, "data dir") {
		t.Errorf("error does not name the data dir:\n%s", out)
	}
}

func runWithTimeout(cmd *exec.Cmd, d time.Duration) (string, error) {
	var b strings.Builder
	cmd.Stdout, cmd.Stderr = &b, &b
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return b.String(), err
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		return b.String(), fmt.Errorf("still running after %s", d)
	}
}

// TestUpComponentFails checks that a component failing to start (here etcd,
// whose data directory is a file) is a clear error and a non-zero exit,
// with what had started stopped again.
func TestUpComponentFails(t *testing.T) {
	needBinary(t)
	dataDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dataDir, "etcd"), []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "up", "--data-dir", dataDir, "--api-port", strconv.Itoa(freePort(t)), "--mesos-port", strconv.Itoa(freePort(t)))
	cmd.Env = env(t.TempDir())
	out, err := runWithTimeout(cmd, time.Minute)
	if err == nil {
		t.Fatalf("up with a broken etcd data dir succeeded:\n%s", out)
	}
	if !strings.Contains(out, "kubemesos: etcd:") {
		t.Errorf("error does not name etcd:\n%s", out)
	}
	if !strings.Contains(out, "stopped") {
		t.Errorf("the Mesos master started before etcd was not stopped:\n%s", out)
	}
}
