package master

import "net/http"

// Handler returns the master's HTTP API: the scheduler API under both of
// Mesos' paths, the operator and state endpoints, and the agent protocol
// of process agents (mesos-sim/agentproto).
func (m *Master) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/api/v1/scheduler", "/master/api/v1/scheduler"} {
		mux.HandleFunc(p, m.serveScheduler)
	}
	m.registerOperatorRoutes(mux)
	m.registerAgentRoutes(mux)
	return mux
}
