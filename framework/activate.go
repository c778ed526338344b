package framework

import (
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

// activationInterval bounds how often the waiting pods of a role are handed
// back to kube-scheduler's queue after offers arrived in it.
const activationInterval = time.Second

// activation hands the pods the MesosOffers plugin failed to place, in
// the roles of newly arrived offers, back to the plugin, which moves them
// into kube-scheduler's active queue (mesosoffers.Notifier). Without it a
// pod that found no offer waited for the next node or pod change, or for 5
// minutes: offers change no Kubernetes object when the node's allocatable
// already counts them (a shared cluster's weighted share took kubemesos
// minutes to reach). Pods the plugin has not failed are left alone: they
// are in the active queue, and handing a whole backlog over each second
// was 2.4 % of a 5,000-node run's CPU. The plugin reports a failure in the
// cycle itself, before the pod is queued again; a pod's PodScheduled
// condition comes later, through the API, and offers that arrived in
// between were missed (a shared cluster's weighted share again).
type activation struct {
	activate func([]*corev1.Pod) // set by the plugin; nil: none
	roles    map[string]bool     // roles offers came in since the last activation
	last     time.Time
	// unschedulable are the pods the plugin reported since their last
	// activation, by UID, with their roles.
	unschedulable map[types.UID]unschedulablePod
}

type unschedulablePod struct {
	pod  *corev1.Pod
	role string
}

var _ mesosoffers.Notifier = offersAPI{}

// NotifyOffers implements mesosoffers.Notifier.
func (o offersAPI) NotifyOffers(activate func([]*corev1.Pod)) {
	o.f.activationMu.Lock()
	defer o.f.activationMu.Unlock()
	o.f.activation.activate = activate
}

// Unschedulable implements mesosoffers.Notifier.
func (o offersAPI) Unschedulable(p *corev1.Pod) {
	role := o.f.podRole(p)
	o.f.activationMu.Lock()
	defer o.f.activationMu.Unlock()
	if o.f.activation.unschedulable == nil {
		o.f.activation.unschedulable = map[types.UID]unschedulablePod{}
	}
	o.f.activation.unschedulable[p.UID] = unschedulablePod{pod: p, role: role}
}

// placed forgets a pod reported unschedulable once it is bound or gone.
func (f *Framework) placed(uid types.UID) {
	f.activationMu.Lock()
	defer f.activationMu.Unlock()
	delete(f.activation.unschedulable, uid)
}

// offersArrived notes the roles of offers just received.
func (f *Framework) offersArrived(offers []mesos.Offer) {
	f.activationMu.Lock()
	defer f.activationMu.Unlock()
	if f.activation.activate == nil {
		return
	}
	if f.activation.roles == nil {
		f.activation.roles = map[string]bool{}
	}
	for _, o := range offers {
		f.activation.roles[o.GetAllocationInfo().GetRole()] = true
	}
}

// activateWaiting hands the pods reported unschedulable in the roles offers
// came in to the plugin, at most once an activationInterval. A pod handed
// over is forgotten until the plugin reports it again.
func (f *Framework) activateWaiting(now time.Time) {
	f.activationMu.Lock()
	a := &f.activation
	if a.activate == nil || len(a.roles) == 0 || now.Sub(a.last) < activationInterval {
		f.activationMu.Unlock()
		return
	}
	var pods []*corev1.Pod
	for uid, u := range a.unschedulable {
		if a.roles[u.role] {
			pods = append(pods, u.pod)
			delete(a.unschedulable, uid)
		}
	}
	activate := a.activate
	a.roles, a.last = nil, now
	f.activationMu.Unlock()
	activate(pods)
}
