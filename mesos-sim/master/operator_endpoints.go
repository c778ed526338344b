package master

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

// defaultTaskLimit is how many tasks /master/tasks lists unless ?limit=
// says otherwise (Mesos' TASK_LIMIT).
const defaultTaskLimit = 100

// serveTasks is /master/tasks: tasks of all frameworks, newest first (or
// oldest with ?order=asc), paged by ?limit= and ?offset=, filtered by
// ?framework_id= and ?task_id=.
func (op *operator) serveTasks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, offset := defaultTaskLimit, 0
	for _, p := range []struct {
		name string
		dst  *int
	}{{"limit", &limit}, {"offset", &offset}} {
		if s := q.Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				wire.Errorf(http.StatusBadRequest, "Failed to parse query parameter '%s': '%s' is not a non-negative integer", p.name, s).Write(w)
				return
			}
			*p.dst = n
		}
	}
	ascending := q.Get("order") == "asc"
	frameworkID, taskID := q.Get("framework_id"), q.Get("task_id")

	v := op.takeView()
	defer op.releaseView(v)
	var tasks []*mesos.Task
	pick := func(t *mesos.Task) {
		if (frameworkID == "" || t.FrameworkID.Value == frameworkID) && (taskID == "" || t.TaskID.Value == taskID) {
			tasks = append(tasks, t)
		}
	}
	for _, fws := range [][]frameworkView{v.frameworks, v.completed} {
		for i := range fws {
			f := &fws[i]
			for j := range f.tasks {
				pick(&f.tasks[j])
			}
			for j := range f.unreachable {
				pick(&f.unreachable[j])
			}
			for _, t := range f.completed {
				pick(t)
			}
		}
	}
	started := func(t *mesos.Task) float64 {
		if len(t.Statuses) == 0 {
			return 0
		}
		return t.Statuses[0].GetTimestamp()
	}
	sort.SliceStable(tasks, func(i, j int) bool {
		a, b := started(tasks[i]), started(tasks[j])
		if a == b {
			return tasks[i].TaskID.Value < tasks[j].TaskID.Value
		}
		return (a < b) == ascending
	})
	if offset > len(tasks) {
		offset = len(tasks)
	}
	tasks = tasks[offset:]
	if limit < len(tasks) {
		tasks = tasks[:limit]
	}
	op.serveJSON(w, r, func(rd *renderer) {
		rd.b = append(rd.b, `{"tasks":[`...)
		for i, t := range tasks {
			if i > 0 {
				rd.b = append(rd.b, ',')
			}
			rd.task(t)
		}
		rd.b = append(rd.b, ']', '}')
	})
}

// serveRoles is /master/roles: each known role with its weight, quota,
// allocated and offered resources, and frameworks.
func (op *operator) serveRoles(w http.ResponseWriter, r *http.Request) {
	m := op.m
	m.mu.Lock()
	roles := m.rolesLocked()
	quotas := m.alloc.Quotas()
	m.mu.Unlock()
	op.serveJSON(w, r, func(rd *renderer) {
		b := append(rd.b, `{"roles":[`...)
		for i := range roles {
			role := &roles[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = appendString(b, role.Name)
			b = append(b, `,"weight":`...)
			b = appendFloat(b, role.Weight)
			if q, ok := quotas[role.Name]; ok {
				guarantees, limits := quotaParts(q)
				b = append(b, `,"quota":{"role":`...)
				b = appendString(b, role.Name)
				b = append(b, `,"guarantee":`...)
				b = appendQuantities(b, guarantees)
				b = append(b, `,"limit":`...)
				b = appendQuantities(b, limits)
				b = append(b, '}')
			}
			b = append(b, `,"resources":`...)
			b = appendResources(b, role.Resources, &rd.scratch)
			b = append(b, `,"frameworks":[`...)
			for j, id := range role.Frameworks {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendString(b, id.Value)
			}
			b = append(b, ']', '}')
		}
		rd.b = append(b, ']', '}')
	})
}

// appendQuantities appends scalar quantities as a JSON object, by name.
func appendQuantities(b []byte, q quantities) []byte {
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names)
	b = append(b, '{')
	for i, name := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, name)
		b = append(b, ':')
		b = appendFloat(b, q[name])
	}
	return append(b, '}')
}

// serveWeights is /master/weights: GET lists the weights set by flag or
// operator, PUT takes a JSON array of WeightInfo and applies it as
// UPDATE_WEIGHTS does.
func (op *operator) serveWeights(w http.ResponseWriter, r *http.Request) {
	m := op.m
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		m.mu.Lock()
		infos := m.weightInfosLocked()
		m.mu.Unlock()
		op.serveJSON(w, r, func(rd *renderer) {
			b := append(rd.b, '[')
			for i, wi := range infos {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"weight":`...)
				b = appendFloat(b, wi.Weight)
				b = append(b, `,"role":`...)
				b = appendString(b, wi.GetRole())
				b = append(b, '}')
			}
			rd.b = append(b, ']')
		})
	case http.MethodPut:
		body, err := io.ReadAll(io.LimitReader(r.Body, wire.MaxBodyBytes))
		if err != nil {
			wire.Errorf(http.StatusBadRequest, "Failed to read the request body: %v", err).Write(w)
			return
		}
		var infos []mesos.WeightInfo
		if err := json.Unmarshal(body, &infos); err != nil {
			wire.Errorf(http.StatusBadRequest, "Failed to parse update weights request JSON ('%s'): %v", body, err).Write(w)
			return
		}
		if herr := m.updateWeights(infos); herr != nil {
			herr.Write(w)
			return
		}
		w.WriteHeader(http.StatusOK)
	default:
		e := wire.Errorf(http.StatusMethodNotAllowed, "Expecting one of { 'GET', 'PUT' }, but received '%s'", r.Method)
		e.Header = http.Header{"Allow": {"GET, PUT"}}
		e.Write(w)
	}
}
