package mesosoffers

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
)

// Name is the plugin's name in scheduler configurations.
const Name = "MesosOffers"

// stateKey is where PreFilter leaves the pod's claim in the CycleState.
const stateKey fwk.StateKey = Name

// Plugin is the MesosOffers plugin.
type Plugin struct {
	offers Offers
	args   Args
	handle fwk.Handle
	// notifier is offers as a Notifier (nil if it is not one).
	notifier Notifier
}

var (
	_ fwk.PreFilterPlugin  = &Plugin{}
	_ fwk.FilterPlugin     = &Plugin{}
	_ fwk.PostFilterPlugin = &Plugin{}
	_ fwk.ScorePlugin      = &Plugin{}
	_ fwk.ScoreExtensions  = &Plugin{}
	_ fwk.ReservePlugin    = &Plugin{}
	_ fwk.BindPlugin       = &Plugin{}
	_ fwk.SignPlugin       = &Plugin{}
)

// NewFactory returns the plugin's factory, with the signature of
// k8s.io/kubernetes/pkg/scheduler/framework/runtime.PluginFactory, bound
// to the framework's Offers.
func NewFactory(o Offers) func(ctx context.Context, args runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
	return func(ctx context.Context, args runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
		return New(ctx, args, h, o)
	}
}

// New validates args and builds the plugin.
func New(_ context.Context, obj runtime.Object, h fwk.Handle, o Offers) (*Plugin, error) {
	if o == nil {
		return nil, fmt.Errorf("%s: no Offers: the plugin needs the framework", Name)
	}
	args, err := decodeArgs(obj)
	if err != nil {
		return nil, err
	}
	p := &Plugin{offers: o, args: args, handle: h}
	if n, ok := o.(Notifier); ok && h != nil {
		p.notifier = n
		n.NotifyOffers(p.activate)
	}
	return p, nil
}

// failed tells the Notifier, if any, that pod's cycle failed.
func (p *Plugin) failed(pod *v1.Pod) {
	if p.notifier != nil && pod != nil {
		p.notifier.Unschedulable(pod)
	}
}

// activate moves pods back into kube-scheduler's active queue (those in
// its unschedulable or backoff queue; one being scheduled is queued again
// when its cycle ends).
func (p *Plugin) activate(pods []*v1.Pod) {
	if len(pods) == 0 {
		return
	}
	m := make(map[string]*v1.Pod, len(pods))
	for _, pod := range pods {
		m[pod.Namespace+"/"+pod.Name] = pod
	}
	p.handle.Activate(klog.Background(), m)
}

// Name implements fwk.Plugin.
func (p *Plugin) Name() string { return Name }

// cycle is the pod's claim, and the nearest fit Filter saw, for PostFilter.
type cycle struct {
	claim Claim

	mu      sync.Mutex
	nearest map[string]nearFit // by short resource
	reasons map[reasonKey]string
	// left is Score's raw score by node, recorded by Filter, which has
	// just asked Available for it (nil once NormalizeScore returned it).
	left map[string]int64
}

type nearFit struct {
	agent  string
	offers float64
	needs  float64
}

// Clone implements fwk.StateData; the claim is read-only and the
// bookkeeping is shared.
func (c *cycle) Clone() fwk.StateData { return c }

func readCycle(state fwk.CycleState) (*cycle, *fwk.Status) {
	d, err := state.Read(stateKey)
	if err != nil {
		return nil, fwk.AsStatus(fmt.Errorf("%s: no claim in the cycle state: %w", Name, err))
	}
	c, ok := d.(*cycle)
	if !ok {
		return nil, fwk.AsStatus(fmt.Errorf("%s: cycle state holds %T", Name, d))
	}
	return c, nil
}

// leftMaps recycles cycle.left from one pod's cycle to the next: at 5,000
// nodes kube-scheduler looks for 500 feasible nodes per pod, and a fresh
// map grown to that size for every pod was a quarter of the plugin's CPU.
// NormalizeScore, the map's last reader in a cycle, hands it back.
var leftMaps = sync.Pool{New: func() any { return map[string]int64{} }}

// PreFilter computes the pod's claim.
func (p *Plugin) PreFilter(_ context.Context, state fwk.CycleState, pod *v1.Pod, _ []fwk.NodeInfo) (*fwk.PreFilterResult, *fwk.Status) {
	state.Write(stateKey, &cycle{
		claim:   PodClaim(pod, p.args.DefaultRole),
		nearest: map[string]nearFit{},
		left:    leftMaps.Get().(map[string]int64),
	})
	return nil, nil
}

// PreFilterExtensions implements fwk.PreFilterPlugin (none).
func (p *Plugin) PreFilterExtensions() fwk.PreFilterExtensions { return nil }

