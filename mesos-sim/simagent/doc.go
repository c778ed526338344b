// Package simagent runs simulated Mesos agents inside the mesos-sim master:
// agents with resources, attributes and a domain but no processes. Tasks
// launched on them move through the states a declared behaviour
// (mesos-sim/behavior) gives them, and their status updates are delivered
// reliably, as a real agent's status update manager does: one update in
// flight per task, resent with back-off until acknowledged. Agents can be
// partitioned, killed, healed and restarted, for fault tests.
//
// One goroutine (Cluster.Run) drives every simulated agent of a cluster, so
// thousands of agents cost no goroutines of their own.
package simagent
