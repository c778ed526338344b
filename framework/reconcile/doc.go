// Package reconcile decides what the framework does with a task state it
// learns (an update, or a reconciliation answer) given the pod the task
// belongs to: write the pod's status, bind the pod to the task's node, kill
// the task, or do nothing. It is a pure function of its inputs, so that the
// failover rules are table-tested without a master or an API server; the
// framework's event loop does the I/O.
package reconcile
