// Package status maps a Mesos TaskStatus of a pod's task to what the
// framework does with the pod: the new PodStatus to write (from the
// executor's PodStatus payload when there is one, else from the task state
// alone), whether to delete the pod object (its task was killed after the
// pod's deletion), and whether the update is stale (an older executor
// observation than one already applied). It is a pure function of its
// inputs.
package status
