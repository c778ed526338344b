package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestFramework works with a `kubemesos up` cluster as a user would, through
// kubectl: workloads are scheduled by kube-scheduler with the MesosOffers
// plugin, launched as Mesos tasks on process agents and run by the kubemesos
// executor.
func TestFramework(t *testing.T) {
	needBinary(t)
	c := startUp(t, filepath.Join(t.TempDir(), "kubemesos"), t.TempDir(), "--agent-attributes", "rack:r1")
	mesos := mesosURL(t, c)
	defer c.stop()

	c.eventuallyNodes(t, 2)

	t.Run("deployment reaches Running and its tasks are in Mesos", func(t *testing.T) {
		c.apply(t, deployment("web", 3, "v1"))
		c.eventuallyRunning(t, "app=web", 3)
		eventually(t, time.Minute, func() string {
			tasks := runningTasks(t, mesos)
			n := 0
			for _, name := range tasks {
				if strings.HasPrefix(name, "default/web-") {
					n++
				}
			}
			if n != 3 {
				return fmt.Sprintf("%d running Mesos tasks of the deployment, want 3: %v", n, tasks)
			}
			return ""
		})
	})

	t.Run("scale to 10 and to 2", func(t *testing.T) {
		c.mustKubectl("scale", "deployment/web", "--replicas=10")
		c.eventuallyRunning(t, "app=web", 10)
		c.mustKubectl("scale", "deployment/web", "--replicas=2")
		c.eventuallyRunning(t, "app=web", 2)
		eventually(t, 2*time.Minute, func() string {
			n := 0
			for _, name := range runningTasks(t, mesos) {
				if strings.HasPrefix(name, "default/web-") {
					n++
				}
			}
			if n != 2 {
				return fmt.Sprintf("%d running Mesos tasks after scaling to 2", n)
			}
			return ""
		})
	})

	t.Run("rolling update", func(t *testing.T) {
		c.apply(t, deployment("web", 2, "v2"))
		if out, err := c.kubectlTimeout(3*time.Minute, "rollout", "status", "deployment/web", "--timeout=150s"); err != nil {
			t.Fatalf("rollout status: %v\n%s", err, out)
		}
		c.eventuallyRunning(t, "app=web,version=v2", 2)
	})

	t.Run("job runs to Succeeded", func(t *testing.T) {
		c.apply(t, `apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: main, image: busybox, command: ["sh", "-c", "echo done"]}
`)
		if out, err := c.kubectlTimeout(3*time.Minute, "wait", "--for=condition=complete", "job/once", "--timeout=150s"); err != nil {
			t.Fatalf("job did not complete: %v\n%s\n%s", err, out, c.describe("job/once"))
		}
	})

	// The service account volume kube-apiserver's admission adds: a token,
	// the root CA (from the framework's watch of kube-root-ca.crt) and the
	// namespace, where in-cluster clients look for them.
	t.Run("configmap and secret in volumes and env, and the service account volume, read through kubectl logs", func(t *testing.T) {
		c.mustKubectl("create", "configmap", "settings", "--from-literal=greeting=hello-from-configmap")
		c.mustKubectl("create", "secret", "generic", "creds", "--from-literal=password=s3cret-value")
		c.apply(t, `apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "cat /etc/settings/greeting; echo; cat /etc/creds/password; echo; echo env=$GREETING/$PASSWORD; sa=/var/run/secrets/kubernetes.io/serviceaccount; echo ns=$(cat $sa/namespace); head -c 27 $sa/ca.crt; echo; echo tok=$(head -c 3 $sa/token); sleep 3600"]
    env:
    - name: GREETING
      valueFrom: {configMapKeyRef: {name: settings, key: greeting}}
    - name: PASSWORD
      valueFrom: {secretKeyRef: {name: creds, key: password}}
    volumeMounts:
    - {name: settings, mountPath: /etc/settings}
    - {name: creds, mountPath: /etc/creds}
  volumes:
  - name: settings
    configMap: {name: settings}
  - name: creds
    secret: {secretName: creds}
`)
		c.eventuallyPodPhase(t, "reader", "Running")
		eventually(t, time.Minute, func() string {
			out, err := c.kubectl("logs", "reader")
			if err != nil {
				return fmt.Sprintf("kubectl logs: %v: %s", err, out)
			}
			for _, want := range []string{"hello-from-configmap", "s3cret-value", "env=hello-from-configmap/s3cret-value", "ns=default", "-----BEGIN CERTIFICATE-----", "tok=eyJ"} {
				if !strings.Contains(out, want) {
					return fmt.Sprintf("logs lack %q:\n%s", want, out)
				}
			}
			return ""
		})
	})

	t.Run("readiness probe gates Ready", func(t *testing.T) {
		c.apply(t, `apiVersion: v1
kind: Pod
metadata: {name: slow-ready}
spec:
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "sleep 4; touch /work/ready; sleep 3600"]
    readinessProbe:
      exec: {command: ["test", "-f", "/work/ready"]}
      periodSeconds: 1
    volumeMounts:
    - {name: work, mountPath: /work}
  volumes:
  - name: work
    emptyDir: {}
`)
		c.eventuallyPodPhase(t, "slow-ready", "Running")
		if ready := c.podReady(t, "slow-ready"); ready == "True" {
			t.Fatal("pod Ready before its readiness probe could pass")
		}
		eventually(t, time.Minute, func() string {
			if r := c.podReady(t, "slow-ready"); r != "True" {
				return "pod not Ready: " + r
			}
			return ""
		})
	})

	t.Run("kubectl logs -f follows", func(t *testing.T) {
		c.apply(t, `apiVersion: v1
kind: Pod
metadata: {name: ticker}
spec:
  containers:
  - {name: main, image: busybox, command: ["sh", "-c", "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.2; done"]}
`)
		c.eventuallyPodPhase(t, "ticker", "Running")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, binary, "kubectl", "logs", "-f", "ticker")
		cmd.Env = append(env(c.home), "KUBEMESOS_DATA_DIR="+c.dataDir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cancel(); _ = cmd.Wait() }()
		sc := bufio.NewScanner(out)
		seen := map[string]bool{}
		began := time.Now()
		for sc.Scan() && len(seen) < 30 {
			seen[sc.Text()] = true
		}
		if len(seen) < 30 {
			t.Fatalf("followed %d distinct lines, want 30: %v", len(seen), seen)
		}
		// 30 lines at 5 a second: some must have arrived while following.
		if time.Since(began) < 2*time.Second && len(seen) < 30 {
			t.Fatalf("lines arrived too fast to have been followed")
		}
	})

	t.Run("kubectl delete pod kills the task gracefully", func(t *testing.T) {
		c.apply(t, `apiVersion: v1
kind: Pod
metadata: {name: graceful}
spec:
  terminationGracePeriodSeconds: 20
  containers:
  - {name: main, image: busybox, command: ["sh", "-c", "trap 'echo got-sigterm; exit 0' TERM; echo started; while true; do sleep 0.1; done"]}
`)
		c.eventuallyPodPhase(t, "graceful", "Running")
		eventually(t, time.Minute, func() string {
			if out, _ := c.kubectl("logs", "graceful"); !strings.Contains(out, "started") {
				return "no 'started' in the logs yet: " + out
			}
			return ""
		})
		began := time.Now()
		c.mustKubectl("delete", "pod", "graceful", "--wait=true", "--timeout=60s")
		if took := time.Since(began); took > 19*time.Second {
			t.Errorf("deletion took %s: the container's SIGTERM handler should end it at once, not the grace period", took)
		}
		eventually(t, time.Minute, func() string {
			state := taskState(t, mesos, "default/graceful")
			if state != "TASK_KILLED" {
				return "Mesos task of the deleted pod is " + state + ", want TASK_KILLED"
			}
			return ""
		})
		if logs := findLogs(t, c.dataDir, "graceful"); !strings.Contains(logs, "got-sigterm") {
			t.Errorf("the container's log in its sandbox does not show SIGTERM was handled:\n%s", logs)
		}
	})

	t.Run("pod larger than any offer stays Pending and says why", func(t *testing.T) {
		c.apply(t, `apiVersion: v1
kind: Pod
metadata: {name: huge}
spec:
  containers:
  - name: main
    image: busybox
    command: ["sleep", "3600"]
    resources: {requests: {cpu: "64"}}
`)
		eventually(t, time.Minute, func() string {
			msg := c.jsonpath("pod/huge", `{.status.conditions[?(@.type=="PodScheduled")].message}`)
			if !strings.Contains(msg, "cpu") {
				return "PodScheduled message does not explain the cpu shortfall: " + msg
			}
			return ""
		})
		if phase := c.jsonpath("pod/huge", "{.status.phase}"); phase != "Pending" {
			t.Errorf("phase %s, want Pending", phase)
		}
	})

	t.Run("nodeSelector on agent attributes", func(t *testing.T) {
		c.apply(t, `apiVersion: v1
kind: Pod
metadata: {name: on-rack-r1}
spec:
  nodeSelector: {kubemesos.io/attribute-rack: r1}
  containers:
  - {name: main, image: busybox, command: ["sleep", "3600"]}
---
apiVersion: v1
kind: Pod
metadata: {name: on-rack-r2}
spec:
  nodeSelector: {kubemesos.io/attribute-rack: r2}
  containers:
  - {name: main, image: busybox, command: ["sleep", "3600"]}
`)
		c.eventuallyPodPhase(t, "on-rack-r1", "Running")
		eventually(t, time.Minute, func() string {
			msg := c.jsonpath("pod/on-rack-r2", `{.status.conditions[?(@.type=="PodScheduled")].reason}`)
			if msg != "Unschedulable" {
				return "pod for rack r2 is not Unschedulable: " + msg
			}
			return ""
		})
	})

	t.Run("hostPort from the offered port range", func(t *testing.T) {
		c.apply(t, `apiVersion: v1
kind: Pod
metadata: {name: with-port}
spec:
  containers:
  - name: main
    image: busybox
    command: ["sleep", "3600"]
    ports: [{containerPort: 8080, hostPort: 31555}]
---
apiVersion: v1
kind: Pod
metadata: {name: port-not-offered}
spec:
  containers:
  - name: main
    image: busybox
    command: ["sleep", "3600"]
    ports: [{containerPort: 8080, hostPort: 80}]
`)
		c.eventuallyPodPhase(t, "with-port", "Running")
		eventually(t, time.Minute, func() string {
			if ports := taskPorts(t, mesos, "default/with-port"); !strings.Contains(ports, "31555") {
				return "the task's resources do not hold port 31555: " + ports
			}
			return ""
		})
		eventually(t, time.Minute, func() string {
			phase, reason := c.jsonpath("pod/port-not-offered", "{.status.phase}"), c.jsonpath("pod/port-not-offered", "{.status.reason}")
			if phase != "Failed" || reason != "HostPortUnavailable" {
				return fmt.Sprintf("a pod asking for a port no agent has is %s (%s), want Failed (HostPortUnavailable)", phase, reason)
			}
			if msg := c.jsonpath("pod/port-not-offered", "{.status.message}"); !strings.Contains(msg, "host port 80 is in no registered Mesos agent's ports resource") {
				return "the failed pod's message does not say why: " + msg
			}
			return ""
		})
	})

	t.Run("pod in a role the framework does not serve fails at once", func(t *testing.T) {
		c.apply(t, `apiVersion: v1
kind: Pod
metadata:
  name: other-role
  annotations: {kubemesos.io/role: not-ours}
spec:
  containers:
  - {name: main, image: busybox, command: ["sleep", "3600"]}
`)
		eventually(t, time.Minute, func() string {
			if phase, reason := c.jsonpath("pod/other-role", "{.status.phase}"), c.jsonpath("pod/other-role", "{.status.reason}"); phase != "Failed" || reason != "UnknownRole" {
				return fmt.Sprintf("a pod of a role outside --roles is %s (%s), want Failed (UnknownRole)", phase, reason)
			}
			return ""
		})
	})
}

