package kubescheduler

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"k8s.io/component-base/metrics/legacyregistry"
)

// Metrics gathers kube-scheduler's own metrics (the scheduler_* families:
// pending pods by queue, scheduling attempts and their latency, plugin
// durations), for the caller's /metrics. kube-scheduler runs here without
// a port of its own, so they are not served otherwise. It leaves out what
// else the process registers in the same legacy registry (the embedded
// kube-apiserver's and controller-manager's metrics under `kubemesos up`).
func Metrics() prometheus.Gatherer { return schedulerFamilies{} }

type schedulerFamilies struct{}

func (schedulerFamilies) Gather() ([]*dto.MetricFamily, error) {
	all, err := legacyregistry.DefaultGatherer.Gather()
	out := all[:0]
	for _, f := range all {
		if strings.HasPrefix(f.GetName(), "scheduler_") {
			out = append(out, f)
		}
	}
	return out, err
}
