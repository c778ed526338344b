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

// TestActivateWaiting: offers arriving in a role hand that role's waiting
// pods (not other roles', not bound ones) to the plugin, at most once a
// second.
func TestActivateWaiting(t *testing.T) {
	f := unitFramework(t, "web", "batch")
	var got [][]string
	f.Offers().(mesosoffers.Notifier).NotifyOffers(func(pods []*corev1.Pod) {
		var names []string
		for _, p := range pods {
			names = append(names, p.Name)
		}
		sort.Strings(names)
		got = append(got, names)
	})
	for _, p := range []struct{ name, role, node string }{{"w1", "web", ""}, {"w2", "web", ""}, {"b1", "batch", ""}, {"w3", "web", "n1"}} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: p.name, UID: types.UID("uid-" + p.name)}, Spec: corev1.PodSpec{NodeName: p.node}}
		if err := f.podIndex.Add(pod); err != nil {
			t.Fatal(err)
		}
		f.pending[pod.UID] = pendingPod{role: p.role}
	}
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
	want := [][]string{{"w1", "w2"}, {"b1"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("activations %v, want %v", got, want)
	}
}
