package podbench

import (
	"reflect"
	"strings"
	"testing"
)

func TestMedians(t *testing.T) {
	rs := []Result{
		{Mode: "A", Nodes: 50, Pods: 200, PodsPerSecond: 100, P99: 3, RSSMiB: 10},
		{Mode: "A", Nodes: 50, Pods: 200, Unavailable: "no framework"},
		{Mode: "A", Nodes: 50, Pods: 200, PodsPerSecond: 300, P99: 1, RSSMiB: 30},
		{Mode: "A", Nodes: 50, Pods: 200, PodsPerSecond: 200, P99: 2, RSSMiB: 20},
	}
	got := Medians(rs)
	want := Result{Mode: "A", Nodes: 50, Pods: 200, PodsPerSecond: 200, P99: 2, RSSMiB: 20}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Medians = %+v, want %+v", got, want)
	}
	if got := Medians(rs[1:2]); got.Unavailable == "" {
		t.Errorf("Medians of unavailable runs = %+v, want the reason kept", got)
	}
}

func TestWriteTable(t *testing.T) {
	rows := []Row{
		{Runs: 3, Median: Result{Mode: "A", Agents: "sim", Nodes: 1000, Pods: 10000, PodsPerSecond: 450, P50: 0.5, P90: 1.25, P99: 2, RSSMiB: 900, CPUSeconds: 60, APIWritesPerPod: 3.5, MesosCallsPerPod: 2.1, DeclinedPerPod: 0.3}},
		{Runs: 3, Median: Result{Mode: "B", Nodes: 1000, Pods: 10000, PodsPerSecond: 500, P50: 0.4, P90: 1, P99: 1.5, RSSMiB: 800, CPUSeconds: 50, APIWritesPerPod: 3,
			WritesPerPod: map[string]float64{"POST pods": 1, "POST pods/binding": 1, "PATCH pods/status": 1, "PUT leases": 0.004}}},
		{Runs: 1, Median: Result{Mode: "A", Agents: "process", Nodes: 4, Pods: 200, Rate: 20, Unavailable: "no executor | here"}},
	}
	var b strings.Builder
	if err := WriteTable(&b, rows); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| nodes / pods | create rate | mode | runs | pods/s |",
		"| 1,000 / 10,000 | max | A (sim agents) | 3 | 450 | 500ms | 1.25s | 2s | 900 | 60.0 | 3.50 | 2.10 | 0.30 |",
		"| 1,000 / 10,000 | max | B | 3 | 500 | 400ms | 1s | 1.5s | 800 | 50.0 | 3.00 | 0.00 | 0.00 |",
		"| 4 / 200 | 20/s | A (process agents) | 0 | unavailable: no executor / here | — |",
		"- 1,000 / 10,000, max: A/B pods/s = **0.90** (target ≥ 0.9: met); A − B: +100 MiB RSS per 1,000 nodes, +10.0 CPU s per 10,000 pods",
		"- API writes per pod, B at 1,000 / 10,000, max: PATCH pods/status 1.00, POST pods 1.00, POST pods/binding 1.00, PUT leases 0.00",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(line, "|") && strings.Count(line, "|") != len(Columns)+1 {
			t.Errorf("row with %d cells, want %d: %q", strings.Count(line, "|")-1, len(Columns), line)
		}
	}
}

func TestCompareMissedTarget(t *testing.T) {
	got := compare([]Row{
		{Median: Result{Mode: "A", Nodes: 5000, Pods: 50000, PodsPerSecond: 300}},
		{Median: Result{Mode: "B", Nodes: 5000, Pods: 50000, PodsPerSecond: 500}},
	})
	if len(got) != 1 || !strings.Contains(got[0], "**0.60** (target ≥ 0.9: missed by 33 %)") {
		t.Errorf("compare = %q", got)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 50000: "50,000", 1234567: "1,234,567", -1000: "-1,000"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestReplaceSection(t *testing.T) {
	block := func(s string) string { return SectionBegin + "\n" + s + "\n" + SectionEnd + "\n" }
	for _, tc := range []struct {
		name, doc, want string
		wantErr         bool
	}{
		{"empty", "", block("new"), false},
		{"append", "# Benchmarks\n\ntext", "# Benchmarks\n\ntext\n\n" + block("new"), false},
		{"replace", "# B\n\n" + block("old\nlines") + "\n## after\n", "# B\n\n" + block("new") + "\n## after\n", false},
		{"out of order", SectionEnd + "\n" + SectionBegin + "\n", "", true},
		{"end only", "x\n" + SectionEnd + "\n", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReplaceSection(tc.doc, "new\n")
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("ReplaceSection =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}
