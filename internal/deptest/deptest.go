// Package deptest holds the project's dependency rules as a test: which
// top-level parts may import what. The rules keep mesos-sim free of
// Kubernetes, the executor free of Kubernetes credentials and client-go, and
// the heavy k8s.io/kubernetes module inside the few packages that wire the
// embedded control plane and kube-scheduler.
package deptest
