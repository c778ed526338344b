package mesosoffers

import (
	"bytes"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Scoring strategies.
const (
	// BinPacking prefers the node with the least left after placement.
	BinPacking = "BinPacking"
	// Spread prefers the node with the most left after placement.
	Spread = "Spread"
)

// Args configure the plugin (pluginConfig args of the MesosOffers plugin).
type Args struct {
	// ScoringStrategy is BinPacking (default) or Spread.
	ScoringStrategy string `json:"scoringStrategy,omitempty"`
	// DefaultRole is a pod's Mesos role when it has no kubemesos.io/role
	// annotation (default "*").
	DefaultRole string `json:"defaultRole,omitempty"`
}

// decodeArgs reads Args from what the scheduler passes: nil, *Args, Args,
// or JSON in a *runtime.Unknown. Unknown fields and strategies are errors.
func decodeArgs(obj runtime.Object) (Args, error) {
	var a Args
	switch v := obj.(type) {
	case nil:
	case *runtime.Unknown:
		if v != nil && len(v.Raw) > 0 {
			dec := json.NewDecoder(bytes.NewReader(v.Raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&a); err != nil {
				return a, fmt.Errorf("%s args: %w", Name, err)
			}
		}
	case *Args:
		if v != nil {
			a = *v
		}
	default:
		return a, fmt.Errorf("%s args: want %s args as JSON, got %T", Name, Name, obj)
	}
	if a.ScoringStrategy == "" {
		a.ScoringStrategy = BinPacking
	}
	if a.ScoringStrategy != BinPacking && a.ScoringStrategy != Spread {
		return a, fmt.Errorf("%s args: scoringStrategy %q: want %s or %s", Name, a.ScoringStrategy, BinPacking, Spread)
	}
	if a.DefaultRole == "" {
		a.DefaultRole = "*"
	}
	return a, nil
}

// DeepCopyObject and GetObjectKind make *Args a runtime.Object, so that
// wiring can pass typed args.
func (a *Args) DeepCopyObject() runtime.Object {
	c := *a
	return &c
}

// GetObjectKind implements runtime.Object.
func (a *Args) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }
