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

func suppressCall() *scheduler.Call { return calls.Suppress() }

func reviveCall() *scheduler.Call { return calls.Revive() }
