package framework

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubemesos/kubemesos/framework/node"
	"github.com/kubemesos/kubemesos/framework/offer"
	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

// leaseNamespace holds node leases.
const leaseNamespace = corev1.NamespaceNodeLease

// leaseDuration is what a node lease claims.
const leaseDuration = int32(40)

// nodeSync writes the Nodes and Leases of the agents the pool knows.
type nodeSync struct {
	f      *Framework
	writer *node.Writer

	mu      sync.Mutex
	agents  map[string]offer.Agent // by node name: last view
	objects map[string]*corev1.Node
	leases  map[string]*coordinationv1.Lease // as last written
	pending map[string]bool                  // nodes whose agent changed since their last write
	byName  map[string]string                // node name → agent ID (also existing nodes)
	// renewed is when each node's lease was last renewed.
	renewed map[string]time.Time
}

func newNodeSync(f *Framework) *nodeSync {
	return &nodeSync{
		f:       f,
		writer:  node.NewWriter(f.cfg.NodeStatusInterval, nodeStatusRefresh),
		agents:  map[string]offer.Agent{},
		objects: map[string]*corev1.Node{},
		leases:  map[string]*coordinationv1.Lease{},
		pending: map[string]bool{},
		byName:  map[string]string{},
		renewed: map[string]time.Time{},
	}
}

// loadExisting learns the names of our existing nodes, so that agents keep
// their node names across restarts.
func (s *nodeSync) loadExisting(ctx context.Context) error {
	list, err := s.f.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: node.LabelManaged + "=true"})
	if err != nil {
		return fmt.Errorf("framework: list nodes: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range list.Items {
		n := &list.Items[i]
		if id := n.Labels[node.LabelAgentID]; id != "" {
			s.f.namer.Known(id, n.Name)
			s.byName[n.Name] = id
			s.objects[n.Name] = n
		}
	}
	return nil
}

func (s *nodeSync) agentOf(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byName[name]
	return id, ok
}

// nodeOf is the node name of an agent, from its last view or the existing
// Node objects.
func (s *nodeSync) nodeOf(agentID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, id := range s.byName {
		if id == agentID {
			return name, true
		}
	}
	return "", false
}

// remove deletes the node of a removed agent.
func (s *nodeSync) remove(ctx context.Context, name string) {
	s.mu.Lock()
	delete(s.agents, name)
	delete(s.objects, name)
	delete(s.leases, name)
	delete(s.pending, name)
	delete(s.byName, name)
	delete(s.renewed, name)
	s.writer.Forget(name)
	s.mu.Unlock()
	err := s.f.kube.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		s.f.log.Warn("could not delete the node of a removed agent", "node", name, "err", err)
	}
}

// nodeStatusRefresh is how often an unchanged node's status is written
// anyway: the kubelet's nodeStatusReportFrequency. The node's Lease, renewed
// every LeaseInterval, is what tells the node lifecycle controller that the
// node lives; a refresh every minute cost 1,000 agents 17 node writes a
// second for nothing.
const nodeStatusRefresh = 5 * time.Minute

// nodeWriters and leaseWriters bound the node and the lease writes in
// flight at once. Leases need more: 5,000 nodes need 500 renewals a
// second, and where a kubelet per node would have one in flight each, 16
// at 0.4 s each on a loaded API server (5,000 nodes on 2 CPUs) renewed
// every lease only every 2 minutes, and the node lifecycle controller
// took nodes for lost by the thousand.
const (
	nodeWriters  = 16
	leaseWriters = 64
)

// syncPeriod is how often run looks for node writes and lease renewals that
// are due.
const syncPeriod = 250 * time.Millisecond

// run writes nodes and renews leases until ctx ends, each in a loop of its
// own: a lease renewed late makes the node lifecycle controller take the
// node for lost (NotReady after 50 s, its pods marked not ready), so no node
// write, however slow or failed, may hold a renewal up.
func (s *nodeSync) run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.loop(ctx, s.syncNodes)
	}()
	go func() {
		defer wg.Done()
		s.loop(ctx, s.renewLeases)
	}()
	wg.Wait()
}

func (s *nodeSync) loop(ctx context.Context, round func(context.Context, time.Time)) {
	tick := s.f.clock.NewTicker(syncPeriod)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C():
		}
		round(ctx, s.f.clock.Now())
	}
}

