package master

import (
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// counters are the master's monotonically increasing metrics; gauges (tasks
// by state, resources) are computed from state when asked.
type counters struct {
	allocationRuns       uint64
	offersSent           uint64
	offersAccepted       uint64
	offersDeclined       uint64
	offersRescinded      uint64
	droppedMessages      uint64
	validStatusUpdates   uint64
	invalidStatusUpdates uint64
	validAcks            uint64
	invalidAcks          uint64
	tasksLaunched        uint64
	agentsUnreachable    uint64
	// tasksByState counts transitions into each state (terminal ones are
	// Mesos' master/tasks_finished and friends).
	tasksByState map[mesos.TaskState]uint64
	// calls counts scheduler calls by type and outcome.
	calls        map[scheduler.Call_Type]uint64
	invalidCalls map[scheduler.Call_Type]uint64
}

func (m *Master) countState(s mesos.TaskState) {
	if m.metrics.tasksByState == nil {
		m.metrics.tasksByState = map[mesos.TaskState]uint64{}
	}
	m.metrics.tasksByState[s]++
}

func (m *Master) countCall(call *scheduler.Call, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.metrics.calls == nil {
		m.metrics.calls = map[scheduler.Call_Type]uint64{}
		m.metrics.invalidCalls = map[scheduler.Call_Type]uint64{}
	}
	if ok {
		m.metrics.calls[call.Type]++
	} else {
		m.metrics.invalidCalls[call.Type]++
	}
}

// durations keeps the most recent samples of a timing for percentiles, as
// Mesos' allocator/mesos/allocation_run_ms does.
type durations struct {
	samples []time.Duration
	next    int
	count   uint64
}

const maxDurationSamples = 1000

func (d *durations) add(v time.Duration) {
	d.count++
	if len(d.samples) < maxDurationSamples {
		d.samples = append(d.samples, v)
		return
	}
	d.samples[d.next] = v
	d.next = (d.next + 1) % maxDurationSamples
}
