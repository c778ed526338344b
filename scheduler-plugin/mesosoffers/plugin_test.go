package mesosoffers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
)

// fakeOffers is an Offers with fixed availability per node and role.
type fakeOffers struct {
	avail     map[string]Available // by node + "/" + role
	reserved  map[types.UID]string
	launchErr error
	launched  []string
}

func (f *fakeOffers) Available(node, role string) (Available, bool) {
	a, ok := f.avail[node+"/"+role]
	if !ok {
		for k := range f.avail {
			if strings.HasPrefix(k, node+"/") {
				return Available{Agent: "agent-" + node}, true
			}
		}
	}
	return a, ok
}

func (f *fakeOffers) Reserve(node string, c Claim) error {
	if _, ok := f.avail[node+"/"+c.Role]; !ok {
		return errors.New("claim does not fit")
	}
	f.reserved[c.Pod] = node
	return nil
}

func (f *fakeOffers) Unreserve(_ string, pod types.UID) { delete(f.reserved, pod) }

func (f *fakeOffers) Launch(_ context.Context, pod *v1.Pod, node string) error {
	if f.launchErr != nil {
		return f.launchErr
	}
	f.launched = append(f.launched, pod.Name+"@"+node)
	return nil
}

// cycleState is the part of fwk.CycleState the plugin uses.
type cycleState struct {
	fwk.CycleState
	data map[fwk.StateKey]fwk.StateData
}

func newCycleState() *cycleState { return &cycleState{data: map[fwk.StateKey]fwk.StateData{}} }

func (s *cycleState) Read(k fwk.StateKey) (fwk.StateData, error) {
	if d, ok := s.data[k]; ok {
		return d, nil
	}
	return nil, fwk.ErrNotFound
}
func (s *cycleState) Write(k fwk.StateKey, d fwk.StateData) { s.data[k] = d }
func (s *cycleState) Delete(k fwk.StateKey)                 { delete(s.data, k) }

type nodeInfo struct {
	fwk.NodeInfo
	node        *v1.Node
	allocatable *allocatable
}

func (n nodeInfo) Node() *v1.Node               { return n.node }
func (n nodeInfo) GetAllocatable() fwk.Resource { return n.allocatable }

// allocatable is the part of fwk.Resource the plugin reads.
type allocatable struct {
	fwk.Resource
	milliCPU, memory int64
}

func (a *allocatable) GetMilliCPU() int64 { return a.milliCPU }
func (a *allocatable) GetMemory() int64   { return a.memory }

func nodeNamed(name string) fwk.NodeInfo {
	return nodeInfo{node: &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, allocatable: &allocatable{}}
}

// nodeOfSize is a node whose allocatable is cpus and memMiB.
func nodeOfSize(name string, cpus, memMiB int64) fwk.NodeInfo {
	return nodeInfo{node: &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, allocatable: &allocatable{milliCPU: cpus * 1000, memory: memMiB << 20}}
}

type handle struct {
	fwk.Handle
	cs kubernetes.Interface
}

func (h handle) ClientSet() kubernetes.Interface { return h.cs }

// activatingHandle records the pods the plugin activates.
type activatingHandle struct {
	fwk.Handle
	activated []string
}

func (h *activatingHandle) Activate(_ klog.Logger, pods map[string]*v1.Pod) {
	for k := range pods {
		h.activated = append(h.activated, k)
	}
	sort.Strings(h.activated)
}

// notifyingOffers is an Offers that is also a Notifier.
type notifyingOffers struct {
	fakeOffers
	activate      func([]*v1.Pod)
	unschedulable []string
}

func (o *notifyingOffers) NotifyOffers(f func([]*v1.Pod)) { o.activate = f }

func (o *notifyingOffers) Unschedulable(p *v1.Pod) {
	o.unschedulable = append(o.unschedulable, p.Name)
}

