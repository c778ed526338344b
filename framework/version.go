package framework

import (
	"fmt"

	"github.com/kubemesos/kubemesos/executor/protocol"
)

// noteExecutorVersion logs, once per version, that an executor speaks
// another minor version of the executor protocol than this framework: during
// an upgrade without a drain, executors started by the previous framework
// build keep running their pods and take new ones.
func (f *Framework) noteExecutorVersion(v *protocol.Version, agentID string) {
	ours := protocol.Current()
	if v == nil || v.GetMajor() == ours.GetMajor() && v.GetMinor() == ours.GetMinor() {
		return
	}
	theirs := fmt.Sprintf("%d.%d", v.GetMajor(), v.GetMinor())
	if _, seen := f.versionsSeen.LoadOrStore(theirs, true); seen {
		return
	}
	f.log.Info("an executor speaks another executor protocol version; compatible while the major versions match",
		"executor_protocol", theirs, "framework_protocol", fmt.Sprintf("%d.%d", ours.GetMajor(), ours.GetMinor()), "agent_id", agentID)
}
