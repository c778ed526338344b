package bench

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// A child run gets the framework flags of the parent, each as it was given.
func TestRunArgsCarryFrameworkFlags(t *testing.T) {
	want := []string{"--offer-hold-waiting=5m", "--scoring", "BinPacking", "--decline-refuse=1s,2s"}
	parent := RunOptions{Mode: "A", Agents: "sim", Nodes: 10, Pods: 20, Clients: 2, LogLevel: "info", FrameworkFlags: want}
	args := parent.args()
	if args[0] != "bench" || args[1] != "run" {
		t.Fatalf("args %q: want bench run first", args)
	}
	child := NewRunOptions()
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	child.AddFlags(fs)
	if err := fs.Parse(args[2:]); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	if !slices.Equal(child.FrameworkFlags, want) {
		t.Errorf("child framework flags %q, want %q", child.FrameworkFlags, want)
	}
	if child.Nodes != 10 || child.Pods != 20 || child.Mode != "A" {
		t.Errorf("child options %+v: the other flags are lost", child)
	}
}

// Figures of another configuration never replace the published table.
func TestFrameworkFlagsNeedNoWrite(t *testing.T) {
	o := NewOptions()
	o.FrameworkFlags = []string{"--offer-hold-waiting=5m"}
	err := o.Validate()
	if err == nil || !strings.Contains(err.Error(), "--no-write") {
		t.Fatalf("Validate with --framework-flag and no --no-write: %v, want an error naming --no-write", err)
	}
	o.NoWrite = true
	if err := o.Validate(); err != nil {
		t.Fatalf("Validate with --no-write: %v", err)
	}
}
