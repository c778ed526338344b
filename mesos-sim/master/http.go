package master

import "net/http"

// Handler returns the master's HTTP API: the scheduler API under both of
// Mesos' paths, and the operator and state endpoints.
func (m *Master) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/api/v1/scheduler", "/master/api/v1/scheduler"} {
		mux.HandleFunc(p, m.serveScheduler)
	}
	m.registerOperatorRoutes(mux)
	return mux
}