func deployment(name string, replicas int, version string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s}
spec:
  replicas: %[2]d
  selector: {matchLabels: {app: %[1]s}}
  strategy: {rollingUpdate: {maxUnavailable: 1, maxSurge: 1}}
  template:
    metadata: {labels: {app: %[1]s, version: %[3]s}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: main
        image: busybox
        command: ["sh", "-c", "echo version %[3]s; exec sleep 3600"]
        env: [{name: VERSION, value: %[3]s}]
        resources: {requests: {cpu: 100m, memory: 32Mi}}
`, name, replicas, version)
}

func (c *cluster) apply(t *testing.T, manifest string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "kubectl", "apply", "-f", "-")
	cmd.Env = append(env(c.home), "KUBEMESOS_DATA_DIR="+c.dataDir)
	cmd.Stdin = strings.NewReader(manifest)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
}

func (c *cluster) kubectlTimeout(d time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"kubectl"}, args...)...)
	cmd.Env = append(env(c.home), "KUBEMESOS_DATA_DIR="+c.dataDir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *cluster) jsonpath(object, path string) string {
	out, _ := c.kubectl("get", object, "-o", "jsonpath="+path)
	return strings.TrimSpace(out)
}

func (c *cluster) describe(object string) string {
	out, _ := c.kubectl("describe", object)
	return out
}

func (c *cluster) podReady(t *testing.T, pod string) string {
	return c.jsonpath("pod/"+pod, `{.status.conditions[?(@.type=="Ready")].status}`)
}

func (c *cluster) eventuallyNodes(t *testing.T, n int) {
	t.Helper()
	eventually(t, time.Minute, func() string {
		out, err := c.kubectl("get", "nodes", "-o", `jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
		if err != nil {
			return out
		}
		ready := strings.Count(out, "=True")
		if ready != n {
			return fmt.Sprintf("%d Ready nodes, want %d:\n%s", ready, n, out)
		}
		return ""
	})
}

