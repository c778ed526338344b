package bench

import (
	"fmt"
	"strings"

	"github.com/kubemesos/kubemesos/internal/podbench"
)

// renderSection is the benchmark's section of docs/benchmarks.md.
func renderSection(machine podbench.Machine, clients int, command, table, profile string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `## kubemesos against stock Kubernetes

Measured on %s with:

`+"```sh\n%s\n```"+`

Same embedded control plane (etcd, kube-apiserver, kube-controller-manager), same node count, same
pods, each run in a child process of its own, A and B runs interleaved; every figure is the median
of the runs.

- **A (kubemesos):** mesos-sim with N simulated agents (cpus 4, mem 8 GiB; tasks reach
  TASK_RUNNING at once), the kubemesos framework and its kube-scheduler with the MesosOffers
  plugin. "process agents" is the real-executor variant: the pod executor on process agents.
- **B (stock Kubernetes):** N Node objects with the same allocatable (cpu 4, memory 8 GiB,
  110 pods) kept Ready by their leases (each renewed every 10 s, as a kubelet and kubemesos renew
  theirs), the stock kube-scheduler, and a kwok-style fake kubelet that marks each bound pod
  Running with one status write.
- **Pods:** one container (`+"`sleep 3600`"+`, requests cpu 10m, memory 16Mi), created by %d parallel
  clients (QPS 5,000) as fast as they go ("max") or at a steady rate; after one warm-up pod.
- **pods/s** is pods / (last Running − first create request); **p50/p90/p99** are each pod's
  time from its create request to a watch (opened before) seeing it Running.
- **RSS** (at the end) and **CPU s** (during the run) are the whole child process: control
  plane, scheduler and, for A, framework and mesos-sim, for B the fake kubelet; A − B below is
  what kubemesos adds. **API writes / pod** counts kube-apiserver's POST, PUT, PATCH, DELETE and
  APPLY requests (apiserver_request_total) during the run, node leases included; **Mesos calls**
  are the master's scheduler-call counters (master/messages_*), **offers declined** its
  master/offers_declined.

%s`, machine, command, clients, table)
	if profile != "" {
		b.WriteString("\n" + profile)
	}
	return b.String()
}
