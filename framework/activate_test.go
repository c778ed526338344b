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

// TestActivateWaiting: offers arriving in a role hand that role's stalled
// waiting pods (not other roles', not bound ones, not those kube-scheduler
// has not failed to place) to the plugin, at most once a second, and once
// more in the next round (a pod reported stalled just after a round).
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
	for _, p := range []struct {
		name, role, node string
		stalled          bool
	}{{"w1", "web", "", true}, {"w2", "web", "", true}, {"b1", "batch", "", true}, {"w3", "web", "n1", true}, {"w4", "web", "", false}} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: p.name, UID: types.UID("uid-" + p.name)}, Spec: corev1.PodSpec{NodeName: p.node}}
		if err := f.podIndex.Add(pod); err != nil {
			t.Fatal(err)
		}
		f.pending[pod.UID] = pendingPod{role: p.role, stalled: p.stalled}
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
	// w4 is reported stalled after the round: the next one takes it.
	f.pending["uid-w4"] = pendingPod{role: "web", stalled: true}
	f.offersArrived([]mesos.Offer{offerIn("batch")})
	f.activateWaiting(t0.Add(500 * time.Millisecond)) // too soon
	f.activateWaiting(t0.Add(1500 * time.Millisecond))
	f.activateWaiting(t0.Add(3 * time.Second))         // batch once more
	f.activateWaiting(t0.Add(4500 * time.Millisecond)) // no offer since
	want := [][]string{{"w1", "w2"}, {"b1", "w1", "w2", "w4"}, {"b1"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("activations %v, want %v", got, want)
	}
}
