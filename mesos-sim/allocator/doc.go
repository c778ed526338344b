// Package allocator is mesos-sim's hierarchical weighted DRF allocator, the
// part of the master that decides which framework is offered which agent's
// resources. It follows Mesos' HierarchicalAllocatorProcess: agents are
// visited in a shuffled order; for each agent, roles are taken in dominant
// resource fairness order (share divided by weight, nested roles sorted
// level by level), and frameworks within a role in DRF order; the first
// eligible framework gets everything on the agent it may use
// (coarse-grained). Quota guarantees are served first and held back as
// headroom from other roles; quota limits chop what a role is offered;
// refuse filters, suppression, min-allocatable quantities and the
// MULTI_ROLE, HIERARCHICAL_ROLE and GPU_RESOURCES capability rules apply as
// in Mesos.
//
// The allocator is a deterministic core: no goroutines, no I/O and no wall
// clock (time is passed in). It is not safe for concurrent use; the master
// serialises every call under its own lock. Resources handed out carry
// allocation_info.role; resources given back may carry it or not (a
// framework with one role needs none).
package allocator
