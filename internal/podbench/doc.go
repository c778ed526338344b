// Package podbench measures how fast a Kubernetes cluster turns new pods
// into Running ones: it creates nodes that look like kubemesos' simulated
// Mesos agents, creates pods with many parallel clients (at full speed or at
// a steady rate), observes each pod's creation→Running latency by watch,
// plays a kwok-style fake kubelet for clusters without real ones, reads the
// cost counters (kube-apiserver writes, Mesos calls, process CPU and RSS),
// and renders the results as a table. It uses client-go only, so the
// benchmark's logic is tested under -race; `kubemesos bench` wires it to
// the embedded control plane, kube-scheduler and the framework.
package podbench
