package podbench

import (
	"reflect"
	"time"
)

// Modes of a run.
const (
	// ModeKubemesos is A: mesos-sim agents, the kubemesos framework and its
	// kube-scheduler.
	ModeKubemesos = "A"
	// ModeBaseline is B: plain nodes, the stock kube-scheduler and a fake
	// kubelet.
	ModeBaseline = "B"
)

// Result is one run's figures, as a run reports them to the benchmark
// (JSON) and as the table shows them. Figures that do not apply are zero.
type Result struct {
	// Mode is ModeKubemesos or ModeBaseline; Agents "sim" or "process" for
	// A.
	Mode   string `json:"mode"`
	Agents string `json:"agents,omitempty"`
	Nodes  int    `json:"nodes"`
	Pods   int    `json:"pods"`
	// Rate is the creation rate in pods per second, 0 for as fast as
	// possible.
	Rate float64 `json:"rate,omitempty"`

	PodsPerSecond float64 `json:"podsPerSecond"`
	// P50, P90, P99 and Max are creation→Running latencies in seconds.
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
	// RSSMiB and PeakRSSMiB are the run's process (control plane and what
	// runs the pods) at the end; CPUSeconds its CPU time during the run.
	RSSMiB     float64 `json:"rssMiB"`
	PeakRSSMiB float64 `json:"peakRSSMiB"`
	CPUSeconds float64 `json:"cpuSeconds"`
	// Per scheduled pod.
	APIWritesPerPod  float64 `json:"apiWritesPerPod"`
	MesosCallsPerPod float64 `json:"mesosCallsPerPod"`
	DeclinedPerPod   float64 `json:"offersDeclinedPerPod"`

	// WritesPerPod breaks APIWritesPerPod down by request ("PUT
	// nodes/status"); Medians keeps the first run's.
	WritesPerPod map[string]float64 `json:"writesPerPod,omitempty"`

	// Unavailable says why the mode could not run ("" when it ran).
	Unavailable string `json:"unavailable,omitempty"`
}

// NewResult turns a Measurement into a Result.
func NewResult(mode string, nodes int, rate float64, m Measurement) Result {
	perPod := func(v float64) float64 {
		if m.Running == 0 {
			return 0
		}
		return v / float64(m.Running)
	}
	const mib = 1 << 20
	return Result{
		Mode: mode, Nodes: nodes, Pods: m.Pods, Rate: rate,
		PodsPerSecond:    m.Throughput(),
		P50:              m.Latency.P50.Seconds(),
		P90:              m.Latency.P90.Seconds(),
		P99:              m.Latency.P99.Seconds(),
		Max:              m.Latency.Max.Seconds(),
		RSSMiB:           float64(m.RSS) / mib,
		PeakRSSMiB:       float64(m.PeakRSS) / mib,
		CPUSeconds:       m.CPU.Seconds(),
		APIWritesPerPod:  perPod(m.Cost.APIWrites),
		MesosCallsPerPod: perPod(m.Cost.MesosCalls),
		DeclinedPerPod:   perPod(m.Cost.OffersDeclined),
		WritesPerPod:     perPodMap(m.Cost.WritesByRequest, m.Running),
	}
}

func perPodMap(m map[string]float64, pods int) map[string]float64 {
	if m == nil || pods == 0 {
		return nil
	}
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = v / float64(pods)
	}
	return out
}

// Medians returns the result whose every figure is the median of that
// figure over rs, which must be runs of one mode and size; the mode, sizes
// and agents are rs[0]'s. Unavailable runs are left out; when all are, the
// first one is returned.
func Medians(rs []Result) Result {
	var ran []Result
	for _, r := range rs {
		if r.Unavailable == "" {
			ran = append(ran, r)
		}
	}
	if len(ran) == 0 {
		if len(rs) == 0 {
			return Result{}
		}
		return rs[0]
	}
	out := ran[0]
	v := reflect.ValueOf(&out).Elem()
	for i := range v.NumField() {
		if v.Field(i).Kind() != reflect.Float64 || v.Type().Field(i).Name == "Rate" {
			continue
		}
		xs := make([]float64, len(ran))
		for j := range ran {
			xs[j] = reflect.ValueOf(ran[j]).Field(i).Float()
		}
		v.Field(i).SetFloat(Median(xs))
	}
	return out
}

// seconds formats a latency in seconds for the table.
func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}
