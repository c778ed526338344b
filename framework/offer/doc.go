// Package offer owns the Mesos offers the framework holds: offers per agent
// and role, the claims pods put on them between the scheduler's Reserve and
// Bind, the executor's overhead on agents without an executor of ours, when a
// held offer is declined, and when to suppress or revive offers. It is a
// deterministic core: it does no I/O and reads no clock (callers pass the
// time), and answers with decisions (offers to decline, resources to launch
// from) that the framework's loop carries out. Pool is safe for concurrent
// use, since kube-scheduler calls Available and Reserve from its own
// goroutines.
package offer
