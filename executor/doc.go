// Package executor is the kubemesos executor: the Mesos executor that a
// Mesos agent starts, once per framework per agent, as `kubemesos executor`.
// It subscribes to its agent through mesos-go's executor library, runs every
// pod the framework launches on it (one Mesos task per pod, its PodTask in
// TaskInfo.data) with the runner, and reports each pod's Kubernetes status
// through reliable status updates (PodStatus in TaskStatus.data). One
// goroutine owns the daemon's state; agent events, pod statuses, pod ends
// and timers reach it through a mailbox. The executor exits after an idle
// timeout with no pods, on SHUTDOWN once its pods are terminated, and, when
// its agent goes away, either resubscribes (checkpointing frameworks) or
// shuts down.
package executor
