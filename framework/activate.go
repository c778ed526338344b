package framework

import (
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

// activationInterval bounds how often the waiting pods of a role are handed
// back to kube-scheduler's queue after offers arrived in it.
const activationInterval = time.Second

// activation hands the pods that wait in the roles of newly arrived offers
// to the MesosOffers plugin, which moves them back into kube-scheduler's
// active queue (mesosoffers.Notifier). Without it a pod that found no
// offer waited for the next node or pod change, or for 5 minutes: offers
// change no Kubernetes object when the node's allocatable already counts
// them (a shared cluster's weighted share took kubemesos minutes to reach).
type activation struct {
	activate func([]*corev1.Pod) // set by the plugin; nil: none
	roles    map[string]bool     // roles offers came in since the last activation
	last     time.Time
}

var _ mesosoffers.Notifier = offersAPI{}

// NotifyOffers implements mesosoffers.Notifier.
func (o offersAPI) NotifyOffers(activate func([]*corev1.Pod)) {
	o.f.activationMu.Lock()
	defer o.f.activationMu.Unlock()
	o.f.activation.activate = activate
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

// activateWaiting hands the pods waiting in the roles offers came in to the
// plugin, at most once an activationInterval.
func (f *Framework) activateWaiting(now time.Time) {
	f.activationMu.Lock()
	activate, roles := f.activation.activate, f.activation.roles
	if activate == nil || len(roles) == 0 || now.Sub(f.activation.last) < activationInterval {
		f.activationMu.Unlock()
		return
	}
	f.activation.roles, f.activation.last = nil, now
	f.activationMu.Unlock()

	f.demandMu.Lock()
	var uids []string
	for uid, p := range f.pending {
		if roles[p.role] {
			uids = append(uids, string(uid))
		}
	}
	f.demandMu.Unlock()
	var pods []*corev1.Pod
	for _, uid := range uids {
		objs, err := f.podIndex.ByIndex(uidIndex, uid)
		if err != nil {
			continue
		}
		for _, obj := range objs {
			if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName == "" {
				pods = append(pods, p)
			}
		}
	}
	activate(pods)
}
