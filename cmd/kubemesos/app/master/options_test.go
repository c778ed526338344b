package master

import "testing"

func TestAgentModeValidation(t *testing.T) {
	for mode, ok := range map[string]bool{"sim": true, "process": true, "docker": false, "": false} {
		o := NewOptions()
		o.AgentMode = mode
		if err := o.Validate(); (err == nil) != ok {
			t.Errorf("--agent-mode %q: error %v", mode, err)
		}
	}
}
