package endpoint

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// kubeletPrefixes are the kubelet API paths this endpoint answers.
var kubeletPrefixes = []string{"/containerLogs/", "/exec/", "/attach/", "/portForward/", "/run/"}

// unsupported are the kubelet's streaming verbs, which need a container
// runtime to enter: the process runtime has none.
var unsupported = map[string]string{
	"/exec/":        "exec",
	"/attach/":      "attach",
	"/portForward/": "port-forward",
	"/run/":         "run",
}

// kubeletAPI is the part of the kubelet API that kube-apiserver calls.
func (s *Server) kubeletAPI() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", s.serveContainerLogs)
	mux.HandleFunc("GET /containerLogs/", serveIncompleteLogPath)
	for prefix, verb := range unsupported {
		msg := fmt.Sprintf("kubemesos: %s is not supported by the process runtime", verb)
		mux.HandleFunc(prefix, func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, msg, http.StatusNotImplemented)
		})
	}
	return mux
}

// authenticated lets a request through when its client certificate is
// signed by Config.ClientCA (any request when there is no CA), else 401.
func (s *Server) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.ClientCA != nil {
			if err := verifyClient(r.TLS, s.cfg.ClientCA, s.cfg.Clock.Now()); err != nil {
				s.log.Debug("kubelet API request refused", "path", r.URL.Path, "remote", r.RemoteAddr, "reason", err)
				http.Error(w, "Unauthorized: "+err.Error(), http.StatusUnauthorized)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// serveIncompleteLogPath answers a /containerLogs path that lacks a part
// as the kubelet does (ServeMux has already cleaned away empty segments).
func serveIncompleteLogPath(w http.ResponseWriter, r *http.Request) {
	parts := append(strings.Split(strings.TrimPrefix(r.URL.Path, "/containerLogs/"), "/"), "", "")
	switch {
	case parts[1] == "":
		http.Error(w, `{"message": "Missing podID."}`, http.StatusBadRequest)
	case parts[2] == "":
		http.Error(w, `{"message": "Missing container name."}`, http.StatusBadRequest)
	default:
		http.NotFound(w, r)
	}
}

// serveContainerLogs is GET /containerLogs/{namespace}/{pod}/{container}
// with the query of v1.PodLogOptions, answered as the kubelet does.
func (s *Server) serveContainerLogs(w http.ResponseWriter, r *http.Request) {
	req := logRequest{namespace: r.PathValue("namespace"), pod: r.PathValue("pod"), container: r.PathValue("container")}
	opts, err := parseLogOptions(r.URL.Query())
	if err != nil {
		http.Error(w, "Invalid request: "+err.Error(), http.StatusUnprocessableEntity)
		return
	}
	req.opts = opts
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "kubemesos: the response cannot be streamed", http.StatusInternalServerError)
		return
	}
	log := s.log.With("namespace", req.namespace, "pod", req.pod, "container", req.container)

	ctx := r.Context()
	f, start, err := s.openLog(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		code := http.StatusBadRequest // the kubelet's answer when it cannot give the log
		switch {
		case errors.Is(err, ErrNotFound):
			code = http.StatusNotFound
		case errors.Is(err, errAgent):
			code = http.StatusBadGateway
		}
		log.Debug("container log not served", "code", code, "error", err)
		http.Error(w, err.Error(), code)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	s.logStreams.Add(1)
	defer s.logStreams.Add(-1)
	if err := s.copyLog(ctx, w, flusher.Flush, req, f, start); err != nil && !errors.Is(err, context.Canceled) {
		// The answer has begun: all that is left is to end it early.
		log.Warn("container log ended early", "agent", f.agentURL, "path", f.path, "error", strings.TrimSpace(err.Error()))
	}
}
