// Package kubescheduler runs the stock kube-scheduler (k8s.io/kubernetes
// v1.37.2) inside the kubemesos process, with every default plugin kept and
// out-of-tree plugins (the MesosOffers plugin) added to one profile. It is,
// with controlplane/, the only place that imports k8s.io/kubernetes; the
// plugins it runs are built from light packages and handed in by the caller.
package kubescheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	schedapp "k8s.io/kubernetes/cmd/kube-scheduler/app"
	schedoptions "k8s.io/kubernetes/cmd/kube-scheduler/app/options"
	"k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	"sigs.k8s.io/yaml"
)

// PluginFactory builds a scheduler plugin; it is the factory type of
// kube-scheduler's out-of-tree registry, spelled with light types only.
type PluginFactory = runtime.PluginFactory

// Plugin is an out-of-tree plugin to enable in the profile.
type Plugin struct {
	Name    string
	Factory PluginFactory
	// Args are the plugin's arguments, marshalled to JSON into the profile's
	// pluginConfig (nil: none).
	Args any
	// Binder replaces the DefaultBinder: the plugin binds pods itself.
	Binder bool
	// FilterFirst runs the plugin's Filter before the default plugins'
	// Filters: kube-scheduler stops at a node's first failing Filter, so a
	// plugin that rejects many nodes cheaply spares them the others.
	FilterFirst bool
}

// Config is one in-process kube-scheduler.
type Config struct {
	// Kubeconfig is the path of the kubeconfig the scheduler uses.
	Kubeconfig string
	// SchedulerName is the profile's name: pods with this spec.schedulerName
	// are scheduled by it (default "default-scheduler").
	SchedulerName string
	// Plugins are enabled at every extension point they implement.
	Plugins []Plugin
	// Dir is where the scheduler's configuration file is written.
	Dir string
	// QPS and Burst limit the scheduler's requests to the API server
	// (kube-scheduler's defaults, 50 and 100, when zero): every bound pod
	// costs a Binding and an event.
	QPS   float32
	Burst int32
}

// Run starts kube-scheduler and blocks until ctx ends or it fails. Only one
// kube-scheduler may run in a process: it registers process-wide state.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Kubeconfig == "" {
		return errors.New("kube-scheduler: no kubeconfig")
	}
	if cfg.Dir == "" {
		return errors.New("kube-scheduler: no directory for its configuration")
	}
	if cfg.SchedulerName == "" {
		cfg.SchedulerName = "default-scheduler"
	}
	configFile := filepath.Join(cfg.Dir, "kube-scheduler.yaml")
	doc, err := configuration(cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("kube-scheduler: %w", err)
	}
	if err := os.WriteFile(configFile, doc, 0o600); err != nil {
		return fmt.Errorf("kube-scheduler: write its configuration: %w", err)
	}
	opts := schedoptions.NewOptions()
	fs := pflag.NewFlagSet("kube-scheduler", pflag.ContinueOnError)
	for _, f := range opts.Flags.FlagSets {
		fs.AddFlagSet(f)
	}
	// No serving: the framework's own endpoint serves health and metrics,
	// and a fixed port would collide with other schedulers on the host.
	if err := fs.Parse([]string{"--config=" + configFile, "--secure-port=0"}); err != nil {
		return fmt.Errorf("kube-scheduler flags: %w", err)
	}
	rest.SetDefaultWarningHandler(rest.NoWarnings{})
	if err := opts.ComponentGlobalsRegistry.Set(); err != nil {
		return fmt.Errorf("kube-scheduler: %w", err)
	}
	var registry []schedapp.Option
	for _, p := range cfg.Plugins {
		registry = append(registry, schedapp.WithPlugin(p.Name, p.Factory))
	}
	cc, sched, err := schedapp.Setup(ctx, opts, registry...)
	if err != nil {
		return fmt.Errorf("kube-scheduler: %w", err)
	}
	if err := schedapp.Run(ctx, cc, sched); err != nil && ctx.Err() == nil {
		return fmt.Errorf("kube-scheduler: %w", err)
	}
	return nil
}

func clientConnection(cfg Config) map[string]any {
	c := map[string]any{"kubeconfig": cfg.Kubeconfig}
	if cfg.QPS > 0 {
		c["qps"] = cfg.QPS
	}
	if cfg.Burst > 0 {
		c["burst"] = cfg.Burst
	}
	return c
}

// configuration renders the KubeSchedulerConfiguration of cfg: one profile,
// the default plugins plus cfg.Plugins at every point they implement.
func configuration(cfg Config) ([]byte, error) {
	type named struct {
		Name string `json:"name"`
	}
	type pluginConfig struct {
		Name string          `json:"name"`
		Args json.RawMessage `json:"args"`
	}
	var enabled, disabled, filterFirst []named
	var pluginConfigs []pluginConfig
	for _, p := range cfg.Plugins {
		if p.Name == "" || p.Factory == nil {
			return nil, errors.New("kube-scheduler: a plugin has no name or no factory")
		}
		enabled = append(enabled, named{p.Name})
		if p.Binder {
			disabled = append(disabled, named{"DefaultBinder"})
		}
		if p.FilterFirst {
			// A multiPoint plugin listed at an extension point too is an
			// override, and kube-scheduler runs overrides first there.
			filterFirst = append(filterFirst, named{p.Name})
		}
		if p.Args != nil {
			raw, err := json.Marshal(p.Args)
			if err != nil {
				return nil, fmt.Errorf("kube-scheduler: args of plugin %s: %w", p.Name, err)
			}
			pluginConfigs = append(pluginConfigs, pluginConfig{Name: p.Name, Args: raw})
		}
	}
	plugins := map[string]any{
		"multiPoint": map[string]any{"enabled": enabled, "disabled": disabled},
	}
	if len(filterFirst) > 0 {
		plugins["filter"] = map[string]any{"enabled": filterFirst}
	}
	doc := map[string]any{
		"apiVersion":       "kubescheduler.config.k8s.io/v1",
		"kind":             "KubeSchedulerConfiguration",
		"leaderElection":   map[string]any{"leaderElect": false},
		"clientConnection": clientConnection(cfg),
		"profiles": []any{map[string]any{
			"schedulerName": cfg.SchedulerName,
			"plugins":       plugins,
			"pluginConfig":  pluginConfigs,
		}},
	}
	return yaml.Marshal(doc)
}
