package simagent

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Handler serves fault injection for the cluster's agents:
//
//	GET  /sim/v1/agents                       list agents and their condition
//	POST /sim/v1/agents/{id}/partition        cut the agent off (tasks keep running)
//	POST /sim/v1/agents/{id}/heal             end the partition; the agent re-registers
//	POST /sim/v1/agents/{id}/kill             the agent dies with its tasks
//	POST /sim/v1/agents/{id}/restart          a killed agent comes back, empty
func (c *Cluster) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sim/v1/agents", c.serveList)
	mux.HandleFunc("POST /sim/v1/agents/{id}/{action}", c.serveAction)
	return mux
}

type agentStatus struct {
	ID          string `json:"id"`
	Hostname    string `json:"hostname"`
	Partitioned bool   `json:"partitioned"`
	Down        bool   `json:"down"`
}

func (c *Cluster) serveList(w http.ResponseWriter, _ *http.Request) {
	var out []agentStatus
	for _, a := range c.Agents() {
		a.mu.Lock()
		out = append(out, agentStatus{ID: a.id, Hostname: a.spec.Hostname, Partitioned: a.partitioned, Down: a.down})
		a.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Hostname < out[j].Hostname })
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"agents": out})
}

func (c *Cluster) serveAction(w http.ResponseWriter, r *http.Request) {
	id, action := r.PathValue("id"), r.PathValue("action")
	a := c.Agent(id)
	if a == nil {
		http.Error(w, fmt.Sprintf("no simulated agent %q", id), http.StatusNotFound)
		return
	}
	var err error
	switch strings.ToLower(action) {
	case "partition":
		a.Partition()
	case "heal":
		err = a.Heal()
	case "kill":
		a.Kill()
	case "restart":
		err = a.Restart()
	default:
		http.Error(w, fmt.Sprintf("unknown action %q: use partition, heal, kill or restart", action), http.StatusBadRequest)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	w.WriteHeader(http.StatusOK)
}
