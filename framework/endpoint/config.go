package endpoint

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/kubemesos/kubemesos/internal/clock"
)

// Defaults of Config.
const (
	// DefaultPollInterval is how often a followed log is read again.
	DefaultPollInterval = 250 * time.Millisecond
	// DefaultAgentTimeout bounds one request to an agent's /files API.
	DefaultAgentTimeout = 30 * time.Second
	// sniffTimeout is how long a new connection may stay silent before
	// its first byte tells plain HTTP from TLS.
	sniffTimeout = 10 * time.Second
)

// ErrNotFound is wrapped by a LogLocator's error when the pod, the container
// or the asked-for log (previous run) does not exist; the kubelet API then
// answers 404 with the error's text.
var ErrNotFound = errors.New("not found")

// LogLocator finds a container's log on its agent. A followed log asks it
// again at every poll (to notice a restart), so it should answer from
// memory.
type LogLocator interface {
	// LogFile returns the agent's base URL (e.g. http://127.0.0.1:5051) and the absolute path of the
	// container's log file (previous=true: the one of the previous run), or an error wrapping ErrNotFound.
	LogFile(namespace, pod, container string, previous bool) (agentURL, path string, err error)
}

// RunningReporter may also be implemented by a LogLocator. When it is, a
// followed log ends, as the kubelet's does, once the container no longer
// runs and its log has been read to the end; without it a followed log is
// polled until the client goes away or the pod is gone.
type RunningReporter interface {
	Running(namespace, pod, container string) bool
}

// Config configures a Server. Zero values of optional fields fall back to
// the defaults above.
type Config struct {
	// Listen is host:port; an empty host listens on every interface.
	Listen string
	// ExecutorBinary is the path of the kubemesos binary served at
	// /executor/kubemesos (e.g. os.Executable()); empty: not served (404).
	ExecutorBinary string
	// ExecutorImage, if not empty, is served at /executor/kubemesos instead,
	// from memory (the slim executor embedded in kubemesos); give it or
	// ExecutorBinary, not both.
	ExecutorImage []byte
	// Metrics serves /metrics; nil: not served (404).
	Metrics http.Handler
	// Logs finds container logs for the kubelet API's /containerLogs.
	Logs LogLocator
	// ServingCert and ServingKey are the HTTPS certificate and key, each
	// either PEM text or the path of a PEM file. Both empty: a self-signed
	// ECDSA P-256 certificate for the listen host is made at New, in memory.
	ServingCert, ServingKey string
	// ClientCA verifies the client certificates of kubelet API requests
	// (the CA of kube-apiserver's --kubelet-client-certificate). Nil: every
	// request is allowed and a warning is logged once at New.
	ClientCA *x509.CertPool
	Logger   *slog.Logger
	// PollInterval is how often a followed log is read again.
	PollInterval time.Duration
	// AgentClient talks to the agents' /files API (default: a client with
	// DefaultAgentTimeout per request).
	AgentClient *http.Client
	// Clock tells the time for sinceSeconds and paces polling.
	Clock clock.Clock
}

// withDefaults validates c and fills in its defaults.
func (c Config) withDefaults() (Config, error) {
	_, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return c, fmt.Errorf("listen address %q must be host:port: %w", c.Listen, err)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || (p == 0 && port != "0") {
		return c, fmt.Errorf("listen address %q: port %q is not a number from 0 to 65535", c.Listen, port)
	}
	if c.Logs == nil {
		return c, errors.New("a log locator (Config.Logs) is required")
	}
	if c.ExecutorBinary != "" && len(c.ExecutorImage) > 0 {
		return c, errors.New("give an executor binary or an executor image, not both")
	}
	if c.ExecutorBinary != "" {
		fi, err := os.Stat(c.ExecutorBinary)
		if err != nil {
			return c, fmt.Errorf("executor binary: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return c, fmt.Errorf("executor binary %s is not a regular file", c.ExecutorBinary)
		}
	}
	if (c.ServingCert == "") != (c.ServingKey == "") {
		return c, errors.New("give both a serving certificate and its key, or neither")
	}
	if c.PollInterval < 0 {
		return c, fmt.Errorf("poll interval %v is negative", c.PollInterval)
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.AgentClient == nil {
		c.AgentClient = &http.Client{Timeout: DefaultAgentTimeout}
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	return c, nil
}
