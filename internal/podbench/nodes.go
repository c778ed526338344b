package podbench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kubemesos/kubemesos/internal/clock"
)

// Defaults of the fake nodes.
const (
	// NodeLeaseNamespace holds the nodes' heartbeat leases.
	NodeLeaseNamespace = corev1.NamespaceNodeLease
	// DefaultLeaseInterval is how often a lease is renewed (the kubelet's
	// and the framework's).
	DefaultLeaseInterval = 10 * time.Second
	leaseDurationSeconds = 40
)

// Node returns a Ready node with the allocatable of a default mesos-sim
// agent as the kubemesos framework reports it (cpus 4, mem 8192 MiB, disk
// 20480 MiB, 110 pods).
func Node(name string) *corev1.Node {
	resources := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("4"),
		corev1.ResourceMemory:           resource.MustParse("8Gi"),
		corev1.ResourceEphemeralStorage: resource.MustParse("20Gi"),
		corev1.ResourcePods:             resource.MustParse("110"),
	}
	conditions := []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "FakeKubeletReady"}}
	for _, t := range []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure, corev1.NodeNetworkUnavailable} {
		conditions = append(conditions, corev1.NodeCondition{Type: t, Status: corev1.ConditionFalse, Reason: "FakeKubeletNo" + string(t)})
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			corev1.LabelHostname: name, corev1.LabelOSStable: "linux", corev1.LabelArchStable: runtime.GOARCH,
		}},
		Status: corev1.NodeStatus{
			Capacity: resources, Allocatable: resources, Phase: corev1.NodeRunning, Conditions: conditions,
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: hostIP(name)}, {Type: corev1.NodeHostName, Address: name}},
			NodeInfo:  corev1.NodeSystemInfo{KubeletVersion: "fake", OperatingSystem: "linux", Architecture: runtime.GOARCH},
		},
	}
}

// FakeNodes are nodes without kubelets, kept alive as a kubelet would:
// each has a lease in kube-node-lease renewed every Interval, so the node
// lifecycle controller leaves them Ready.
type FakeNodes struct {
	Client kubernetes.Interface
	Names  []string
	// Clients is how many requests are in flight (default DefaultClients).
	Clients int
	// Interval is how often each lease is renewed (default
	// DefaultLeaseInterval).
	Interval time.Duration
	Clock    clock.Clock
	Logger   *slog.Logger

	mu     sync.Mutex
	leases map[string]*coordinationv1.Lease
}

func (f *FakeNodes) defaults() error {
	if f.Client == nil {
		return errors.New("fake nodes: no client")
	}
	if f.Clients <= 0 {
		f.Clients = DefaultClients
	}
	if f.Interval <= 0 {
		f.Interval = DefaultLeaseInterval
	}
	if f.Clock == nil {
		f.Clock = clock.Real{}
	}
	if f.Logger == nil {
		f.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Create creates every node (a Node and its status, then its lease).
func (f *FakeNodes) Create(ctx context.Context) error {
	if err := f.defaults(); err != nil {
		return err
	}
	f.mu.Lock()
	f.leases = make(map[string]*coordinationv1.Lease, len(f.Names))
	f.mu.Unlock()
	return f.each(ctx, func(ctx context.Context, name string) error {
		node := Node(name)
		now := metav1.NewTime(f.Clock.Now())
		for i := range node.Status.Conditions {
			node.Status.Conditions[i].LastHeartbeatTime = now
			node.Status.Conditions[i].LastTransitionTime = now
		}
		status, err := json.Marshal(map[string]any{"status": node.Status})
		if err != nil {
			return err
		}
		created, err := f.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create node %s: %w", name, err)
		}
		// Create ignores the status; a patch does not conflict with the
		// node lifecycle controller's own writes.
		if _, err := f.Client.CoreV1().Nodes().Patch(ctx, name, types.StrategicMergePatchType, status, metav1.PatchOptions{}, "status"); err != nil {
			return fmt.Errorf("node %s status: %w", name, err)
		}
		lease, err := f.Client.CoordinationV1().Leases(NodeLeaseNamespace).Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: NodeLeaseNamespace, OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Node", Name: name, UID: created.UID,
			}}},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity: new(name), LeaseDurationSeconds: new(int32(leaseDurationSeconds)),
				RenewTime: &metav1.MicroTime{Time: f.Clock.Now()},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("lease of node %s: %w", name, err)
		}
		f.mu.Lock()
		f.leases[name] = lease
		f.mu.Unlock()
		return nil
	})
}

// Run renews the leases every Interval until ctx ends; a failed renewal is
// logged and tried again at the next round. Rounds start Interval apart,
// as each kubelet renews its lease every renewInterval (and kubemesos its
// nodes'): a round that takes a while does not stretch every lease's period
// by its length. A round longer than Interval is followed by the next at
// once, without catching up on the rounds it overran.
func (f *FakeNodes) Run(ctx context.Context) error {
	if err := f.defaults(); err != nil {
		return err
	}
	next := f.Clock.Now().Add(f.Interval)
	for {
		if err := sleepUntil(ctx, f.Clock, next); err != nil {
			return nil
		}
		next = next.Add(f.Interval)
		_ = f.each(ctx, func(ctx context.Context, name string) error {
			if err := f.renew(ctx, name); err != nil && ctx.Err() == nil {
				f.Logger.Warn("cannot renew node lease", "node", name, "error", err)
			}
			return nil
		})
		if now := f.Clock.Now(); next.Before(now) {
			next = now
		}
	}
}

// Renew renews every lease once.
func (f *FakeNodes) Renew(ctx context.Context) error {
	if err := f.defaults(); err != nil {
		return err
	}
	return f.each(ctx, f.renew)
}

func (f *FakeNodes) renew(ctx context.Context, name string) error {
	leases := f.Client.CoordinationV1().Leases(NodeLeaseNamespace)
	f.mu.Lock()
	lease := f.leases[name]
	f.mu.Unlock()
	if lease == nil {
		got, err := leases.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		lease = got
	}
	lease = lease.DeepCopy()
	lease.Spec.RenewTime = &metav1.MicroTime{Time: f.Clock.Now()}
	updated, err := leases.Update(ctx, lease, metav1.UpdateOptions{})
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		delete(f.leases, name) // read it again next time
		return err
	}
	if f.leases == nil {
		f.leases = map[string]*coordinationv1.Lease{}
	}
	f.leases[name] = updated
	return nil
}

// each runs do for every name with f.Clients in flight, and returns the
// first error.
func (f *FakeNodes) each(ctx context.Context, do func(context.Context, string) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(f.Clients)
	for _, name := range f.Names {
		g.Go(func() error { return do(ctx, name) })
	}
	return g.Wait()
}
