package app

import (
	"testing"

	"github.com/kubemesos/kubemesos/executor/protocol"
)

func TestApplyProtocolMinor(t *testing.T) {
	defer protocol.SetMinorForTesting(protocol.Minor)
	for _, tc := range []struct {
		value     string
		wantErr   bool
		wantMinor uint32
	}{
		{"", false, protocol.Minor},
		{"3", false, 3},
		{"0", false, 0},
		{"x", true, 0},
		{"-1", true, 0},
		{"4294967296", true, 0},
	} {
		t.Run(tc.value, func(t *testing.T) {
			protocol.SetMinorForTesting(protocol.Minor)
			err := applyProtocolMinor(func(name string) string {
				if name != ProtocolMinorEnv {
					t.Errorf("read %s", name)
				}
				return tc.value
			})
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want one: %v", err, tc.wantErr)
			}
			if !tc.wantErr && protocol.Current().GetMinor() != tc.wantMinor {
				t.Errorf("minor %d, want %d", protocol.Current().GetMinor(), tc.wantMinor)
			}
		})
	}
}
