package modea

import (
	"context"
	"strings"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/kubemesos/kubemesos/cmd/kubemesos/app/bench"
)

// A framework flag that `kubemesos framework` does not have, or a bad
// value, stops mode A before it starts anything, naming what is wrong.
func TestStartRefusesBadFrameworkFlags(t *testing.T) {
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--no-such-flag=1"}, "no-such-flag"},
		{[]string{"--offer-hold-waiting=soon"}, "offer-hold-waiting"},
		{[]string{"--scoring", "Random"}, "Random"},
		{[]string{"5m"}, `"5m" is not a flag`},
	} {
		_, err := Start(context.Background(), bench.FrameworkEnv{MesosURL: "http://127.0.0.1:1", RESTConfig: &rest.Config{QPS: 50, Burst: 100}, Flags: tc.flags})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Start with %q: %v, want an error with %q", tc.flags, err, tc.want)
		}
	}
}
