package master

import (
	"net/http"
	"sort"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// metric is one entry of /metrics/snapshot.
type metric struct {
	name  string
	value float64
}

// metricSet is a metrics snapshot, sorted by name.
type metricSet []metric

// protos converts the snapshot for GET_METRICS.
func (s metricSet) protos() []mesos.Metric {
	out := make([]mesos.Metric, len(s))
	for i := range s {
		v := s[i].value
		out[i] = mesos.Metric{Name: s[i].name, Value: &v}
	}
	return out
}

// callMetric names the master/messages_* counter of a scheduler call, after
// the v0 message Mesos counts for the same request ("" if none).
func callMetric(t scheduler.Call_Type) string {
	switch t {
	case scheduler.Call_SUBSCRIBE:
		return "master/messages_register_framework"
	case scheduler.Call_TEARDOWN:
		return "master/messages_unregister_framework"
	case scheduler.Call_ACCEPT:
		return "master/messages_launch_tasks"
	case scheduler.Call_DECLINE:
		return "master/messages_decline_offers"
	case scheduler.Call_REVIVE:
		return "master/messages_revive_offers"
	case scheduler.Call_SUPPRESS:
		return "master/messages_suppress_offers"
	case scheduler.Call_KILL:
		return "master/messages_kill_task"
	case scheduler.Call_SHUTDOWN:
		return "master/messages_shutdown_executor"
	case scheduler.Call_ACKNOWLEDGE:
		return "master/messages_status_update_acknowledgement"
	case scheduler.Call_RECONCILE:
		return "master/messages_reconcile_tasks"
	case scheduler.Call_MESSAGE:
		return "master/messages_framework_to_executor"
	case scheduler.Call_REQUEST:
		return "master/messages_resource_request"
	case scheduler.Call_UPDATE_FRAMEWORK:
		return "master/messages_update_framework"
	}
	return ""
}

// metrics takes a snapshot of the master's metrics under its lock, with
// Apache Mesos' names (docs/monitoring.md): gauges computed from the state,
// counters from the master's counters.
func (op *operator) metrics() metricSet {
	m := op.m
	m.mu.Lock()
	defer m.mu.Unlock()
	var s metricSet
	put := func(name string, v float64) { s = append(s, metric{name, v}) }
	count := func(name string, v uint64) { put(name, float64(v)) }

	put("master/elected", 1)
	put("master/uptime_secs", m.clock.Now().Sub(m.startTime).Seconds())

	// Agents: sim agents are connected while registered.
	var active, inactive int
	total, used := quantities{}, quantities{}
	revTotal, revUsed := quantities{}, quantities{}
	for _, ag := range m.agents {
		if ag.active {
			active++
		} else {
			inactive++
		}
		for i := range ag.info.Resources {
			r := ag.info.Resources[i : i+1]
			if r[0].Revocable != nil {
				revTotal.add(r)
			} else {
				total.add(r)
			}
		}
	}
	put("master/slaves_active", float64(active))
	put("master/slaves_inactive", float64(inactive))
	put("master/slaves_connected", float64(len(m.agents)))
	put("master/slaves_disconnected", 0)
	put("master/slaves_unreachable", float64(len(m.unreachableAgents)))
	count("master/slave_unreachable_scheduled", m.metrics.agentsUnreachable)
	count("master/slave_unreachable_completed", m.metrics.agentsUnreachable)

	// Frameworks, and what their live tasks and executors use.
	var fwActive, fwConnected int
	gauges := map[mesos.TaskState]int{}
	addUsed := func(rs []mesos.Resource) {
		for i := range rs {
			if rs[i].Revocable != nil {
				revUsed.add(rs[i : i+1])
			} else {
				used.add(rs[i : i+1])
			}
		}
	}
	for _, fw := range m.frameworks {
		if fw.active {
			fwActive++
		}
		if fw.connected {
			fwConnected++
		}
		for _, t := range fw.tasks {
			gauges[t.state()]++
			if !isTerminal(t.state()) {
				addUsed(t.t.Resources)
			}
		}
		for _, execs := range fw.executors {
			for _, e := range execs {
				addUsed(e.Resources)
			}
		}
	}
	put("master/frameworks_active", float64(fwActive))
	put("master/frameworks_inactive", float64(len(m.frameworks)-fwActive))
	put("master/frameworks_connected", float64(fwConnected))
	put("master/frameworks_disconnected", float64(len(m.frameworks)-fwConnected))
	put("master/outstanding_offers", float64(len(m.offers)))

	for _, name := range []string{"cpus", "mem", "disk", "gpus"} {
		put("master/"+name+"_total", total[name])
		put("master/"+name+"_used", roundScalar(used[name]))
		put("master/"+name+"_percent", percent(used[name], total[name]))
		put("master/"+name+"_revocable_total", revTotal[name])
		put("master/"+name+"_revocable_used", roundScalar(revUsed[name]))
		put("master/"+name+"_revocable_percent", percent(revUsed[name], revTotal[name]))
	}

	// Tasks: live states are gauges, terminal ones counters of transitions.
	unreachable := 0
	for _, fw := range m.frameworks {
		unreachable += len(fw.unreachableTasks)
	}
	put("master/tasks_staging", float64(gauges[mesos.TASK_STAGING]))
	put("master/tasks_starting", float64(gauges[mesos.TASK_STARTING]))
	put("master/tasks_running", float64(gauges[mesos.TASK_RUNNING]))
	put("master/tasks_killing", float64(gauges[mesos.TASK_KILLING]))
	put("master/tasks_unreachable", float64(unreachable))
	for _, c := range []struct {
		name  string
		state mesos.TaskState
	}{
		{"finished", mesos.TASK_FINISHED}, {"failed", mesos.TASK_FAILED}, {"killed", mesos.TASK_KILLED},
		{"lost", mesos.TASK_LOST}, {"error", mesos.TASK_ERROR}, {"dropped", mesos.TASK_DROPPED},
		{"gone", mesos.TASK_GONE}, {"gone_by_operator", mesos.TASK_GONE_BY_OPERATOR},
	} {
		count("master/tasks_"+c.name, m.metrics.tasksByState[c.state])
	}

	// Messages.
	count("master/valid_status_updates", m.metrics.validStatusUpdates)
	count("master/invalid_status_updates", m.metrics.invalidStatusUpdates)
	count("master/messages_status_update", m.metrics.validStatusUpdates+m.metrics.invalidStatusUpdates)
	count("master/valid_status_update_acknowledgements", m.metrics.validAcks)
	count("master/invalid_status_update_acknowledgements", m.metrics.invalidAcks)
	count("master/dropped_messages", m.metrics.droppedMessages)
	for v := range scheduler.Call_Type_name {
		t := scheduler.Call_Type(v)
		if name := callMetric(t); name != "" {
			count(name, m.metrics.calls[t]+m.metrics.invalidCalls[t])
		}
	}
	count("master/valid_framework_to_executor_messages", m.metrics.calls[scheduler.Call_MESSAGE])
	count("master/invalid_framework_to_executor_messages", m.metrics.invalidCalls[scheduler.Call_MESSAGE])
	put("master/event_queue_messages", 0)
	put("master/event_queue_dispatches", 0)
	put("master/event_queue_http_requests", 0)

	// Offers (mesos-sim's totals; Mesos keeps these per framework only).
	count("master/offers_sent", m.metrics.offersSent)
	count("master/offers_accepted", m.metrics.offersAccepted)
	count("master/offers_declined", m.metrics.offersDeclined)
	count("master/offers_rescinded", m.metrics.offersRescinded)
	count("master/tasks_launched", m.metrics.tasksLaunched)

	// Allocator.
	count("allocator/mesos/allocation_runs", m.metrics.allocationRuns)
	s = appendTimer(s, "allocator/mesos/allocation_run_ms", &m.allocRunTime)
	for role, q := range m.alloc.Quotas() {
		guarantees, limits := quotaParts(q)
		for name, v := range guarantees {
			put("allocator/mesos/quota/roles/"+role+"/resources/"+name+"/guarantee", v)
		}
		for name, v := range limits {
			put("allocator/mesos/quota/roles/"+role+"/resources/"+name+"/limit", v)
		}
	}

	sort.Slice(s, func(i, j int) bool { return s[i].name < s[j].name })
	return s
}

// percent is used/total, 0 when there is no total (Mesos' *_percent).
func percent(used, total float64) float64 {
	if total == 0 {
		return 0
	}
	return used / total
}

// appendTimer adds a libprocess timer metric in milliseconds: the last
// value under the bare name, and count, min, max and percentiles of the
// kept window.
func appendTimer(s metricSet, name string, d *durations) metricSet {
	n := len(d.samples)
	if n == 0 {
		return s
	}
	ms := func(v time.Duration) float64 { return float64(v) / float64(time.Millisecond) }
	last := d.samples[n-1]
	if n == maxDurationSamples {
		last = d.samples[(d.next+n-1)%n]
	}
	sorted := append([]time.Duration(nil), d.samples...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	at := func(p float64) float64 { return ms(sorted[int(p/100*float64(n-1))]) }
	return append(s,
		metric{name, ms(last)},
		metric{name + "/count", float64(n)},
		metric{name + "/min", ms(sorted[0])},
		metric{name + "/max", ms(sorted[n-1])},
		metric{name + "/p50", at(50)},
		metric{name + "/p90", at(90)},
		metric{name + "/p95", at(95)},
		metric{name + "/p99", at(99)},
		metric{name + "/p999", at(99.9)},
		metric{name + "/p9999", at(99.99)},
	)
}

// serveMetrics is /metrics/snapshot: a flat JSON object of metric names to
// values. Mesos' ?timeout= bounds how long gathering may take, which is
// immediate here; ?jsonp= wraps the answer.
func (op *operator) serveMetrics(w http.ResponseWriter, r *http.Request) {
	s := op.metrics()
	op.serveJSON(w, r, func(rd *renderer) {
		b := append(rd.b, '{')
		for i, x := range s {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, x.name)
			b = append(b, ':')
			b = appendFloat(b, x.value)
		}
		rd.b = append(b, '}')
	})
}