// Filter checks the claim against what the node's agent offers now.
func (p *Plugin) Filter(_ context.Context, state fwk.CycleState, _ *v1.Pod, ni fwk.NodeInfo) *fwk.Status {
	c, st := readCycle(state)
	if st != nil {
		return st
	}
	node := ni.Node()
	if node == nil {
		return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, "node not found")
	}
	av, ok := p.offers.Available(node.Name, c.claim.Role)
	if !ok {
		return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, "not a Mesos agent of this framework")
	}
	need := plus(c.claim.Resources, av.Executor)
	res, needs, offers := shortage(need, av.Resources)
	if res == "" {
		// Score's answer, recorded here rather than asked of Available again.
		left := rawScore(av, need, ni)
		c.mu.Lock()
		if c.left != nil {
			c.left[node.Name] = left
		}
		c.mu.Unlock()
		return nil
	}
	// The summary compares the pod's own needs with what is left for it
	// after the executor's overhead on that agent.
	withExecutor := (res == "cpus" && av.Executor.CPUs > 0) || (res == "mem" && av.Executor.MemMiB > 0)
	switch res {
	case "cpus":
		needs, offers = c.claim.CPUs, offers-av.Executor.CPUs
	case "mem":
		needs, offers = c.claim.MemMiB, offers-av.Executor.MemMiB
	}
	return fwk.NewStatus(fwk.Unschedulable, c.rejected(res, av.Agent, needs, offers, withExecutor))
}

// rejected records a node short of res for the summary and returns its
// reason. One reason per resource and role, not per node: kube-scheduler
// counts nodes by reason ("3 insufficient cpus offered in role web"), and
// PostFilter's summary names the nearest fit with its amounts. The reasons
// are made once per cycle: a pod may be filtered against thousands of
// nodes that offer nothing now.
func (c *cycle) rejected(res, agent string, needs, offers float64, withExecutor bool) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.nearest[res]; !ok || offers > n.offers || (offers == n.offers && agent < n.agent) {
		c.nearest[res] = nearFit{agent: agent, offers: offers, needs: needs}
	}
	key := reasonKey{res, withExecutor}
	if r, ok := c.reasons[key]; ok {
		return r
	}
	var r string
	switch {
	case strings.HasPrefix(res, "port "):
		r = "host " + res + " not offered in role " + c.claim.Role
	case withExecutor:
		r = "insufficient " + res + " offered in role " + c.claim.Role + " (with the executor's own resources)"
	default:
		r = "insufficient " + res + " offered in role " + c.claim.Role
	}
	if c.reasons == nil {
		c.reasons = map[reasonKey]string{}
	}
	c.reasons[key] = r
	return r
}

type reasonKey struct {
	res          string
	withExecutor bool
}

// PostFilter explains, when no node fits, what is short and where the
// nearest fit is; it never makes the pod schedulable.
func (p *Plugin) PostFilter(_ context.Context, state fwk.CycleState, pod *v1.Pod, _ fwk.NodeToStatusReader) (*fwk.PostFilterResult, *fwk.Status) {
	p.failed(pod)
	c, st := readCycle(state)
	if st != nil {
		return nil, fwk.NewStatus(fwk.Unschedulable)
	}
	return nil, fwk.NewStatus(fwk.Unschedulable, c.summary())
}

// summary is e.g. "no offer has 4 cpus in role web: largest is 2.5 on agent
// a-2".
func (c *cycle) summary() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, res := range []string{"cpus", "mem", "disk"} {
		if n, ok := c.nearest[res]; ok {
			return fmt.Sprintf("no offer has %s %s in role %s: largest is %s on agent %s",
				formatAmount(res, n.needs), res, c.claim.Role, formatAmount(res, n.offers), n.agent)
		}
	}
	for res, n := range c.nearest {
		return fmt.Sprintf("no offer has host %s in role %s (agent %s is one that lacks it)", res, c.claim.Role, n.agent)
	}
	return fmt.Sprintf("no Mesos agent of this framework offers what the pod needs in role %s", c.claim.Role)
}

// rawScoreScale is Score's unit: a millionth of a node.
const rawScoreScale = 1_000_000

// Score is what the node would have left after placement, as a share of its
// allocatable (cpus and memory averaged), in millionths. It depends on the
// pod's claim and the node alone, not on the other nodes of the cycle, so
// it compares across cycles: kube-scheduler's opportunistic batching keeps
// the raw scores of one cycle, re-scores only the node it chose, and
// normalizes them together for the next pod with the same signature.
func (p *Plugin) Score(_ context.Context, state fwk.CycleState, _ *v1.Pod, ni fwk.NodeInfo) (int64, *fwk.Status) {
	c, st := readCycle(state)
	if st != nil {
		return 0, st
	}
	node := ni.Node()
	if node == nil {
		return 0, fwk.NewStatus(fwk.Error, "node not found")
	}
	c.mu.Lock()
	left, ok := c.left[node.Name]
	c.mu.Unlock()
	if ok {
		return left, nil
	}
	// Not filtered in this cycle: an agent gone since scores as full;
	// Reserve then refuses the claim.
	av, _ := p.offers.Available(node.Name, c.claim.Role)
	return rawScore(av, plus(c.claim.Resources, av.Executor), ni), nil
}