// syncNodes writes the nodes that are due, nodeWriters at a time (one after
// another, 1,000 agents took minutes to become nodes).
func (s *nodeSync) syncNodes(ctx context.Context, now time.Time) {
	for _, a := range s.f.pool.Changed() {
		s.mu.Lock()
		s.agents[a.Node] = a
		s.byName[a.Node] = a.ID
		s.pending[a.Node] = true
		s.mu.Unlock()
	}
	s.mu.Lock()
	// Only nodes whose agent changed, or whose refresh is due, are looked
	// at: building thousands of unchanged nodes four times a second would
	// cost more than writing the few that changed.
	names := make([]string, 0, len(s.pending))
	for n := range s.agents {
		at, written := s.writer.WrittenAt(n)
		if s.pending[n] || !written || now.Sub(at) >= s.writer.Refresh {
			names = append(names, n)
		}
	}
	s.mu.Unlock()
	var g errgroup.Group
	g.SetLimit(nodeWriters)
	for _, name := range names {
		g.Go(func() error {
			s.syncNode(ctx, name, now)
			return nil
		})
	}
	_ = g.Wait()
}

// renewLeases renews, leaseWriters at a time, the lease of every node
// written once whose last renewal is LeaseInterval old: each lease on its
// own schedule, so that the renewals of 1,000 nodes spread over the
// interval instead of coming all at once. A failed renewal is tried again
// the next round.
//
// An API server too slow for every lease to be renewed each interval
// (5,000 nodes on 2 CPUs under load) makes a round last long. So the
// leases go longest unrenewed first, each waiting about as long as the
// others instead of some waiting until they expire, and each carries the
// time it is written, not the time its round began: stamped with the
// round's start, a lease written 30 s into its round reached the API
// server 30 s old, and the node lifecycle controller took its node for
// lost 20 s later.
func (s *nodeSync) renewLeases(ctx context.Context, now time.Time) {
	due := s.dueLeases(now)
	var g errgroup.Group
	g.SetLimit(leaseWriters)
	for _, name := range due {
		g.Go(func() error {
			at := s.f.clock.Now()
			if err := s.renewLease(ctx, name, at); err != nil {
				s.f.log.Debug("lease renewal failed", "node", name, "err", err)
				return nil
			}
			s.mu.Lock()
			if _, ok := s.agents[name]; ok {
				s.renewed[name] = at
			}
			s.mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
}

// dueLeases are the nodes whose lease is due at now, longest unrenewed
// first.
func (s *nodeSync) dueLeases(now time.Time) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []string
	for n := range s.agents {
		if _, written := s.writer.WrittenAt(n); written && now.Sub(s.renewed[n]) >= s.f.cfg.LeaseInterval {
			due = append(due, n)
		}
	}
	slices.SortFunc(due, func(a, b string) int {
		if c := s.renewed[a].Compare(s.renewed[b]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return due
}

// offeredToPods is what an agent offers that pods can have: until our
// executor runs there, the first pod's launch also pays for the executor.
// Counting it out before keeps the node's allocatable the same when the
// executor starts (a node write less per agent).
func offeredToPods(a offer.Agent) mesosoffers.Resources {
	if a.Executor {
		return a.Offered
	}
	return offer.Sub(a.Offered, offer.ExecutorResources)
}

// syncNode writes one node if it is due.
func (s *nodeSync) syncNode(ctx context.Context, name string, now time.Time) {
	s.mu.Lock()
	a, ok := s.agents[name]
	s.mu.Unlock()
	if !ok {
		return // removed meanwhile
	}
	desired := node.Build(node.Agent{
		ID: a.ID, Name: a.Node, Hostname: a.Hostname, Attributes: a.Attributes, Domain: a.Domain,
		Offered: offeredToPods(a), Used: a.Used, Total: a.Total, Ready: !a.Unreachable,
	}, node.Config{KubeletHost: s.f.cfg.KubeletHost, KubeletPort: s.f.cfg.KubeletPort, Taint: s.f.taint, Version: s.f.cfg.Version}, metav1.NewTime(now))
	s.mu.Lock()
	due := s.writer.Due(desired, now)
	if !due && !s.writer.Held(desired, now) {
		delete(s.pending, name) // nothing material to write
	}
	s.mu.Unlock()
	if !due {
		return
	}
	if err := s.write(ctx, desired); err != nil {
		s.f.log.Warn("node write failed", "node", name, "err", err)
		return
	}
	s.mu.Lock()
	s.writer.Wrote(desired, now)
	delete(s.pending, name)
	s.mu.Unlock()
}

// write creates or updates a node object and its status.
func (s *nodeSync) write(ctx context.Context, desired *corev1.Node) error {
	nodes := s.f.kube.CoreV1().Nodes()
	s.mu.Lock()
	cur := s.objects[desired.Name]
	s.mu.Unlock()
	if cur == nil {
		created, err := nodes.Create(ctx, desired, metav1.CreateOptions{})
		switch {
		case err == nil:
			cur = created
		case apierrors.IsAlreadyExists(err):
			if cur, err = nodes.Get(ctx, desired.Name, metav1.GetOptions{}); err != nil {
				return err
			}
		default:
			return err
		}
	}
	next := cur.DeepCopy()
	if next.Labels == nil {
		next.Labels = map[string]string{}
	}
	metaChanged := false
	for k, v := range desired.Labels {
		if next.Labels[k] != v {
			next.Labels[k] = v
			metaChanged = true
		}
	}
	unreachable := []corev1.Taint{node.UnreachableTaint}
	stale := sameTaints(unreachable, next.Spec.Taints) && !sameTaints(unreachable, desired.Spec.Taints)
	if desired.Spec.ProviderID != next.Spec.ProviderID || !sameTaints(desired.Spec.Taints, next.Spec.Taints) || stale {
		next.Spec.ProviderID = desired.Spec.ProviderID
		next.Spec.Taints = mergeTaints(next.Spec.Taints, desired.Spec.Taints, metav1.Now())
		if stale {
			next.Spec.Taints = withoutTaint(next.Spec.Taints, node.UnreachableTaint)
		}
		metaChanged = true
	}
	if metaChanged {
		updated, err := nodes.Update(ctx, next, metav1.UpdateOptions{})
		if err != nil {
			s.forget(desired.Name)
			return err
		}
		next = updated.DeepCopy()
	}
	// The status goes as a strategic merge patch, as a kubelet sends it:
	// it needs no resourceVersion, so the node lifecycle controller's
	// writes to the same node do not make it fail and retry.
	patch, err := nodeStatusPatch(&next.Status, &desired.Status)
	if err != nil {
		return fmt.Errorf("status of node %s: %w", desired.Name, err)
	}
	updated, err := nodes.Patch(ctx, desired.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil {
		s.forget(desired.Name)
		return err
	}
	s.mu.Lock()
	s.objects[desired.Name] = updated
	s.mu.Unlock()
	return nil
}

// forget drops the cached object so that the next write reads it afresh.
func (s *nodeSync) forget(name string) {
	s.mu.Lock()
	delete(s.objects, name)
	s.mu.Unlock()
}

func sameTaints(want, have []corev1.Taint) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h.Key == w.Key && h.Value == w.Value && h.Effect == w.Effect {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// mergeTaints adds ours to the node's taints (others, e.g. the node
// lifecycle controller's, stay); a NoExecute taint added gets TimeAdded.
func mergeTaints(have, want []corev1.Taint, now metav1.Time) []corev1.Taint {
	out := append([]corev1.Taint(nil), have...)
	for _, w := range want {
		if !sameTaints([]corev1.Taint{w}, out) {
			if w.Effect == corev1.TaintEffectNoExecute && w.TimeAdded == nil {
				w.TimeAdded = &now
			}
			out = append(out, w)
		}
	}
	return out
}

// withoutTaint is taints less any with drop's key and effect (our
// unreachable taint, once the agent is reachable again).
func withoutTaint(taints []corev1.Taint, drop corev1.Taint) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range taints {
		if t.Key != drop.Key || t.Effect != drop.Effect {
			out = append(out, t)
		}
	}
	return out
}

func (s *nodeSync) renewLease(ctx context.Context, name string, now time.Time) error {
	leases := s.f.kube.CoordinationV1().Leases(leaseNamespace)
	renew := metav1.NewMicroTime(now)
	holder := name
	dur := leaseDuration
	// As a kubelet does, the lease last written is updated without reading
	// it first; only a conflict or a lease not known yet costs a read.
	s.mu.Lock()
	l := s.leases[name]
	s.mu.Unlock()
	if l == nil {
		got, err := leases.Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return s.createLease(ctx, name, &coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &dur, RenewTime: &renew})
		case err != nil:
			return err
		}
		l = got
	}
	l = l.DeepCopy()
	l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.RenewTime = &holder, &dur, &renew
	updated, err := leases.Update(ctx, l, metav1.UpdateOptions{})
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		delete(s.leases, name) // read afresh next time
		return err
	}
	s.leases[name] = updated
	return nil
}

func (s *nodeSync) createLease(ctx context.Context, name string, spec *coordinationv1.LeaseSpec) error {
	s.mu.Lock()
	obj := s.objects[name]
	s.mu.Unlock()
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: leaseNamespace}, Spec: *spec}
	if obj != nil {
		lease.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: name, UID: obj.UID}}
	}
	created, err := s.f.kube.CoordinationV1().Leases(leaseNamespace).Create(ctx, lease, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.leases[name] = created
	s.mu.Unlock()
	return nil
}

// nodeStatusPatch is the strategic merge patch from old to next.
func nodeStatusPatch(old, next *corev1.NodeStatus) ([]byte, error) {
	return twoWayPatch(corev1.Node{Status: *old}, corev1.Node{Status: *next})
}