// TestFailedCyclesAreReported: a pod no node passed Filter for, or whose
// Reserve or Bind failed, is reported to the Notifier (its offers' arrival
// activates it); a pod placed is not.
func TestFailedCyclesAreReported(t *testing.T) {
	o := &notifyingOffers{fakeOffers: fakeOffers{avail: map[string]Available{"n1/*": {Resources: Resources{CPUs: 4, MemMiB: 4096}}}, reserved: map[types.UID]string{}}}
	cs := fake.NewClientset()
	cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return a.GetSubresource() == "binding", nil, nil
	})
	pl := newPlugin(t, o, BinPacking, handle{cs: cs})
	cycle := func(p *v1.Pod) *cycleState {
		state := newCycleState()
		pl.PreFilter(context.Background(), state, p, nil)
		return state
	}
	placed, short, raced, unlaunched := pod("placed", "1", "1Gi"), pod("short", "8", "1Gi"), pod("raced", "1", "1Gi"), pod("unlaunched", "1", "1Gi")

	state := cycle(placed)
	if st := pl.Filter(context.Background(), state, placed, nodeOfSize("n1", 4, 4096)); !st.IsSuccess() {
		t.Fatal(st)
	}
	if st := pl.Reserve(context.Background(), state, placed, "n1"); !st.IsSuccess() {
		t.Fatal(st)
	}
	if st := pl.Bind(context.Background(), state, placed, "n1"); !st.IsSuccess() {
		t.Fatal(st)
	}

	state = cycle(short)
	if st := pl.Filter(context.Background(), state, short, nodeOfSize("n1", 4, 4096)); st.IsSuccess() {
		t.Fatal("Filter passed a pod that needs 8 cpus of 4")
	}
	pl.PostFilter(context.Background(), state, short, nil)

	if st := pl.Reserve(context.Background(), cycle(raced), raced, "gone"); st.IsSuccess() {
		t.Fatal("Reserve succeeded on a node without offers")
	}

	o.launchErr = errors.New("master refused the ACCEPT")
	if st := pl.Bind(context.Background(), cycle(unlaunched), unlaunched, "n1"); st.IsSuccess() {
		t.Fatal("Bind succeeded although the launch failed")
	}

	if want := []string{"short", "raced", "unlaunched"}; !slices.Equal(o.unschedulable, want) {
		t.Errorf("reported unschedulable %v, want %v", o.unschedulable, want)
	}
}

// TestOffersActivateWaitingPods: an Offers that notifies arriving offers
// gets the plugin's activation, which hands the pods to kube-scheduler's
// queue.
func TestOffersActivateWaitingPods(t *testing.T) {
	o := &notifyingOffers{}
	h := &activatingHandle{}
	if _, err := NewFactory(o)(context.Background(), &Args{}, h); err != nil {
		t.Fatal(err)
	}
	if o.activate == nil {
		t.Fatal("the plugin did not register with a Notifier")
	}
	o.activate(nil)
	if len(h.activated) != 0 {
		t.Errorf("activated %v for no pods", h.activated)
	}
	o.activate([]*v1.Pod{pod("a", "1", "1Gi"), pod("b", "1", "1Gi")})
	if want := []string{"ns/a", "ns/b"}; !slices.Equal(h.activated, want) {
		t.Errorf("activated %v, want %v", h.activated, want)
	}
}