// rawScore is what av would have left after need, as Score rates it.
func rawScore(av Available, need Resources, ni fwk.NodeInfo) int64 {
	alloc := ni.GetAllocatable()
	left := (share(av.CPUs-need.CPUs, float64(alloc.GetMilliCPU())/1000) +
		share(av.MemMiB-need.MemMiB, float64(alloc.GetMemory())/(1<<20))) / 2
	return int64(math.Round(left * rawScoreScale))
}

// share is part of whole, within [0, 1]; 0 when whole is unknown.
func share(part, whole float64) float64 {
	if whole <= 0 {
		return 0
	}
	return math.Min(math.Max(part/whole, 0), 1)
}

// ScoreExtensions implements fwk.ScorePlugin.
func (p *Plugin) ScoreExtensions() fwk.ScoreExtensions { return p }

// NormalizeScore scales the raw scores between the nodes' least and most
// left: BinPacking gives MaxNodeScore to the fullest, Spread to the
// emptiest, and all nodes get half of it when they are alike.
func (p *Plugin) NormalizeScore(_ context.Context, state fwk.CycleState, _ *v1.Pod, scores fwk.NodeScoreList) *fwk.Status {
	if c, st := readCycle(state); st == nil {
		c.mu.Lock()
		if c.left != nil {
			clear(c.left)
			leftMaps.Put(c.left)
			c.left = nil
		}
		c.mu.Unlock()
	}
	if len(scores) == 0 {
		return nil
	}
	lo, hi := scores[0].Score, scores[0].Score
	for _, s := range scores[1:] {
		lo, hi = min(lo, s.Score), max(hi, s.Score)
	}
	for i := range scores {
		emptiness := 0.5
		if hi > lo {
			emptiness = float64(scores[i].Score-lo) / float64(hi-lo)
		}
		if p.args.ScoringStrategy == BinPacking {
			emptiness = 1 - emptiness
		}
		scores[i].Score = int64(math.Round(emptiness * float64(fwk.MaxScore)))
	}
	return nil
}

// ClaimSignerName is the key of the plugin's SignFragment: the claim is
// all of a pod that Filter and Score look at.
const ClaimSignerName = "kubemesos.io/MesosOffers.PodClaim()"

// SignPod implements fwk.SignPlugin: pods with the same claim filter and
// score alike on the same offers, so kube-scheduler may place the next one
// from the previous one's results (opportunistic batching). A profile with
// a Filter or Score plugin that does not sign has batching turned off for
// all its pods; with this one signing, the default plugins decide (in
// kube-scheduler 1.37 PodTopologySpread refuses to sign any pod while it
// has default constraints, as in the default profile).
func (p *Plugin) SignPod(_ context.Context, pod *v1.Pod) ([]fwk.SignFragment, *fwk.Status) {
	c := PodClaim(pod, p.args.DefaultRole)
	c.Pod = "" // the claim without the pod's UID, host ports in order
	slices.SortFunc(c.Ports, func(a, b PortRange) int { return cmp.Compare(a.Begin, b.Begin) })
	return []fwk.SignFragment{{Key: ClaimSignerName, Value: c}}, nil
}

// Reserve claims the pod's resources on the node's offers.
func (p *Plugin) Reserve(_ context.Context, state fwk.CycleState, pod *v1.Pod, nodeName string) *fwk.Status {
	c, st := readCycle(state)
	if st != nil {
		return st
	}
	if err := p.offers.Reserve(nodeName, c.claim); err != nil {
		p.failed(pod)
		return fwk.NewStatus(fwk.Unschedulable, err.Error())
	}
	return nil
}

// Unreserve releases the pod's claim.
func (p *Plugin) Unreserve(_ context.Context, _ fwk.CycleState, pod *v1.Pod, nodeName string) {
	p.offers.Unreserve(nodeName, pod.UID)
}

// Bind launches the pod's task and then binds the pod to the node. If the
// launch fails the pod goes back to the scheduling queue.
func (p *Plugin) Bind(ctx context.Context, _ fwk.CycleState, pod *v1.Pod, nodeName string) *fwk.Status {
	if err := p.offers.Launch(ctx, pod, nodeName); err != nil {
		p.failed(pod)
		return fwk.AsStatus(fmt.Errorf("launch on %s: %w", nodeName, err))
	}
	if p.handle == nil || p.handle.ClientSet() == nil {
		return fwk.AsStatus(fmt.Errorf("%s: no client to bind pod %s/%s", Name, pod.Namespace, pod.Name))
	}
	binding := &v1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     v1.ObjectReference{Kind: "Node", Name: nodeName},
	}
	if err := p.handle.ClientSet().CoreV1().Pods(pod.Namespace).Bind(ctx, binding, metav1.CreateOptions{}); err != nil {
		p.failed(pod)
		return fwk.AsStatus(fmt.Errorf("bind %s/%s to %s: %w", pod.Namespace, pod.Name, nodeName, err))
	}
	return nil
}
