package podbench

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Row is one line of the table: the median of a mode's runs at one size.
type Row struct {
	Median Result
	Runs   int
}

// Columns of the table; the e2e test and readers find figures by these
// names.
var Columns = []string{
	"nodes / pods", "create rate", "mode", "runs", "pods/s", "p50", "p90", "p99",
	"RSS MiB", "CPU s", "API writes / pod", "Mesos calls / pod", "offers declined / pod",
}

// WriteTable renders rows as a Markdown table, followed by one line per
// size that has both modes: the ratio A/B of pods/s and the cost of A over
// B per 1,000 nodes and per 10,000 pods.
func WriteTable(w io.Writer, rows []Row) error {
	var b strings.Builder
	b.WriteString("| " + strings.Join(Columns, " | ") + " |\n")
	b.WriteString(strings.Repeat("|---", len(Columns)) + "|\n")
	for _, row := range rows {
		r := row.Median
		mode := r.Mode
		if r.Agents != "" {
			mode += " (" + r.Agents + " agents)"
		}
		if r.Unavailable != "" {
			cells := []string{size(r), rate(r), mode, "0", "unavailable: " + oneLine(r.Unavailable)}
			for len(cells) < len(Columns) {
				cells = append(cells, "—")
			}
			b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %.0f | %s | %s | %s | %.0f | %.1f | %.2f | %.2f | %.2f |\n",
			size(r), rate(r), mode, row.Runs, r.PodsPerSecond, seconds(r.P50), seconds(r.P90), seconds(r.P99),
			r.RSSMiB, r.CPUSeconds, r.APIWritesPerPod, r.MesosCallsPerPod, r.DeclinedPerPod)
	}
	b.WriteString("\n")
	for _, c := range compare(rows) {
		b.WriteString(c + "\n")
	}
	for _, row := range rows {
		if w := row.Median.WritesPerPod; len(w) > 0 {
			fmt.Fprintf(&b, "- API writes per pod, %s at %s, %s: %s\n", row.Median.Mode, size(row.Median), rate(row.Median), breakdown(w))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// compare states A/B for each size and rate that has both modes.
func compare(rows []Row) []string {
	type key struct {
		nodes, pods int
		rate        float64
	}
	by := map[key]map[string]Result{}
	var order []key
	for _, row := range rows {
		r := row.Median
		if r.Unavailable != "" || r.Agents == "process" {
			continue
		}
		k := key{r.Nodes, r.Pods, r.Rate}
		if by[k] == nil {
			by[k] = map[string]Result{}
			order = append(order, k)
		}
		by[k][r.Mode] = r
	}
	var out []string
	for _, k := range order {
		a, okA := by[k][ModeKubemesos]
		b, okB := by[k][ModeBaseline]
		if !okA || !okB || b.PodsPerSecond == 0 {
			continue
		}
		ratio := a.PodsPerSecond / b.PodsPerSecond
		line := fmt.Sprintf("- %s, %s: A/B pods/s = **%.2f**", size(a), rate(a), ratio)
		if k.rate == 0 {
			verdict := "met"
			if ratio < 0.9 {
				verdict = fmt.Sprintf("missed by %.0f %%", (0.9-ratio)/0.9*100)
			}
			line += fmt.Sprintf(" (target ≥ 0.9: %s)", verdict)
		}
		line += fmt.Sprintf("; A − B: %+.0f MiB RSS per 1,000 nodes, %+.1f CPU s per 10,000 pods",
			(a.RSSMiB-b.RSSMiB)/(float64(k.nodes)/1000), (a.CPUSeconds-b.CPUSeconds)/(float64(k.pods)/10000))
		out = append(out, line)
	}
	return out
}

func size(r Result) string { return fmt.Sprintf("%s / %s", thousands(r.Nodes), thousands(r.Pods)) }

func rate(r Result) string {
	if r.Rate == 0 {
		return "max"
	}
	return fmt.Sprintf("%g/s", r.Rate)
}

// thousands writes n with commas: 10000 → 10,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", "/")
}

// breakdown lists the largest entries of w, largest first (ties by name).
func breakdown(w map[string]float64) string {
	keys := make([]string, 0, len(w))
	for k := range w {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if w[keys[i]] != w[keys[j]] {
			return w[keys[i]] > w[keys[j]]
		}
		return keys[i] < keys[j]
	})
	const most = 8
	var parts []string
	for i, k := range keys {
		if i == most {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("%s %.2f", k, w[k]))
	}
	return strings.Join(parts, ", ")
}
