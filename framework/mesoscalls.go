package framework

import (
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	"github.com/kubemesos/kubemesos/framework/podtask"
)

func killCall(taskID, agentID string, graceSeconds int64) *scheduler.Call {
	c := calls.Kill(taskID, agentID)
	c.Kill.KillPolicy = podtask.KillPolicy(graceSeconds)
	return c
}

// suppressCall and reviveCall name their roles: a call with none would
// apply to every role.
func suppressCall(roles []string) *scheduler.Call { return calls.SuppressWith(roles) }

func reviveCall(roles []string) *scheduler.Call { return calls.ReviveWith(roles) }
