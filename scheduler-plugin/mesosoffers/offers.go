package mesosoffers

import (
	"context"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Offers is all the plugin needs from the framework: what Mesos offers on
// each virtual node right now, claims on those offers while a pod goes
// through the scheduling cycle, and the launch that binds a pod. The
// framework satisfies it; the plugin never sees Mesos types.
type Offers interface {
	// Available is what the node's agent offers now to role, less what pods
	// have reserved on it. ok is false when the node is not an agent this
	// framework knows.
	Available(node, role string) (a Available, ok bool)
	// Reserve claims c on node. It fails when the claim no longer fits what
	// is available (another pod took it, or the offer was rescinded).
	Reserve(node string, c Claim) error
	// Unreserve releases the claim of the pod, if it holds one on node.
	Unreserve(node string, pod types.UID)
	// Launch starts the pod on node from its claim: one Mesos task, launched
	// in an ACCEPT that may carry other pods' tasks for the same agent. It
	// returns once the master took the ACCEPT, or with the reason it did not;
	// the claim is consumed either way.
	Launch(ctx context.Context, pod *v1.Pod, node string) error
}

// Notifier is an Offers that tells the plugin when offers arrive. Then the
// pods the plugin failed to place in the offers' roles are tried again at
// once: such a pod waits in kube-scheduler's unschedulable or backoff queue
// for a cluster event (a node or pod change) or for 5 minutes, and new
// offers change no Kubernetes object when the node's allocatable already
// counts what they bring (as after offers are suppressed, or a launch's
// remainder comes back). Only those pods are handed back: the others are in
// kube-scheduler's active queue already, where activating them does nothing
// but cost a lookup each (a 20,000-pod backlog, once a second).
type Notifier interface {
	// NotifyOffers registers activate, which the Offers calls with the
	// pods reported Unschedulable since their last activation, of the roles
	// new offers came in, at most once a second.
	NotifyOffers(activate func(pods []*v1.Pod))
	// Unschedulable reports a pod whose scheduling cycle failed (no node
	// passed Filter, or its Reserve or Bind failed): kube-scheduler queues
	// it again only on an event or when activated.
	Unschedulable(pod *v1.Pod)
}

// Resources is an amount of the scalar resources and ports a pod needs or an
// agent offers. Memory and disk are in MiB, as Mesos counts them.
type Resources struct {
	CPUs    float64
	MemMiB  float64
	DiskMiB float64
	// Ports are host ports, as inclusive ranges.
	Ports []PortRange
}

// PortRange is an inclusive range of ports.
type PortRange struct{ Begin, End uint32 }

// Available is what a node offers now to one role.
type Available struct {
	Resources
	// Executor is what launching the first pod on this agent costs on top of
	// the pod's own resources (the kubemesos executor's resources); zero once
	// an executor of ours runs or is being launched there.
	Executor Resources
	// Agent is the Mesos agent ID behind the node, for messages.
	Agent string
}

// Claim is what one pod reserves on a node.
type Claim struct {
	Pod  types.UID
	Role string
	// Resources the pod's task gets; Ports are single-port ranges for the
	// pod's host ports.
	Resources
}
