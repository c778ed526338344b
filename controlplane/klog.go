package controlplane

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"k8s.io/klog/v2"
)

// RouteKlog sends the process-wide klog output (kube-apiserver,
// kube-controller-manager, client-go) to <logs>/kubernetes.log, and also to
// tee when it is not nil (the terminal with -v). verbosity is klog's -v.
// klog is process-global, so call this once, before starting components.
func RouteKlog(logsDir string, verbosity int, tee io.Writer) (io.Closer, error) {
	f, err := os.OpenFile(filepath.Join(logsDir, "kubernetes.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("component log: %w", err)
	}
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	for name, value := range map[string]string{
		"logtostderr":     "false",
		"alsologtostderr": "false",
		"stderrthreshold": "FATAL",
		"one_output":      "true",
		"v":               strconv.Itoa(verbosity),
	} {
		if err := fs.Set(name, value); err != nil {
			f.Close()
			return nil, fmt.Errorf("klog flag %s: %w", name, err)
		}
	}
	var w io.Writer = f
	if tee != nil {
		w = io.MultiWriter(f, tee)
	}
	klog.SetOutput(w)
	return closerFunc(func() error {
		klog.Flush()
		return f.Close()
	}), nil
}

type closerFunc func() error

func (c closerFunc) Close() error { return c() }
