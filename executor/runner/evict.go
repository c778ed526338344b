package runner

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// ReasonEvicted: an emptyDir volume used more than its sizeLimit, and the
// pod was evicted as a kubelet's eviction manager evicts it.
const ReasonEvicted = "Evicted"

// evictionGrace is the grace of an eviction in spec seconds: the kubelet
// evicts for local storage with no grace, raised to its minimum of 2 s.
const evictionGrace = 2

// sizeLimiter measures emptyDir volumes against their sizeLimit, as
// volume.Set does.
type sizeLimiter interface {
	OverLimit() (volume string, used, limit int64, over bool)
}

// watchVolumes measures the pod's emptyDir volumes that have a sizeLimit
// every Timing.VolumeCheck and evicts the pod once one uses more than its
// limit. The returned function stops the watch and waits for a measurement
// in progress. Pods without such a volume are not watched.
func (p *Pod) watchVolumes() (stop func()) {
	limiter, ok := p.vols.(sizeLimiter)
	if !ok || !hasSizeLimit(p.cfg.Pod) {
		return func() {}
	}
	quit, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		for {
			fired := make(chan struct{})
			t := p.clock.AfterFunc(p.timing.VolumeCheck, func() { close(fired) })
			select {
			case <-fired:
			case <-quit:
				t.Stop()
				return
			}
			if name, used, limit, over := limiter.OverLimit(); over {
				p.evict(name, used, limit)
				return
			}
		}
	}()
	return func() {
		close(quit)
		<-exited
	}
}

// evict fails the pod with the kubelet's reason and message, naming the
// volume, its limit and its usage, and adds the DisruptionTarget condition
// a kubelet adds.
func (p *Pod) evict(name string, used, limit int64) {
	msg := fmt.Sprintf("Usage of EmptyDir volume %q exceeds the limit %q (usage %s). ", name,
		resource.NewQuantity(limit, resource.BinarySI).String(), resource.NewQuantity(used, resource.BinarySI).String())
	p.log.Info("evicting pod", "volume", name, "used", used, "limit", limit)
	p.mu.Lock()
	if p.phase == "" && p.killAt.IsZero() {
		p.disruption = msg
	}
	p.mu.Unlock()
	p.kill(p.specSeconds(evictionGrace), ReasonEvicted, msg)
}

func hasSizeLimit(pod *corev1.Pod) bool {
	for _, v := range pod.Spec.Volumes {
		if e := v.EmptyDir; e != nil && e.SizeLimit != nil && e.SizeLimit.Sign() > 0 {
			return true
		}
	}
	return false
}
