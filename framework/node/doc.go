// Package node builds the virtual Kubernetes Node that stands for one Mesos
// agent: its name (stable and unique even when agents share a host), labels
// from the agent's attributes and domain, capacity and allocatable from what
// the agent offers and what our pods use, conditions, addresses and the
// kubelet endpoint the framework serves; and decides when a node's status is
// worth writing (Writer: at most one write per node per interval, unless
// something changed materially). It does no I/O.
package node