func (c *cluster) eventuallyPodPhase(t *testing.T, pod, phase string) {
	t.Helper()
	eventually(t, 2*time.Minute, func() string {
		if got := c.jsonpath("pod/"+pod, "{.status.phase}"); got != phase {
			return fmt.Sprintf("pod %s is %q, want %s\n%s", pod, got, phase, c.describe("pod/"+pod))
		}
		return ""
	})
}

// eventuallyRunning waits until exactly n pods match selector, all Running
// and none terminating.
func (c *cluster) eventuallyRunning(t *testing.T, selector string, n int) {
	t.Helper()
	eventually(t, 3*time.Minute, func() string {
		out, err := c.kubectl("get", "pods", "-l", selector, "-o", "json")
		if err != nil {
			return out
		}
		var list struct {
			Items []struct {
				Metadata struct {
					Name              string  `json:"name"`
					DeletionTimestamp *string `json:"deletionTimestamp"`
				} `json:"metadata"`
				Status struct {
					Phase string `json:"phase"`
				} `json:"status"`
			} `json:"items"`
		}
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			return err.Error()
		}
		running, seen := 0, []string{}
		for _, p := range list.Items {
			if p.Status.Phase == "Running" && p.Metadata.DeletionTimestamp == nil {
				running++
			}
			seen = append(seen, p.Metadata.Name+"="+p.Status.Phase)
		}
		if running != n || len(list.Items) != n {
			return fmt.Sprintf("%d of %d pods %s Running, want exactly %d: %v", running, len(list.Items), selector, n, seen)
		}
		return ""
	})
}

