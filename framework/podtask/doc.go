// Package podtask turns a Kubernetes pod into the Mesos task that runs it:
// the task ID derived from the pod's UID (so that a restarted framework finds
// its tasks again), the task's name, labels and resources, the kubemesos
// executor that runs it, and the executor's payload (protocol.PodTask) with
// the ConfigMaps, Secrets, downward-API fields and service account tokens the
// pod refers to, resolved through the narrow Resolver the framework's edge
// implements with client-go. Pods the process runtime cannot run are refused
// here, before any launch, with a reason a user can act on.
package podtask