func pod(name string, cpu, mem string, mutate ...func(*v1.Pod)) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name)},
		Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Resources: v1.ResourceRequirements{Requests: v1.ResourceList{
			v1.ResourceCPU: resource.MustParse(cpu), v1.ResourceMemory: resource.MustParse(mem),
		}}}}},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func TestPodClaim(t *testing.T) {
	for _, tc := range []struct {
		name string
		pod  *v1.Pod
		want Claim
	}{
		{"plain", pod("p", "1500m", "256Mi"), Claim{Pod: "uid-p", Role: "*", Resources: Resources{CPUs: 1.5, MemMiB: 256}}},
		{"no requests get the minimum", pod("p", "0", "0"), Claim{Pod: "uid-p", Role: "*", Resources: Resources{CPUs: MinCPUs, MemMiB: MinMemMiB}}},
		{"init container larger than the app", pod("p", "1", "100Mi", func(p *v1.Pod) {
			p.Spec.InitContainers = []v1.Container{{Name: "i", Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("3")}}}}
		}), Claim{Pod: "uid-p", Role: "*", Resources: Resources{CPUs: 3, MemMiB: 100}}},
		{"overhead, disk, ports and role", pod("p", "1", "100Mi", func(p *v1.Pod) {
			p.Annotations = map[string]string{RoleAnnotation: "web"}
			p.Spec.Overhead = v1.ResourceList{v1.ResourceCPU: resource.MustParse("250m")}
			c := &p.Spec.Containers[0]
			c.Resources.Requests[v1.ResourceEphemeralStorage] = resource.MustParse("1Gi")
			c.Ports = []v1.ContainerPort{{ContainerPort: 80, HostPort: 31080}, {ContainerPort: 81}, {ContainerPort: 80, HostPort: 31080, Protocol: v1.ProtocolUDP}}
		}), Claim{Pod: "uid-p", Role: "web", Resources: Resources{CPUs: 1.25, MemMiB: 100, DiskMiB: 1024, Ports: []PortRange{{Begin: 31080, End: 31080}}}}},
	} {
		got := PodClaim(tc.pod, "*")
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestArgs(t *testing.T) {
	for _, tc := range []struct {
		in      runtime.Object
		want    string
		wantErr bool
	}{
		{nil, BinPacking, false},
		{&runtime.Unknown{Raw: []byte(`{"scoringStrategy":"Spread","defaultRole":"web"}`)}, Spread, false},
		{&Args{ScoringStrategy: Spread}, Spread, false},
		{&runtime.Unknown{Raw: []byte(`{"scoringStrategy":"Random"}`)}, "", true},
		{&runtime.Unknown{Raw: []byte(`{"scoring":"Spread"}`)}, "", true},
		{&v1.Pod{}, "", true},
	} {
		a, err := decodeArgs(tc.in)
		if (err != nil) != tc.wantErr || (!tc.wantErr && a.ScoringStrategy != tc.want) {
			t.Errorf("decodeArgs(%v) = %+v, %v", tc.in, a, err)
		}
	}
	if _, err := NewFactory(&fakeOffers{})(context.Background(), &runtime.Unknown{Raw: []byte(`{"scoringStrategy":"x"}`)}, nil); err == nil {
		t.Error("factory accepted invalid args")
	}
	if _, err := New(context.Background(), nil, nil, nil); err == nil {
		t.Error("New accepted no Offers")
	}
}

func newPlugin(t *testing.T, o Offers, strategy string, h fwk.Handle) *Plugin {
	t.Helper()
	pl, err := NewFactory(o)(context.Background(), &Args{ScoringStrategy: strategy}, h)
	if err != nil {
		t.Fatal(err)
	}
	if pl.Name() != Name {
		t.Fatalf("name %q", pl.Name())
	}
	return pl.(*Plugin)
}

func TestFilterAndPostFilter(t *testing.T) {
	o := &fakeOffers{avail: map[string]Available{
		"n1/web": {Agent: "a-1", Resources: Resources{CPUs: 1, MemMiB: 4096, Ports: []PortRange{{Begin: 31000, End: 31010}}}},
		"n2/web": {Agent: "a-2", Resources: Resources{CPUs: 2.5, MemMiB: 4096}},
		"n3/web": {Agent: "a-3", Resources: Resources{CPUs: 4.05, MemMiB: 4096}, Executor: Resources{CPUs: 0.1, MemMiB: 64}},
		"n4/web": {Agent: "a-4", Resources: Resources{CPUs: 8, MemMiB: 4096, Ports: []PortRange{{Begin: 31000, End: 31010}}}},
		"n5/web": {Agent: "a-5", Resources: Resources{CPUs: 4, MemMiB: 100}},
	}, reserved: map[types.UID]string{}}
	pl := newPlugin(t, o, BinPacking, nil)
	web := func(p *v1.Pod) { p.Annotations = map[string]string{RoleAnnotation: "web"} }
	p := pod("big", "4", "1Gi", web)
	state := newCycleState()
	if _, st := pl.PreFilter(context.Background(), state, p, nil); !st.IsSuccess() {
		t.Fatal(st)
	}
	for node, want := range map[string]struct {
		code fwk.Code
		msg  string
	}{
		"n1":    {fwk.Unschedulable, "insufficient cpus offered in role web"},
		"n2":    {fwk.Unschedulable, "insufficient cpus offered in role web"},
		"n3":    {fwk.Unschedulable, "insufficient cpus offered in role web (with the executor's own resources)"},
		"n4":    {fwk.Success, ""},
		"n5":    {fwk.Unschedulable, "insufficient mem offered in role web"},
		"other": {fwk.UnschedulableAndUnresolvable, "not a Mesos agent of this framework"},
	} {
		st := pl.Filter(context.Background(), state, p, nodeNamed(node))
		if st.Code() != want.code || st.Message() != want.msg {
			t.Errorf("Filter(%s) = %v %q, want %v %q", node, st.Code(), st.Message(), want.code, want.msg)
		}
	}
	_, st := pl.PostFilter(context.Background(), state, p, nil)
	if st.Code() != fwk.Unschedulable || st.Message() != "no offer has 4 cpus in role web: largest is 3.95 on agent a-3" {
		t.Errorf("PostFilter = %v %q", st.Code(), st.Message())
	}

	// Host ports outside the offered ranges.
	hp := pod("hp", "100m", "10Mi", web, func(p *v1.Pod) {
		p.Spec.Containers[0].Ports = []v1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
	})
	state = newCycleState()
	pl.PreFilter(context.Background(), state, hp, nil)
	if st := pl.Filter(context.Background(), state, hp, nodeNamed("n4")); st.Code() != fwk.Unschedulable || st.Message() != "host port 8080 not offered in role web" {
		t.Errorf("port filter = %v %q", st.Code(), st.Message())
	}
	if _, st := pl.PostFilter(context.Background(), state, hp, nil); !strings.Contains(st.Message(), "port 8080") {
		t.Errorf("port summary = %q", st.Message())
	}
}

// score runs the plugin over nodes as kube-scheduler does for one pod:
// PreFilter, Filter, Score of the nodes that passed, NormalizeScore. It
// returns the raw and the normalized scores by node.
func score(t *testing.T, pl *Plugin, p *v1.Pod, nodes ...fwk.NodeInfo) (raw, normalized map[string]int64) {
	t.Helper()
	state := newCycleState()
	pl.PreFilter(context.Background(), state, p, nil)
	var scores fwk.NodeScoreList
	raw = map[string]int64{}
	for _, ni := range nodes {
		if st := pl.Filter(context.Background(), state, p, ni); !st.IsSuccess() {
			t.Fatalf("Filter %s: %v", ni.Node().Name, st)
		}
		s, st := pl.Score(context.Background(), state, p, ni)
		if !st.IsSuccess() {
			t.Fatalf("Score %s: %v", ni.Node().Name, st)
		}
		raw[ni.Node().Name] = s
		scores = append(scores, fwk.NodeScore{Name: ni.Node().Name, Score: s})
	}
	if st := pl.ScoreExtensions().NormalizeScore(context.Background(), state, p, scores); !st.IsSuccess() {
		t.Fatal(st)
	}
	normalized = map[string]int64{}
	for _, s := range scores {
		normalized[s.Name] = s.Score
	}
	return raw, normalized
}

// TestScore: nodes of one size score by what they would have left, the
// fullest first with BinPacking, the emptiest with Spread.
func TestScore(t *testing.T) {
	o := &fakeOffers{avail: map[string]Available{
		"full/*":  {Resources: Resources{CPUs: 1, MemMiB: 1024}},
		"mid/*":   {Resources: Resources{CPUs: 2, MemMiB: 2048}},
		"empty/*": {Resources: Resources{CPUs: 8, MemMiB: 8192}},
	}}
	nodes := []fwk.NodeInfo{nodeOfSize("full", 8, 8192), nodeOfSize("mid", 8, 8192), nodeOfSize("empty", 8, 8192)}
	for _, tc := range []struct {
		strategy string
		want     map[string]int64
	}{
		{BinPacking, map[string]int64{"full": fwk.MaxScore, "mid": 86, "empty": 0}},
		{Spread, map[string]int64{"full": 0, "mid": 14, "empty": fwk.MaxScore}},
	} {
		pl := newPlugin(t, o, tc.strategy, nil)
		raw, got := score(t, pl, pod("p", "500m", "512Mi"), nodes...)
		// 0.5 of 8 cpus and 512 of 8192 MiB left is 1/16 of the node.
		if raw["full"] != rawScoreScale/16 {
			t.Errorf("%s: full's raw score is %d, want %d", tc.strategy, raw["full"], rawScoreScale/16)
		}
		if !maps.Equal(got, tc.want) {
			t.Errorf("%s: scores %v, want %v", tc.strategy, got, tc.want)
		}
	}
}

// TestScoreBySizeOfNode: what a node has left counts as a share of its
// allocatable, so a big agent with more left in absolute terms is still
// the fuller one; and one that lost its offers since Filter is full.
func TestScoreBySizeOfNode(t *testing.T) {
	o := &fakeOffers{avail: map[string]Available{
		"big/*":   {Resources: Resources{CPUs: 9, MemMiB: 9 * 1024}},   // 8 of 64 left after the pod
		"small/*": {Resources: Resources{CPUs: 5, MemMiB: 5 * 1024}},   // 4 of 8 left
		"odd/*":   {Resources: Resources{CPUs: 64, MemMiB: 64 * 1024}}, // allocatable unknown
	}}
	pl := newPlugin(t, o, BinPacking, nil)
	raw, got := score(t, pl, pod("p", "1", "1Gi"), nodeOfSize("big", 64, 64*1024), nodeOfSize("small", 8, 8*1024), nodeNamed("odd"))
	if raw["big"] != rawScoreScale/8 || raw["small"] != rawScoreScale/2 {
		t.Errorf("raw scores %v, want big %d (1/8 left) and small %d (1/2 left)", raw, rawScoreScale/8, rawScoreScale/2)
	}
	if raw["odd"] != 0 {
		t.Errorf("a node without allocatable has raw score %d, want 0", raw["odd"])
	}
	if got["big"] <= got["small"] {
		t.Errorf("BinPacking scores %v: want big (7/8 used) above small (1/2 used)", got)
	}

	// Offers gone between Filter and Score: nothing left.
	state := newCycleState()
	pl.PreFilter(context.Background(), state, pod("p", "1", "1Gi"), nil)
	if s, st := pl.Score(context.Background(), state, pod("p", "1", "1Gi"), nodeOfSize("gone", 8, 8192)); !st.IsSuccess() || s != 0 {
		t.Errorf("Score of a node without offers = %d, %v; want 0, success", s, st)
	}
}

// TestScoresCompareAcrossCycles is what kube-scheduler's opportunistic
// batching does with the scores: it keeps one cycle's raw scores, and for
// the next pod with the same signature re-scores only the node it chose
// and normalizes all of them together. That ranks the nodes as scoring
// all of them afresh would.
func TestScoresCompareAcrossCycles(t *testing.T) {
	o := &fakeOffers{avail: map[string]Available{
		"a/*": {Resources: Resources{CPUs: 4, MemMiB: 4096}},
		"b/*": {Resources: Resources{CPUs: 3, MemMiB: 3072}},
		"c/*": {Resources: Resources{CPUs: 2, MemMiB: 2048}},
	}}
	nodes := map[string]fwk.NodeInfo{"a": nodeOfSize("a", 8, 8192), "b": nodeOfSize("b", 8, 8192), "c": nodeOfSize("c", 8, 8192)}
	pl := newPlugin(t, o, Spread, nil)
	p := pod("p", "1", "1Gi")
	first, _ := score(t, pl, p, nodes["a"], nodes["b"], nodes["c"])

	// The first pod went to a, the emptiest; a now has 2 cpus left.
	o.avail["a/*"] = Available{Resources: Resources{CPUs: 2, MemMiB: 2048}}
	_, fresh := score(t, pl, p, nodes["a"], nodes["b"], nodes["c"])

	state := newCycleState()
	pl.PreFilter(context.Background(), state, p, nil)
	rescored, st := pl.Score(context.Background(), state, p, nodes["a"])
	if !st.IsSuccess() {
		t.Fatal(st)
	}
	batched := fwk.NodeScoreList{{Name: "b", Score: first["b"]}, {Name: "c", Score: first["c"]}, {Name: "a", Score: rescored}}
	if st := pl.NormalizeScore(context.Background(), state, p, batched); !st.IsSuccess() {
		t.Fatal(st)
	}
	for _, s := range batched {
		if s.Score != fresh[s.Name] {
			t.Errorf("%s scores %d from the kept raw scores, %d scored afresh", s.Name, s.Score, fresh[s.Name])
		}
	}
	if fresh["b"] != fwk.MaxScore {
		t.Errorf("scores %v: want b, now the emptiest, first", fresh)
	}
}

// TestSignPod: pods sign alike when their claims are alike, whatever else
// differs, and apart when the claim differs in anything Filter reads.
func TestSignPod(t *testing.T) {
	pl := newPlugin(t, &fakeOffers{}, BinPacking, nil)
	sign := func(p *v1.Pod) string {
		t.Helper()
		fs, st := pl.SignPod(context.Background(), p)
		if !st.IsSuccess() || len(fs) != 1 || fs[0].Key != ClaimSignerName {
			t.Fatalf("SignPod = %v, %v; want one %s fragment", fs, st, ClaimSignerName)
		}
		b, err := json.Marshal(fs[0].Value)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	withPorts := func(p *v1.Pod, ports ...int32) *v1.Pod {
		for _, hp := range ports {
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, v1.ContainerPort{ContainerPort: hp, HostPort: hp})
		}
		return p
	}
	inRole := func(p *v1.Pod, role string) *v1.Pod {
		p.Annotations = map[string]string{RoleAnnotation: role}
		return p
	}
	base := sign(pod("a", "500m", "512Mi"))
	other := pod("b", "500m", "512Mi")
	other.UID, other.Labels = "another-uid", map[string]string{"app": "x"}
	if got := sign(other); got != base {
		t.Errorf("same claim signs %s and %s", base, got)
	}
	if a, b := sign(withPorts(pod("a", "1", "1Gi"), 80, 443)), sign(withPorts(pod("b", "1", "1Gi"), 443, 80)); a != b {
		t.Errorf("host ports in another order sign %s and %s", a, b)
	}
	for name, p := range map[string]*v1.Pod{
		"cpus":      pod("a", "600m", "512Mi"),
		"mem":       pod("a", "500m", "513Mi"),
		"host port": withPorts(pod("a", "500m", "512Mi"), 8080),
		"role":      inRole(pod("a", "500m", "512Mi"), "web"),
	} {
		if got := sign(p); got == base {
			t.Errorf("a pod with other %s signs as the base pod: %s", name, got)
		}
	}
}

func TestReserveAndBind(t *testing.T) {
	o := &fakeOffers{avail: map[string]Available{"n1/*": {Resources: Resources{CPUs: 4, MemMiB: 4096}}}, reserved: map[types.UID]string{}}
	cs := fake.NewClientset()
	var bound []string
	cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "binding" {
			return false, nil, nil
		}
		b := a.(k8stesting.CreateAction).GetObject().(*v1.Binding)
		bound = append(bound, b.Name+"@"+b.Target.Name)
		return true, b, nil
	})
	pl := newPlugin(t, o, BinPacking, handle{cs: cs})
	p := pod("p", "1", "1Gi")
	state := newCycleState()
	pl.PreFilter(context.Background(), state, p, nil)
	if st := pl.Reserve(context.Background(), state, p, "n1"); !st.IsSuccess() || o.reserved[p.UID] != "n1" {
		t.Fatalf("Reserve = %v, reserved %v", st, o.reserved)
	}
	if st := pl.Reserve(context.Background(), state, p, "gone"); st.Code() != fwk.Unschedulable {
		t.Errorf("Reserve on a node with no fit = %v", st)
	}
	if st := pl.Bind(context.Background(), state, p, "n1"); !st.IsSuccess() {
		t.Fatal(st)
	}
	if len(o.launched) != 1 || o.launched[0] != "p@n1" || len(bound) != 1 || bound[0] != "p@n1" {
		t.Fatalf("launched %v bound %v", o.launched, bound)
	}
	pl.Unreserve(context.Background(), state, p, "n1")
	if _, ok := o.reserved[p.UID]; ok {
		t.Error("Unreserve kept the claim")
	}

	// A failed launch is an error (the pod goes back to the queue) and
	// creates no binding.
	o.launchErr = errors.New("offer rescinded")
	if st := pl.Bind(context.Background(), state, p, "n1"); st.IsSuccess() || !strings.Contains(st.AsError().Error(), "offer rescinded") {
		t.Errorf("Bind after a failed launch = %v", st)
	}
	if len(bound) != 1 {
		t.Errorf("a binding was created for a failed launch: %v", bound)
	}
}
