package podbench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Counters are the cumulative cost counters read before and after a run;
// a run's cost is the difference.
type Counters struct {
	// APIWrites are kube-apiserver requests that write (POST, PUT, PATCH,
	// DELETE, APPLY), from apiserver_request_total.
	APIWrites float64 `json:"apiWrites"`
	// MesosCalls are scheduler calls the Mesos master received, from its
	// master/messages_* counters of scheduler calls.
	MesosCalls float64 `json:"mesosCalls"`
	// OffersDeclined is the master's master/offers_declined.
	OffersDeclined float64 `json:"offersDeclined"`
	// WritesByRequest breaks APIWrites down by verb and resource (see
	// APIWritesByRequest); nil when not read.
	WritesByRequest map[string]float64 `json:"writesByRequest,omitempty"`
}

// Sub returns c − before.
func (c Counters) Sub(before Counters) Counters {
	out := Counters{
		APIWrites:      c.APIWrites - before.APIWrites,
		MesosCalls:     c.MesosCalls - before.MesosCalls,
		OffersDeclined: c.OffersDeclined - before.OffersDeclined,
	}
	if c.WritesByRequest != nil {
		out.WritesByRequest = map[string]float64{}
		for k, v := range c.WritesByRequest {
			if d := v - before.WritesByRequest[k]; d != 0 {
				out.WritesByRequest[k] = d
			}
		}
	}
	return out
}

// writeVerbs are the verbs of apiserver_request_total that change state.
var writeVerbs = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "DELETE": true, "APPLY": true}

// APIWrites sums apiserver_request_total over the write verbs in a
// Prometheus text exposition (kube-apiserver's /metrics).
func APIWrites(r io.Reader) (float64, error) {
	var sum float64
	err := eachSample(r, func(name string, labels map[string]string, v float64) {
		if name == "apiserver_request_total" && writeVerbs[labels["verb"]] {
			sum += v
		}
	})
	return sum, err
}

// APIWritesByRequest sums apiserver_request_total over the write verbs by
// verb and resource: "PUT nodes/status", "POST pods/binding", ...
func APIWritesByRequest(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	err := eachSample(r, func(name string, labels map[string]string, v float64) {
		if name != "apiserver_request_total" || !writeVerbs[labels["verb"]] {
			return
		}
		key := labels["verb"] + " " + labels["resource"]
		if sub := labels["subresource"]; sub != "" {
			key += "/" + sub
		}
		out[key] += v
	})
	return out, err
}

// mesosCallMetrics are the master's counters of scheduler calls (one per
// call type, named after the v0 messages, as Apache Mesos names them).
var mesosCallMetrics = []string{
	"master/messages_register_framework",
	"master/messages_unregister_framework",
	"master/messages_launch_tasks",
	"master/messages_decline_offers",
	"master/messages_revive_offers",
	"master/messages_suppress_offers",
	"master/messages_kill_task",
	"master/messages_shutdown_executor",
	"master/messages_status_update_acknowledgement",
	"master/messages_reconcile_tasks",
	"master/messages_framework_to_executor",
	"master/messages_resource_request",
	"master/messages_update_framework",
}

// MesosCounters reads the scheduler calls and declined offers from a Mesos
// master's /metrics/snapshot.
func MesosCounters(r io.Reader) (calls, declined float64, err error) {
	var snapshot map[string]float64
	if err := json.NewDecoder(r).Decode(&snapshot); err != nil {
		return 0, 0, fmt.Errorf("mesos metrics snapshot: %w", err)
	}
	for _, name := range mesosCallMetrics {
		calls += snapshot[name]
	}
	return calls, snapshot["master/offers_declined"], nil
}

// eachSample calls f with every sample of a Prometheus text exposition.
func eachSample(r io.Reader, f func(name string, labels map[string]string, v float64)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, labels, rest, err := parseSeries(line)
		if err != nil {
			return err
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return fmt.Errorf("metrics: no value in %q", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return fmt.Errorf("metrics: value of %q: %w", line, err)
		}
		f(name, labels, v)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// parseSeries splits `name{k="v",...} rest` into its parts.
func parseSeries(line string) (string, map[string]string, string, error) {
	end := strings.IndexAny(line, "{ \t")
	if end < 0 {
		return "", nil, "", fmt.Errorf("metrics: no value in %q", line)
	}
	name, rest := line[:end], line[end:]
	labels := map[string]string{}
	if rest[0] != '{' {
		return name, labels, rest, nil
	}
	i := 1
	for {
		for i < len(rest) && (rest[i] == ',' || rest[i] == ' ') {
			i++
		}
		if i < len(rest) && rest[i] == '}' {
			return name, labels, rest[i+1:], nil
		}
		eq := strings.IndexByte(rest[i:], '=')
		if eq < 0 || i+eq+1 >= len(rest) || rest[i+eq+1] != '"' {
			return "", nil, "", fmt.Errorf("metrics: malformed labels in %q", line)
		}
		key := rest[i : i+eq]
		i += eq + 2
		var value strings.Builder
		for ; i < len(rest) && rest[i] != '"'; i++ {
			if rest[i] == '\\' && i+1 < len(rest) {
				i++
				switch rest[i] {
				case 'n':
					value.WriteByte('\n')
				default:
					value.WriteByte(rest[i])
				}
				continue
			}
			value.WriteByte(rest[i])
		}
		if i >= len(rest) {
			return "", nil, "", fmt.Errorf("metrics: unterminated label value in %q", line)
		}
		labels[key] = value.String()
		i++
	}
}
