package framework

import (
	"slices"
	"sort"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

// TestActivateWaiting: offers arriving in a role hand the pods the plugin
// reported unschedulable in that role (not other roles', not those bound or
// deleted since, not those never reported) to the plugin, at most once a
// second, and each only once per report.
func TestActivateWaiting(t *testing.T) {
	f := unitFramework(t, "web", "batch")
	var got [][]string
	offers := f.Offers().(mesosoffers.Notifier)
	offers.NotifyOffers(func(pods []*corev1.Pod) {
		var names []string
		for _, p := range pods {
			names = append(names, p.Name)
		}
		sort.Strings(names)
		got = append(got, names)
	})
	pods := map[string]*corev1.Pod{}
	for _, p := range []struct{ name, role string }{{"w1", "web"}, {"w2", "web"}, {"w3", "web"}, {"w4", "web"}, {"b1", "batch"}, {"b2", "batch"}} {
		pods[p.name] = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: p.name, UID: types.UID("uid-" + p.name),
			Annotations: map[string]string{mesosoffers.RoleAnnotation: p.role}}, Spec: corev1.PodSpec{SchedulerName: f.cfg.SchedulerName}}
	}
	for _, name := range []string{"w1", "w2", "w3", "w4", "b1"} { // b2: in the active queue
		offers.Unschedulable(pods[name])
	}
	bound := pods["w3"].DeepCopy()
	bound.Spec.NodeName = "n1"
	f.podChanged(nil, bound)
	f.podDeleted(pods["w4"])

	offerIn := func(role string) mesos.Offer {
		return mesos.Offer{ID: mesos.OfferID{Value: "o-" + role}, AllocationInfo: &mesos.Resource_AllocationInfo{Role: &role}}
	}
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	f.activateWaiting(t0)
	if len(got) != 0 {
		t.Fatalf("activated %v before any offer", got)
	}
	f.offersArrived([]mesos.Offer{offerIn("web")})
	f.activateWaiting(t0)
	f.offersArrived([]mesos.Offer{offerIn("batch")})
	f.activateWaiting(t0.Add(500 * time.Millisecond)) // too soon
	f.activateWaiting(t0.Add(1500 * time.Millisecond))
	f.activateWaiting(t0.Add(3 * time.Second)) // no offer since
	f.offersArrived([]mesos.Offer{offerIn("web")})
	f.activateWaiting(t0.Add(4 * time.Second)) // w1, w2 were handed over already
	offers.Unschedulable(pods["w1"])           // failed again
	f.offersArrived([]mesos.Offer{offerIn("web")})
	f.activateWaiting(t0.Add(5 * time.Second))
	want := [][]string{{"w1", "w2"}, {"b1"}, nil, {"w1"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("activations %v, want %v", got, want)
	}
}
