package framework

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the framework's Prometheus metrics, on its own registry.
type metrics struct {
	registry      *prometheus.Registry
	offers        *prometheus.CounterVec // by outcome: received, used, declined, rescinded
	pending       prometheus.Gauge
	launchLatency prometheus.Histogram
	updates       *prometheus.CounterVec // by state
	subscriptions prometheus.Counter
	// reconciliations counts RECONCILE rounds (explicit and implicit).
	reconciliations prometheus.Counter
	// podCacheMisses counts task updates whose pod the informer cache did
	// not have yet but the API server did.
	podCacheMisses prometheus.Counter
	// resentUpdates counts task updates dropped because the same update
	// (task and UUID) was still being written.
	resentUpdates prometheus.Counter
	// readyRestored counts pods set Ready again after the node lifecycle
	// controller marked them not ready, and nodesRewritten the nodes
	// written again after another writer changed their readiness.
	readyRestored, nodesRewritten prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		offers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "kubemesos", Subsystem: "framework", Name: "offers_total",
			Help: "Mesos offers by what became of them: received, used, declined, rescinded.",
		}, []string{"outcome"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "kubemesos", Subsystem: "framework", Name: "pending_pods",
			Help: "Pods of this framework waiting for a node.",
		}),
		launchLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "kubemesos", Subsystem: "framework", Name: "launch_latency_seconds",
			Help:    "Time from a Launch call to the master taking its ACCEPT.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "kubemesos", Subsystem: "framework", Name: "status_updates_total",
			Help: "Mesos task status updates received, by task state.",
		}, []string{"state"}),
		subscriptions: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "kubemesos", Subsystem: "framework", Name: "subscriptions_total",
			Help: "Successful subscriptions to the Mesos master.",
		}),
		reconciliations: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "kubemesos", Subsystem: "framework", Name: "reconciliations_total",
			Help: "Task reconciliation rounds sent to the master (on subscription and periodic).",
		}),
		podCacheMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "kubemesos", Subsystem: "framework", Name: "pod_cache_misses_total",
			Help: "Task updates whose pod was not in the informer cache yet and was read from the API server.",
		}),
		resentUpdates: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "kubemesos", Subsystem: "framework", Name: "resent_updates_dropped_total",
			Help: "Task updates the agent resent while the first copy was still being written, dropped (the first one's acknowledgement covers them).",
		}),
		readyRestored: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "kubemesos", Subsystem: "framework", Name: "pods_ready_restored_total",
			Help: "Running pods whose Ready condition the framework set True again after the node lifecycle controller had set it False.",
		}),
		nodesRewritten: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "kubemesos", Subsystem: "framework", Name: "nodes_rewritten_total",
			Help: "Node status writes made because another writer (the node lifecycle controller) changed the node's Ready condition.",
		}),
	}
	m.registry.MustRegister(m.offers, m.pending, m.launchLatency, m.updates, m.subscriptions, m.reconciliations, m.podCacheMisses, m.resentUpdates,
		m.readyRestored, m.nodesRewritten)
	for _, o := range []string{"received", "used", "declined", "rescinded"} {
		m.offers.WithLabelValues(o)
	}
	return m
}

// MetricsRegistry is the registry the framework's metrics live on, for
// callers that gather several registries into one endpoint.
func (f *Framework) MetricsRegistry() *prometheus.Registry { return f.metrics.registry }
