package runner

import (
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubemesos/kubemesos/executor/protocol"
)

// BenchmarkStartToRunning measures a single-container pod from Start to
// the status that shows its container running (the executor's part of
// LAUNCH to TASK_RUNNING), then kills it.
func BenchmarkStartToRunning(b *testing.B) {
	dir := b.TempDir()
	for i := 0; b.Loop(); i++ {
		running := make(chan struct{})
		var once bool
		pod := podOf(corev1.RestartPolicyAlways, shell("main", "exec sleep 60"))
		p, err := Start(Config{
			Pod: pod, Task: &protocol.PodTask{}, Dir: dir + "/" + time.Now().Format("150405.000000000"),
			Env: func(*corev1.Pod, *corev1.Container, *protocol.PodTask) ([]string, error) { return nil, nil },
			OnStatus: func(s *corev1.PodStatus) {
				if !once && len(s.ContainerStatuses) == 1 && s.ContainerStatuses[0].State.Running != nil {
					once = true
					close(running)
				}
			},
		})
		if err != nil {
			b.Fatal(err)
		}
		<-running
		b.StopTimer()
		p.Kill(0)
		<-p.Done()
		b.StartTimer()
	}
}

// BenchmarkHundredPods runs 100 single-container pods with a readiness
// probe at once and reports the executor's heap and goroutines per pod
// while they run (the pods' processes are not counted).
func BenchmarkHundredPods(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		goroutines := runtime.NumGoroutine()
		b.StartTimer()
		var pods []*Pod
		var ready sync.WaitGroup
		for i := range 100 {
			c := shell("main", "exec sleep 60")
			c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}, PeriodSeconds: 10}
			pod := podOf(corev1.RestartPolicyAlways, c)
			ready.Add(1)
			var once sync.Once
			p, err := Start(Config{
				Pod: pod, Dir: filepath.Join(b.TempDir(), strconv.Itoa(i)),
				Env: func(*corev1.Pod, *corev1.Container, *protocol.PodTask) ([]string, error) { return nil, nil },
				OnStatus: func(s *corev1.PodStatus) {
					if len(s.ContainerStatuses) == 1 && s.ContainerStatuses[0].Ready {
						once.Do(ready.Done)
					}
				},
			})
			if err != nil {
				b.Fatal(err)
			}
			pods = append(pods, p)
		}
		ready.Wait()
		b.StopTimer()
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/(1<<20), "heap-MiB/100pods")
		b.ReportMetric(float64(runtime.NumGoroutine()-goroutines)/100, "goroutines/pod")
		for _, p := range pods {
			p.Kill(0)
		}
		for _, p := range pods {
			<-p.Done()
		}
		b.StartTimer()
	}
}
