package spec

import (
	"strings"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/resources"
)

func TestParseResources(t *testing.T) {
	rs, err := ParseResources("cpus:4;mem:8192;disk(web):20480;ports:[31000-32000, 33000-33001];gpus_type:{a,b}")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 5 {
		t.Fatalf("got %d resources, want 5: %v", len(rs), rs)
	}
	if rs[0].Name != "cpus" || rs[0].Scalar.Value != 4 || rs[0].GetType() != mesos.SCALAR {
		t.Errorf("cpus = %v", rs[0])
	}
	if rs[2].ReservationRole() != "web" {
		t.Errorf("disk role = %q, want web", rs[2].ReservationRole())
	}
	if got := rs[3].Ranges.Range; len(got) != 2 || got[0].Begin != 31000 || got[1].End != 33001 {
		t.Errorf("ports = %v", got)
	}
	if got := rs[4].Set.Item; len(got) != 2 || got[1] != "b" {
		t.Errorf("set = %v", got)
	}
	if err := resources.Validate(rs...); err != nil {
		t.Errorf("parsed resources do not validate: %v", err)
	}
}

func TestParseResourcesErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "no resources",
		"cpus":             "expected name:value",
		"cpus:-1":          "non-negative",
		"cpus:x":           "non-negative",
		"ports:[5-3]":      "begin <= end",
		"ports:[1-2":       "must look like",
		"cpus:1;cpus:2":    "twice",
		"(r):1":            "no name",
		"cpus(:1":          "bad role",
		"s:{}":             "empty",
		"ports:[a-b]":      "begin-end",
		"cpus:NaN":         "non-negative",
		"mem:1;cpus:+Inf":  "non-negative",
		"ports:[]":         "empty",
		"disk(x:1":         "bad role",
		"ok:1;broken":      "expected name:value",
		"ranges:[1-2,3-x]": "begin-end",
	} {
		_, err := ParseResources(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseResources(%q) error = %v, want one containing %q", in, err, want)
		}
	}
}

func TestParseAttributes(t *testing.T) {
	as, err := ParseAttributes("rack:r1; zone:a ;weight:3;slots:[1-4]")
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 4 || as[0].Text.Value != "r1" || as[1].Text.Value != "a" || as[2].Scalar.Value != 3 || as[3].Ranges.Range[0].End != 4 {
		t.Fatalf("attributes = %v", as)
	}
	for _, bad := range []string{"rack", "rack:", "a:1;a:2", ":x", "s:[9-1]"} {
		if _, err := ParseAttributes(bad); err == nil {
			t.Errorf("ParseAttributes(%q) accepted", bad)
		}
	}
	if as, err := ParseAttributes(""); err != nil || len(as) != 0 {
		t.Errorf("empty attributes = %v, %v", as, err)
	}
}

func TestParseWeights(t *testing.T) {
	w, err := ParseWeights("web=2, batch=0.5")
	if err != nil || w["web"] != 2 || w["batch"] != 0.5 {
		t.Fatalf("weights = %v, %v", w, err)
	}
	for _, bad := range []string{"web", "web=0", "web=-1", "web=x"} {
		if _, err := ParseWeights(bad); err == nil {
			t.Errorf("ParseWeights(%q) accepted", bad)
		}
	}
}
