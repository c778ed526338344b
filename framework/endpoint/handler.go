package endpoint

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"time"
)

// ExecutorPath is where agents' fetchers download the executor (the
// kubemesos binary, or the slim executor it embeds), over plain HTTP.
const ExecutorPath = "/executor/kubemesos"

// handler routes a request by how it came: plain HTTP gets the executor,
// /healthz and /metrics; HTTPS gets /healthz and the kubelet API.
func (s *Server) handler() http.Handler {
	plain := http.NewServeMux()
	plain.HandleFunc("GET "+ExecutorPath, s.serveExecutor)
	plain.HandleFunc("GET /healthz", serveHealthz)
	if s.cfg.Metrics != nil {
		plain.Handle("GET /metrics", s.cfg.Metrics)
	}
	for _, p := range kubeletPrefixes {
		plain.HandleFunc(p, func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "kubemesos: the kubelet API is served over HTTPS only", http.StatusBadRequest)
		})
	}

	secure := http.NewServeMux()
	secure.HandleFunc("GET /healthz", serveHealthz)
	secure.Handle("/", s.authenticated(s.kubeletAPI()))

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			secure.ServeHTTP(w, r)
			return
		}
		plain.ServeHTTP(w, r)
	})
}

func serveHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok"))
}

// serveExecutor serves the executor image or the kubemesos binary whole
// (with Content-Length; ranges and conditional requests as
// http.ServeContent answers them).
func (s *Server) serveExecutor(w http.ResponseWriter, r *http.Request) {
	if len(s.cfg.ExecutorImage) > 0 {
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(s.cfg.ExecutorImage))
		return
	}
	if s.cfg.ExecutorBinary == "" {
		http.Error(w, "kubemesos: this framework serves no executor binary", http.StatusNotFound)
		return
	}
	f, err := os.Open(s.cfg.ExecutorBinary)
	if err != nil {
		s.log.Error("cannot open the executor binary", "path", s.cfg.ExecutorBinary, "error", err)
		http.Error(w, fmt.Sprintf("kubemesos: cannot open the executor binary: %v", err), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		http.Error(w, fmt.Sprintf("kubemesos: cannot read the executor binary: %v", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", fi.ModTime(), f)
}
