// Package master is mesos-sim's Mesos master: it serves the v1 scheduler API
// (/api/v1/scheduler) with Apache Mesos' status codes, event streams and
// semantics, keeps the cluster's frameworks, agents, offers and tasks, turns
// the allocator's decisions into offers, relays reliable status updates
// between agents and frameworks, and handles agent loss and partitions.
//
// All state lives in one Master value behind one mutex; every entry point
// (HTTP calls, agent messages, timers) takes it, so the master behaves as a
// sequential state machine. Outbound traffic never blocks under the lock:
// framework streams queue events for their own writer goroutines, and agents
// are reached through the AgentLink interface, whose implementations must
// not block either. Time comes from an injected clock.
package master
