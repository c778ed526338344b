package endpoint

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Server is the framework's endpoint: plain HTTP and HTTPS on one port.
type Server struct {
	cfg  Config
	log  *slog.Logger
	cert tls.Certificate
	srv  *http.Server
	// logStreams counts the container logs being answered.
	logStreams atomic.Int64

	mu       sync.Mutex
	ln       net.Listener
	cancel   context.CancelFunc
	serveErr chan error
}

// New validates cfg and prepares the server (loading or generating the
// serving certificate); Start listens.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(cfg.Listen)
	cert, err := servingCertificate(cfg.ServingCert, cfg.ServingKey, host, cfg.Clock.Now())
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, cert: cert}
	if cfg.ClientCA == nil {
		s.log.Warn("no kubelet client CA given: the kubelet API (container logs) is open to any HTTPS client")
	}
	if cfg.ServingCert == "" {
		s.log.Info("serving HTTPS with a self-signed certificate", "hosts", append(cert.Leaf.DNSNames, ipStrings(cert.Leaf.IPAddresses)...))
	}
	s.srv = &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return s, nil
}

func ipStrings(ips []net.IP) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out
}

// tlsConfig is the HTTPS side's: client certificates are requested, not
// required, and checked per request (a missing or untrusted one is a 401,
// and /healthz needs none). HTTP/1.1 only.
func (s *Server) tlsConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{s.cert},
		ClientAuth:   tls.RequestClientCert,
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
	}
}

// Start listens on Config.Listen and serves in the background until Stop;
// it returns once the port is bound. Requests' contexts derive from ctx, so
// ending ctx ends followed logs.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return errors.New("endpoint already started")
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("endpoint cannot listen on %s: %w", s.cfg.Listen, err)
	}
	baseCtx, cancel := context.WithCancel(ctx)
	s.srv.BaseContext = func(net.Listener) context.Context { return baseCtx }
	s.ln = newSniffListener(ln, s.tlsConfig(), sniffTimeout)
	s.cancel = cancel
	s.serveErr = make(chan error, 1)
	s.log.Info("framework endpoint listening", "address", ln.Addr().String())
	go func() {
		err := s.srv.Serve(s.ln)
		if !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("framework endpoint stopped serving", "error", err)
		}
		s.serveErr <- err
	}()
	return nil
}

// Addr is the address listened on (host:port), "" before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Stop ends followed logs, then shuts the server down, waiting for requests
// in flight until ctx ends (then closing their connections).
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	ln, cancel := s.ln, s.cancel
	s.mu.Unlock()
	if ln == nil {
		return nil
	}
	cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
		return fmt.Errorf("endpoint shutdown: %w", err)
	}
	return nil
}