var mesosURLPattern = regexp.MustCompile(`Mesos master (http://[0-9.]+:[0-9]+)`)

func mesosURL(t *testing.T, c *cluster) string {
	t.Helper()
	m := mesosURLPattern.FindStringSubmatch(c.output())
	if m == nil {
		t.Fatalf("no Mesos master URL in the ready output:\n%s", c.output())
	}
	return m[1]
}

type mesosTask struct {
	Name      string `json:"name"`
	State     string `json:"state"`
	Resources struct {
		Ports string `json:"ports"`
	} `json:"resources"`
}

func mesosTasks(t *testing.T, mesos string) []mesosTask {
	t.Helper()
	var state struct {
		Frameworks []struct {
			Name           string      `json:"name"`
			Tasks          []mesosTask `json:"tasks"`
			CompletedTasks []mesosTask `json:"completed_tasks"`
		} `json:"frameworks"`
	}
	getJSON(t, mesos+"/master/state", &state)
	var tasks []mesosTask
	for _, f := range state.Frameworks {
		tasks = append(append(tasks, f.Tasks...), f.CompletedTasks...)
	}
	return tasks
}

func runningTasks(t *testing.T, mesos string) []string {
	var names []string
	for _, task := range mesosTasks(t, mesos) {
		if task.State == "TASK_RUNNING" {
			names = append(names, task.Name)
		}
	}
	return names
}

func taskState(t *testing.T, mesos, name string) string {
	state := "<no task>"
	for _, task := range mesosTasks(t, mesos) {
		if task.Name == name {
			state = task.State
		}
	}
	return state
}

func taskPorts(t *testing.T, mesos, name string) string {
	for _, task := range mesosTasks(t, mesos) {
		if task.Name == name {
			return task.Resources.Ports
		}
	}
	return "<no task>"
}

// findLogs returns the content of the log files under dataDir whose path
// names the pod.
func findLogs(t *testing.T, dataDir, pod string) string {
	t.Helper()
	var b strings.Builder
	_ = filepath.WalkDir(dataDir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(path, "_"+pod+"_") && strings.HasSuffix(path, ".log") {
			data, _ := os.ReadFile(path)
			b.Write(data)
		}
		return nil
	})
	return b.String()
}
