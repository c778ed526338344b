package master

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/kubemesos/kubemesos/mesos-sim/agentproto"
)

// This file serves mesos-sim's agent protocol (mesos-sim/agentproto): process
// agents register over HTTP and forward status updates, and the master
// reaches each agent at its own endpoint through a remoteLink.

// linkTimeout bounds one master-to-agent request.
const linkTimeout = 10 * time.Second

func (m *Master) registerAgentRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+agentproto.PathRegister, m.serveAgentRegister)
	mux.HandleFunc("POST "+agentproto.PathUpdate, m.serveAgentUpdate)
	mux.HandleFunc("POST "+agentproto.PathExited, m.serveAgentExited)
	mux.HandleFunc("POST "+agentproto.PathMessage, m.serveAgentMessage)
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		http.Error(w, fmt.Sprintf("invalid agent message: %v", err), http.StatusBadRequest)
		return false
	}
	return true
}

func (m *Master) serveAgentRegister(w http.ResponseWriter, r *http.Request) {
	var reg agentproto.Registration
	if !readJSON(w, r, &reg) {
		return
	}
	if reg.Endpoint == "" {
		http.Error(w, "registration has no endpoint", http.StatusBadRequest)
		return
	}
	link := newRemoteLink(reg.Endpoint, reg.Info.GetID().GetValue(), reg.Batches, m)
	id, err := m.RegisterAgent(AgentRegistration{
		Info:         reg.Info,
		Capabilities: reg.Capabilities,
		Endpoint:     reg.Endpoint,
		Version:      reg.Version,
		Reregister:   reg.Reregister,
		Tasks:        reg.Tasks,
		Executors:    reg.Executors,
	}, link)
	switch {
	case errors.Is(err, ErrAgentGone):
		http.Error(w, err.Error(), http.StatusGone)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	link.setAgentID(id)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(agentproto.Registered{AgentID: id})
}

func (m *Master) serveAgentUpdate(w http.ResponseWriter, r *http.Request) {
	var u agentproto.Update
	if !readJSON(w, r, &u) {
		return
	}
	if !m.agentRegistered(u.AgentID) {
		http.Error(w, "agent "+u.AgentID+" is not registered", http.StatusNotFound)
		return
	}
	if err := m.StatusUpdate(u.AgentID, u.FrameworkID, u.Status); err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (m *Master) serveAgentExited(w http.ResponseWriter, r *http.Request) {
	var e agentproto.Exited
	if !readJSON(w, r, &e) {
		return
	}
	if !m.agentRegistered(e.AgentID) {
		http.Error(w, "agent "+e.AgentID+" is not registered", http.StatusNotFound)
		return
	}
	m.ExecutorExited(e.AgentID, e.FrameworkID, e.ExecutorID, e.Status)
	w.WriteHeader(http.StatusAccepted)
}

func (m *Master) serveAgentMessage(w http.ResponseWriter, r *http.Request) {
	var msg agentproto.Message
	if !readJSON(w, r, &msg) {
		return
	}
	if !m.agentRegistered(msg.AgentID) {
		http.Error(w, "agent "+msg.AgentID+" is not registered", http.StatusNotFound)
		return
	}
	m.ExecutorMessage(msg.AgentID, msg.FrameworkID, msg.ExecutorID, msg.Data)
	w.WriteHeader(http.StatusAccepted)
}

func (m *Master) agentRegistered(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.agents[id] != nil
}

// remoteLink is the AgentLink of a process agent: messages are queued and
// posted in order to the agent's endpoint by one goroutine, started when
// there is something to send; to an agent that takes batches, what queued
// up while a request was under way goes in the next request, so that the
// one-by-one launches of a large ACCEPT and a framework's stream of
// acknowledgements do not wait for a round trip each. Pings go out on
// their own so that a slow launch never delays them.
type remoteLink struct {
	url     string
	client  *http.Client
	m       *Master
	batches bool

	mu       sync.Mutex
	agentID  string
	queue    []agentproto.FromMaster
	sending  bool
	answered bool
	pinging  bool
}

// maxBatch bounds the messages of one request to an agent.
const maxBatch = 1000

func newRemoteLink(endpoint, agentID string, batches bool, m *Master) *remoteLink {
	return &remoteLink{
		url:      "http://" + endpoint + agentproto.PathAgent,
		client:   &http.Client{Timeout: linkTimeout, Transport: linkTransport()},
		m:        m,
		batches:  batches,
		agentID:  agentID,
		answered: true,
	}
}

// linkTransport drops idle connections after 5 s: the agent's server closes
// a connection that carried no request within its ReadHeaderTimeout (10 s),
// and a message posted on such a connection just as it closes would be lost.
func linkTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.IdleConnTimeout = 5 * time.Second
	return tr
}

func (l *remoteLink) setAgentID(id string) {
	l.mu.Lock()
	l.agentID = id
	l.mu.Unlock()
}

func (l *remoteLink) send(msg agentproto.FromMaster) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.queue = append(l.queue, msg)
	if !l.sending {
		l.sending = true
		go l.drain()
	}
}

