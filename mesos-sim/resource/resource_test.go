package resource_test

import (
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/resources"

	"github.com/kubemesos/kubemesos/mesos-sim/resource"
	"github.com/kubemesos/kubemesos/mesos-sim/spec"
)

func parse(t *testing.T, s string) mesos.Resources {
	t.Helper()
	if s == "" {
		return nil
	}
	rs, err := spec.ParseResources(s)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// The arithmetic must agree with mesos-go's (the reference, with deep
// copies) on every case, and must not change its arguments.
func TestAgreesWithMesosGo(t *testing.T) {
	cases := []struct{ a, b string }{
		{"cpus:4;mem:1024;ports:[31000-32000]", "cpus:1;mem:512;ports:[31000-31009]"},
		{"cpus:4;mem:1024", "cpus:4;mem:1024"},
		{"cpus:4;mem:1024", "cpus:5"},
		{"cpus(web):2;cpus:2;mem:64", "cpus(web):1;cpus:2"},
		{"cpus:0.3;mem:10", "cpus:0.1;mem:10"},
		{"disk:100;ports:[1-10, 20-30]", "ports:[5-5, 25-30]"},
		{"cpus:1", "gpus:1"},
	}
	for _, c := range cases {
		a, b := parse(t, c.a), parse(t, c.b)
		aBefore, bBefore := a.String(), b.String()
		if got, want := resource.Plus(a, b...), a.Plus(b...); !resources.Equivalent(got, want) {
			t.Errorf("%s + %s = %v, mesos-go says %v", c.a, c.b, got, want)
		}
		if got, want := resource.Minus(a, b...), a.Minus(b...); !resources.Equivalent(got, want) {
			t.Errorf("%s - %s = %v, mesos-go says %v", c.a, c.b, got, want)
		}
		if got, want := resource.Contains(a, b), resources.ContainsAll(a, b); got != want {
			t.Errorf("%s contains %s: %v, mesos-go says %v", c.a, c.b, got, want)
		}
		if got, want := resource.ContainsNormalized(a, b), resources.ContainsAll(a, b); got != want {
			t.Errorf("%s contains (normalized) %s: %v, mesos-go says %v", c.a, c.b, got, want)
		}
		if a.String() != aBefore || b.String() != bBefore {
			t.Errorf("arguments changed: %v, %v (were %s, %s)", a, b, aBefore, bBefore)
		}
	}
}

// Contains takes each wanted resource from what is left, so two entries
// that together exceed what is held are refused.
func TestContainsCountsRepeatedEntries(t *testing.T) {
	have := parse(t, "cpus:1")
	want := mesos.Resources{resources.NewCPUs(0.6).Resource, resources.NewCPUs(0.6).Resource}
	if resource.Contains(have, want) {
		t.Fatal("cpus:1 cannot hold cpus:0.6 twice")
	}
}

func TestIntersectTakesOnlyWhatIsHeld(t *testing.T) {
	got := resource.Intersect(parse(t, "cpus:1;mem:512"), parse(t, "cpus:2;mem:256;disk:10"))
	if want := parse(t, "cpus:1;mem:256"); !resources.Equivalent(got, want) {
		t.Fatalf("intersect: %v, want %v", got, want)
	}
}

func TestCloneIsIndependent(t *testing.T) {
	a := parse(t, "cpus:1;ports:[1-2]")
	c := resource.Clone(a)
	c[0].Scalar.Value = 7
	c[1].Ranges.Range[0].End = 9
	if a.String() != parse(t, "cpus:1;ports:[1-2]").String() {
		t.Fatalf("changing the clone changed the original: %v", a)
	}
}
