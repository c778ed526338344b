package executor_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubemesos/kubemesos/executor/protocol"
)

const agentResources = "cpus:8;mem:8192;disk:10240;ports:[31000-32000]"

func TestPodRunsAndFinishes(t *testing.T) {
	f := startFramework(t, agentResources)
	f.launch(map[string][]byte{"web": podTask(t, "web", corev1.RestartPolicyNever, "echo hello; sleep 0.3")})
	seen := f.until("web", mesos.TASK_FINISHED)
	if got := distinctStates(seen); got != "TASK_STARTING TASK_RUNNING TASK_FINISHED" {
		t.Errorf("states %s, want STARTING, RUNNING, …, FINISHED", got)
	}
	var lastSeq uint64
	for _, st := range seen {
		m, _ := podStatus(t, st)
		if m.Sequence <= lastSeq {
			t.Errorf("sequence %d after %d", m.Sequence, lastSeq)
		}
		lastSeq = m.Sequence
		if st.GetSource() != mesos.SOURCE_EXECUTOR || st.GetExecutorID().GetValue() != executorID {
			t.Errorf("update %s from %s/%s", st.GetState(), st.GetSource(), st.GetExecutorID().GetValue())
		}
	}
	final := seen[len(seen)-1]
	m, ps := podStatus(t, final)
	if ps.Phase != corev1.PodSucceeded || len(ps.ContainerStatuses) != 1 || ps.ContainerStatuses[0].State.Terminated == nil || ps.ContainerStatuses[0].State.Terminated.ExitCode != 0 {
		t.Fatalf("final pod status %+v", ps)
	}
	if !filepath.IsAbs(m.Directory) || filepath.Base(m.Directory) != "default_web_uid-web" || filepath.Base(filepath.Dir(m.Directory)) != "pods" {
		t.Errorf("directory %q, want <sandbox>/pods/default_web_uid-web", m.Directory)
	}
	if log := containerLog(t, m, "main"); !strings.Contains(log, " stdout F hello") {
		t.Errorf("log of main:\n%s", log)
	}
}

func TestPodFails(t *testing.T) {
	f := startFramework(t, agentResources)
	f.launch(map[string][]byte{"job": podTask(t, "job", corev1.RestartPolicyNever, "exit 3")})
	seen := f.until("job", mesos.TASK_FAILED)
	final := seen[len(seen)-1]
	if !strings.Contains(final.GetMessage(), "exit code 3") && !strings.Contains(final.GetMessage(), "exited with code 3") {
		t.Errorf("message %q, want the exit code", final.GetMessage())
	}
	if _, ps := podStatus(t, final); ps.Phase != corev1.PodFailed {
		t.Errorf("phase %s", ps.Phase)
	}
}

func TestKillIsGraceful(t *testing.T) {
	f := startFramework(t, agentResources)
	f.launch(map[string][]byte{"svc": podTask(t, "svc", corev1.RestartPolicyAlways,
		`trap 'echo got SIGTERM; exit 0' TERM; echo ready; while :; do sleep 0.05; done`)})
	running := f.until("svc", mesos.TASK_RUNNING)
	// TASK_RUNNING comes once the process started, maybe before the shell
	// set its trap: kill once it says it has.
	m, _ := podStatus(t, running[len(running)-1])
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(readLog(m, "main"), "ready") {
		if time.Now().After(deadline) {
			t.Fatalf("the container never said ready; its log:\n%s", readLog(m, "main"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.kill("svc")
	seen := f.until("svc", mesos.TASK_KILLED)
	m, _ = podStatus(t, seen[len(seen)-1])
	if log := containerLog(t, m, "main"); !strings.Contains(log, "got SIGTERM") {
		t.Errorf("the container did not see SIGTERM; its log:\n%s", log)
	}
}

func TestTwoPodsOnOneExecutorAndShutdown(t *testing.T) {
	f := startFramework(t, agentResources)
	f.launch(map[string][]byte{
		"a": podTask(t, "a", corev1.RestartPolicyAlways, `trap 'echo got SIGTERM; exit 0' TERM; while :; do sleep 0.05; done`),
		"b": podTask(t, "b", corev1.RestartPolicyAlways, `trap 'echo got SIGTERM; exit 0' TERM; while :; do sleep 0.05; done`),
	})
	dirs := map[string]string{}
	var agentID mesos.AgentID
	for _, id := range []string{"a", "b"} {
		seen := f.until(id, mesos.TASK_RUNNING)
		m, _ := podStatus(t, seen[len(seen)-1])
		dirs[id] = filepath.Dir(m.Directory)
		agentID = *seen[0].AgentID
	}
	if dirs["a"] != dirs["b"] {
		t.Errorf("pods in %v: want one executor sandbox", dirs)
	}
	failure := f.shutdown(agentID)
	if failure.GetStatus() != 0 {
		t.Errorf("executor exit status %d after SHUTDOWN, want 0", failure.GetStatus())
	}
	for _, id := range []string{"a", "b"} {
		seen := f.until(id, mesos.TASK_KILLED)
		m, _ := podStatus(t, seen[len(seen)-1])
		if log := containerLog(t, m, "main"); !strings.Contains(log, "got SIGTERM") {
			t.Errorf("pod %s did not see SIGTERM; its log:\n%s", id, log)
		}
	}
}

func TestMalformedPayloadThenNextPod(t *testing.T) {
	f := startFramework(t, agentResources)
	f.launch(map[string][]byte{"bad": []byte("this is not a PodTask")})
	bad := f.next("bad")
	if bad.GetState() != mesos.TASK_FAILED || bad.GetReason() != mesos.REASON_TASK_INVALID || !strings.Contains(bad.GetMessage(), "invalid kubemesos pod task") {
		t.Fatalf("malformed payload: %s", describe(bad))
	}
	f.launch(map[string][]byte{"good": podTask(t, "good", corev1.RestartPolicyNever, "echo ok")})
	f.until("good", mesos.TASK_FINISHED)
}

func TestIdleExecutorExits(t *testing.T) {
	f := startFramework(t, agentResources)
	f.launch(map[string][]byte{"once": podTaskWith(t, "once", corev1.RestartPolicyNever, "true",
		&protocol.PodTask{Settings: &protocol.ExecutorSettings{IdleTimeoutSeconds: 1}})})
	f.until("once", mesos.TASK_FINISHED)
	select {
	case failure := <-f.failures:
		if failure.GetExecutorID().GetValue() != executorID || failure.GetStatus() != 0 {
			t.Fatalf("executor ended %v, want %s with status 0", failure, executorID)
		}
	case <-time.After(wait):
		t.Fatal("the idle executor did not exit")
	}
}
