package executor_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubemesos/kubemesos/executor/protocol"
)

const benchAgentResources = "cpus:64;mem:65536;disk:10240;ports:[31000-32000]"

// BenchmarkLaunchToRunning measures a single-container pod (`sleep 3600`)
// from the framework's ACCEPT to its TASK_RUNNING update, on a local
// mesos-sim process agent whose kubemesos executor is already running (a
// first pod started it), over 50 pods launched one after another; it
// reports the median and the 99th percentile. By default the executor is
// the small test binary (executor/internal/testexecutor: the executor, the
// runner and mesos-go, without the embedded Kubernetes components); set
// KUBEMESOS_BINARY=<path to kubemesos> to measure `kubemesos executor`
// itself. The executor's own start-up is not in this figure, since it is
// already running. Run with -benchtime 1x.
func BenchmarkLaunchToRunning(b *testing.B) {
	const pods = 50
	f := startFramework(b, benchAgentResources)
	f.launch(map[string][]byte{"warm-up": sleepPod(b, "warm-up")})
	seen := f.until("warm-up", mesos.TASK_RUNNING)
	agentID := *seen[0].AgentID
	var latencies []time.Duration
	b.ResetTimer()
	for i := range b.N {
		var ids []string
		for j := range pods {
			b.StopTimer()
			id := fmt.Sprintf("pod-%d-%d", i, j)
			offer := f.offer()
			data := sleepPod(b, id)
			b.StartTimer()
			start := time.Now()
			f.accept(offer, map[string][]byte{id: data})
			f.until(id, mesos.TASK_RUNNING)
			latencies = append(latencies, time.Since(start))
			ids = append(ids, id)
		}
		b.StopTimer()
		for _, id := range ids {
			f.kill(id)
		}
		for _, id := range ids {
			f.until(id, mesos.TASK_KILLED)
		}
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(latencies)
	b.ReportMetric(ms(latencies[len(latencies)/2]), "ms-median")
	b.ReportMetric(ms(latencies[min(len(latencies)-1, len(latencies)*99/100)]), "ms-p99")
	f.shutdown(agentID)
}

// BenchmarkExecutorRSS100Pods runs 100 single-container pods (`sleep
// 3600`) on one executor and reports the executor process's resident
// memory from /proc (VmRSS, and its anonymous and file-backed parts), not
// counting the pods' own processes. As above, the executor is the small
// test binary by default. KUBEMESOS_BINARY=bin/kubemesos-executor measures
// the slim executor that agents run (`make build` embeds it in kubemesos);
// KUBEMESOS_BINARY=bin/kubemesos the whole binary, whose embedded Kubernetes
// packages initialise their globals (12 MiB more anonymous memory) and touch
// more of its file-backed pages (docs/benchmarks.md compares them).
// Run with -benchtime 1x.
func BenchmarkExecutorRSS100Pods(b *testing.B) {
	const pods, perOffer = 100, 10
	for range b.N {
		f := startFramework(b, benchAgentResources)
		var ids []string
		for batch := 0; batch < pods/perOffer; batch++ {
			tasks := map[string][]byte{}
			for j := range perOffer {
				id := fmt.Sprintf("pod-%d", batch*perOffer+j)
				tasks[id] = sleepPod(b, id)
				ids = append(ids, id)
			}
			f.launch(tasks)
		}
		var agentID mesos.AgentID
		for _, id := range ids {
			seen := f.until(id, mesos.TASK_RUNNING)
			agentID = *seen[0].AgentID
		}
		pid := executorPID(b)
		b.ReportMetric(procStatusMiB(b, pid, "VmRSS"), "MiB-VmRSS")
		b.ReportMetric(procStatusMiB(b, pid, "RssAnon"), "MiB-RssAnon")
		b.ReportMetric(procStatusMiB(b, pid, "RssFile"), "MiB-RssFile")
		if out := os.Getenv("EXECUTOR_BENCH_SMAPS"); out != "" {
			smaps, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
			_ = os.WriteFile(out, smaps, 0o644)
		}
		f.shutdown(agentID)
	}
}

func sleepPod(tb testing.TB, name string) []byte {
	tb.Helper()
	grace := int64(5)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "bench", Name: name, UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: &grace,
			Containers:                    []corev1.Container{{Name: "main", Image: "busybox", Command: []string{"sleep", "3600"}}},
		},
	}
	data, err := protocol.EncodePodTask(pod, &protocol.PodTask{})
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// executorPID finds the test executor among this process's children (the
// in-process agent starts it).
func executorPID(tb testing.TB) int {
	tb.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		tb.Skipf("no /proc: %v", err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || exe != testExecutor(tb) {
			continue
		}
		if procStatusField(tb, pid, "PPid") == strconv.Itoa(os.Getpid()) {
			return pid
		}
	}
	tb.Fatal("the executor process was not found")
	return 0
}

func procStatusField(tb testing.TB, pid int, field string) string {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(rest)
		}
	}
	tb.Fatalf("/proc/%d/status has no %s", pid, field)
	return ""
}

func procStatusMiB(tb testing.TB, pid int, field string) float64 {
	tb.Helper()
	kb, err := strconv.ParseFloat(strings.TrimSuffix(procStatusField(tb, pid, field), " kB"), 64)
	if err != nil {
		tb.Fatal(err)
	}
	return kb / 1024
}
