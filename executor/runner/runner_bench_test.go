package runner

import (
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
