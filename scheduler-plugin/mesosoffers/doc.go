// Package mesosoffers is the MesosOffers kube-scheduler plugin: it makes the
// stock kube-scheduler place pods on what Mesos offers now. PreFilter
// computes a pod's claim (its effective requests, host ports and Mesos
// role); Filter checks the claim against the live offers of each node's
// agent, with reasons that say what is short and where; PostFilter sums up
// the nearest fit for the pod's PodScheduled condition; Score packs or
// spreads by the share of a node its agent would have left; SignPod signs
// a pod by its claim, for kube-scheduler's batching; Reserve and Unreserve
// claim and release offer resources; Bind launches the pod's task and then
// creates the Binding. The plugin reaches the framework only through the
// Offers interface defined here, and imports only the light scheduler
// framework module (never k8s.io/kubernetes).
package mesosoffers
