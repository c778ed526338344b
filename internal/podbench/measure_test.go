package podbench

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
)

// roundRobinScheduler binds each pending pod of the test to the next node
// by setting spec.nodeName, as a scheduler's binding does.
func roundRobinScheduler(ctx context.Context, t *testing.T, client kubernetes.Interface, nodes []string) {
	var n atomic.Int64
	go func() {
		_ = watchPods(ctx, client, "", metav1.ListOptions{}, nil, func(et watch.EventType, pod *corev1.Pod) {
			if et != watch.Added || pod.Spec.NodeName != "" {
				return
			}
			pod = pod.DeepCopy()
			pod.Spec.NodeName = nodes[int(n.Add(1))%len(nodes)]
			// Not in the handler: the fake's watch would block on its own
			// event.
			go func() {
				if _, err := client.CoreV1().Pods(pod.Namespace).Update(ctx, pod, metav1.UpdateOptions{}); err != nil && ctx.Err() == nil {
					t.Errorf("bind %s: %v", pod.Name, err)
				}
			}()
		})
	}()
}

// A run against a fake apiserver: fake nodes with leases, a scheduler
// that binds, the fake kubelet marking bound pods Running with one status
// write each; Measure sees every pod Running and reports its figures.
func TestMeasureWithFakeKubelet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := fake.NewClientset()
	names := []string{"node-0", "node-1", "node-2"}
	nodes := &FakeNodes{Client: client, Names: names}
	if err := nodes.Create(ctx); err != nil {
		t.Fatal(err)
	}
	if err := WaitNodesSchedulable(ctx, client, len(names), nil); err != nil {
		t.Fatal(err)
	}
	if err := nodes.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	lease, err := client.CoordinationV1().Leases(NodeLeaseNamespace).Get(ctx, "node-1", metav1.GetOptions{})
	if err != nil || *lease.Spec.HolderIdentity != "node-1" || lease.Spec.RenewTime == nil {
		t.Fatalf("lease of node-1: %+v, %v", lease, err)
	}

	kubelet := &FakeKubelet{Client: client, Workers: 4}
	kubeletDone := make(chan error, 1)
	go func() { kubeletDone <- kubelet.Run(ctx) }()
	roundRobinScheduler(ctx, t, client, names)

	const pods = 30
	var counters atomic.Int64
	m, err := Measure(ctx, Run{
		Client: client, Name: "bench-test", Pods: pods, SchedulerName: "test", Clients: 8,
		Counters: func(context.Context) (Counters, error) {
			c := float64(counters.Add(1))
			return Counters{APIWrites: 100 * c, MesosCalls: 10 * c, OffersDeclined: c}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Pods != pods || m.Running != pods || len(m.Latencies) != pods {
		t.Fatalf("pods %d, running %d, latencies %d; want %d each", m.Pods, m.Running, len(m.Latencies), pods)
	}
	if m.Throughput() <= 0 || m.Latency.P99 < m.Latency.P50 || m.Latency.Max < m.Latency.P99 {
		t.Errorf("throughput %v, latency %+v", m.Throughput(), m.Latency)
	}
	if m.Cost.APIWrites != 100 || m.Cost.MesosCalls != 10 || m.Cost.OffersDeclined != 1 {
		t.Errorf("cost %+v, want the counters' growth {100 10 1}", m.Cost)
	}
	r := NewResult(ModeBaseline, len(names), 0, m)
	if r.APIWritesPerPod != 100.0/pods || r.PodsPerSecond <= 0 || r.RSSMiB <= 0 {
		t.Errorf("result %+v", r)
	}
	if got := kubelet.Writes(); got != pods {
		t.Errorf("fake kubelet wrote %d statuses, want one per pod (%d)", got, pods)
	}
	pod, err := client.CoreV1().Pods("default").Get(ctx, "bench-test-7", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := pod.Status
	if st.Phase != corev1.PodRunning || st.HostIP == "" || st.PodIP == "" || st.StartTime == nil ||
		len(st.ContainerStatuses) != 1 || st.ContainerStatuses[0].State.Running == nil || !st.ContainerStatuses[0].Ready {
		t.Errorf("status of a running pod: %+v", st)
	}
	ready := false
	for _, c := range st.Conditions {
		ready = ready || (c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue)
	}
	if !ready {
		t.Errorf("pod not Ready: %+v", st.Conditions)
	}
	cancel()
	if err := <-kubeletDone; err != nil {
		t.Errorf("fake kubelet: %v", err)
	}
}

func TestCreatePaced(t *testing.T) {
	client := fake.NewClientset()
	var pods []*corev1.Pod
	for i := range 5 {
		pods = append(pods, Pod("default", "p"+strconv.Itoa(i), "s", "r"))
	}
	var sent []time.Time
	// One client, so the Sent calls come in pacing order.
	err := Create(context.Background(), Creation{Client: client, Pods: pods, Clients: 1, Rate: 200,
		Sent: func(_ string, at time.Time) { sent = append(sent, at) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 5 {
		t.Fatalf("%d pods sent, want 5", len(sent))
	}
	// Paced at 200/s, the fifth is sent no earlier than 20 ms after the first.
	if d := sent[4].Sub(sent[0]); d < 20*time.Millisecond-time.Millisecond {
		t.Errorf("five pods at 200/s took %v, want ≥ 20ms", d)
	}
	list, err := client.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{})
	if err != nil || len(list.Items) != 5 {
		t.Fatalf("%d pods created (%v), want 5", len(list.Items), err)
	}
	if err := Create(context.Background(), Creation{Client: client, Pods: pods[:1]}); err == nil {
		t.Error("creating an existing pod again: no error")
	}
}

func TestMeasureRejectsEmptyRun(t *testing.T) {
	if _, err := Measure(context.Background(), Run{Client: fake.NewClientset(), Name: "x"}); err == nil {
		t.Error("a run of no pods: no error")
	}
}

func TestHostAndPodIPs(t *testing.T) {
	seen := map[string]bool{}
	for i := range uint32(1000) {
		ip := podIP(i)
		if seen[ip] {
			t.Fatalf("pod IP %s given twice", ip)
		}
		seen[ip] = true
	}
	if a, b := hostIP("node-1"), hostIP("node-1"); a != b || a == hostIP("node-2") {
		t.Errorf("host IPs: %s, %s, %s", a, b, hostIP("node-2"))
	}
}
