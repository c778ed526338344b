package agent

import (
	"testing"
	"time"
)

func TestOptionsValidate(t *testing.T) {
	if err := NewOptions().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, mutate := range map[string]func(*Options){
		"master without scheme": func(o *Options) { o.Master = "127.0.0.1:5050" },
		"listen not loopback":   func(o *Options) { o.Listen = "0.0.0.0:5051" },
		"listen without port":   func(o *Options) { o.Listen = "127.0.0.1" },
		"no work dir":           func(o *Options) { o.WorkDir = "" },
		"zero grace":            func(o *Options) { o.ExecutorShutdownGracePeriod = 0 },
		"zero ping timeout":     func(o *Options) { o.MasterPingTimeout = 0 },
		"zero recovery timeout": func(o *Options) { o.RecoveryTimeout = 0 },
		"long reregistration":   func(o *Options) { o.ExecutorReregistrationTimeout = time.Minute },
	} {
		o := NewOptions()
		mutate(o)
		if err := o.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