func (l *remoteLink) drain() {
	for {
		l.mu.Lock()
		if len(l.queue) == 0 {
			l.sending = false
			l.mu.Unlock()
			return
		}
		msg := l.queue[0]
		if n := min(len(l.queue), maxBatch); l.batches && n > 1 {
			msg = agentproto.FromMaster{Kind: agentproto.KindBatch, Batch: l.queue[:n:n]}
			l.queue = l.queue[n:]
		} else {
			l.queue = l.queue[1:]
		}
		msg.AgentID = l.agentID
		l.mu.Unlock()
		if err := l.post(msg); err != nil {
			l.m.log.Warn("cannot reach agent; message dropped", "agent_id", msg.AgentID, "kind", msg.Kind, "messages", max(len(msg.Batch), 1), "error", err)
		}
	}
}

func (l *remoteLink) post(msg agentproto.FromMaster) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	resp, err := l.client.Post(l.url, "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		text, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("agent answered %s: %s", resp.Status, bytes.TrimSpace(text))
	}
	return nil
}

// RunTasks implements AgentLink.
func (l *remoteLink) RunTasks(r RunTasks) {
	l.send(agentproto.FromMaster{Kind: agentproto.KindRunTasks, FrameworkID: r.Framework.GetID().GetValue(), Run: &agentproto.RunTasks{
		Framework: r.Framework, Executor: r.Executor, Tasks: r.Tasks, Group: r.Group,
	}})
}

// KillTask implements AgentLink.
func (l *remoteLink) KillTask(frameworkID, taskID string, policy *mesos.KillPolicy) {
	l.send(agentproto.FromMaster{Kind: agentproto.KindKillTask, FrameworkID: frameworkID, TaskID: taskID, KillPolicy: policy})
}

// ShutdownExecutor implements AgentLink.
func (l *remoteLink) ShutdownExecutor(frameworkID, executorID string) {
	l.send(agentproto.FromMaster{Kind: agentproto.KindShutdownExecutor, FrameworkID: frameworkID, ExecutorID: executorID})
}

// ShutdownFramework implements AgentLink.
func (l *remoteLink) ShutdownFramework(frameworkID string) {
	l.send(agentproto.FromMaster{Kind: agentproto.KindShutdownFramework, FrameworkID: frameworkID})
}

// AcknowledgeUpdate implements AgentLink.
func (l *remoteLink) AcknowledgeUpdate(frameworkID, taskID string, uuid []byte) {
	l.send(agentproto.FromMaster{Kind: agentproto.KindAcknowledge, FrameworkID: frameworkID, TaskID: taskID, UUID: uuid})
}

// FrameworkMessage implements AgentLink.
func (l *remoteLink) FrameworkMessage(frameworkID, executorID string, data []byte) {
	l.send(agentproto.FromMaster{Kind: agentproto.KindFrameworkMessage, FrameworkID: frameworkID, ExecutorID: executorID, Data: data})
}

// Shutdown implements AgentLink.
func (l *remoteLink) Shutdown(reason string) {
	l.send(agentproto.FromMaster{Kind: agentproto.KindShutdown, Reason: reason})
}

// Ping implements AgentLink: it reports whether the agent answered the
// previous ping, and sends the next one.
func (l *remoteLink) Ping() bool {
	l.mu.Lock()
	ok := l.answered
	l.answered = false
	start := !l.pinging
	l.pinging = true
	id := l.agentID
	l.mu.Unlock()
	if start {
		go func() {
			err := l.post(agentproto.FromMaster{Kind: agentproto.KindPing, AgentID: id})
			l.mu.Lock()
			l.pinging = false
			if err == nil {
				l.answered = true
			}
			l.mu.Unlock()
		}()
	}
	return ok
}
