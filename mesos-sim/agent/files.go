package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// maxReadLength caps one /files/read answer, as Mesos does (16 pages).
const maxReadLength = 16 * 4096

// The files API serves the sandboxes under the agent's work directory as a
// Mesos agent attaches them: each run's directory under its absolute path
// (<work-dir>/slaves/<agent>/frameworks/<fw>/executors/<exec>/runs/<container>)
// and under the virtual path /frameworks/<fw>/executors/<exec>/runs/latest
// (the executor's newest run, through its `latest` link), which clients use
// without knowing the work directory; /frameworks/.../runs/<container>
// names one run the same way. A path resolves as Mesos' Files::resolve
// does: the longest attached prefix, then the rest of the path below it,
// canonicalised; a path that leads outside its sandbox (through `..` or a
// symbolic link) is a bad request (400), one that names nothing is not
// found (404).

// filesError is a failed resolution: the HTTP status and its text.
type filesError struct {
	code int
	text string
}

func (e *filesError) write(w http.ResponseWriter) { http.Error(w, e.text, e.code) }

var errNotFound = &filesError{http.StatusNotFound, "No such file or directory"}

// sandboxTokens is how many components name a run directory below the
// virtual root "/" or below <work-dir>/slaves/<agent>:
// frameworks/F/executors/E/runs/R.
const sandboxTokens = 6

// attached returns the run directory a path names exactly, if it names
// one: a virtual path or a run directory's absolute path.
func (a *Agent) attached(p string, workDirs []string, agentID string) (string, bool) {
	if rest, ok := strings.CutPrefix(p, "/"); ok && sandboxPath(rest) && agentID != "" {
		return filepath.Join(a.cfg.WorkDir, "slaves", agentID, rest), true
	}
	for _, root := range workDirs {
		rest, ok := strings.CutPrefix(p, root+"/slaves/")
		if !ok {
			continue
		}
		if agent, run, ok := strings.Cut(rest, "/"); ok && validToken(agent) && sandboxPath(run) {
			return p, true
		}
	}
	return "", false
}

// sandboxPath reports whether p is frameworks/F/executors/E/runs/R.
func sandboxPath(p string) bool {
	tokens := strings.Split(p, "/")
	if len(tokens) != sandboxTokens || tokens[0] != "frameworks" || tokens[2] != "executors" || tokens[4] != "runs" {
		return false
	}
	for _, t := range tokens {
		if !validToken(t) {
			return false
		}
	}
	return true
}

func validToken(t string) bool { return t != "" && t != "." && t != ".." }

// resolvePath maps a path of the files API to the real path of a file or
// directory in a sandbox.
func (a *Agent) resolvePath(p string) (string, *filesError) {
	// The work directory as configured, absolute, and with its symlinks
	// resolved: sandbox paths may come in any of these forms.
	workDirs := []string{filepath.Clean(a.cfg.WorkDir)}
	if abs, err := filepath.Abs(a.cfg.WorkDir); err == nil && abs != workDirs[0] {
		workDirs = append(workDirs, abs)
	}
	if real, err := filepath.EvalSymlinks(a.cfg.WorkDir); err == nil && !slices.Contains(workDirs, real) {
		workDirs = append(workDirs, real)
	}
	agentID := a.ID()
	tokens := strings.Split(strings.TrimRight(p, "/"), "/")
	for n := len(tokens); n > 0; n-- {
		dir, ok := a.attached(strings.Join(tokens[:n], "/"), workDirs, agentID)
		if !ok {
			continue
		}
		root, err := filepath.EvalSymlinks(dir)
		if err != nil {
			continue // no such run (yet, or any longer)
		}
		if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
			continue
		}
		full := root
		if n < len(tokens) {
			full = root + "/" + strings.Join(tokens[n:], "/")
		}
		real, err := filepath.EvalSymlinks(full)
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
			return "", errNotFound
		case err != nil:
			return "", &filesError{http.StatusBadRequest, fmt.Sprintf("Failed to determine canonical path of '%s': %v.", full, err)}
		case real != root && !strings.HasPrefix(real, root+"/"):
			return "", &filesError{http.StatusBadRequest, fmt.Sprintf("'%s' is inaccessible.", full)}
		}
		return real, nil
	}
	return "", errNotFound
}

// resolve resolves the path query parameter, answering the request when it
// cannot.
func (a *Agent) resolve(w http.ResponseWriter, r *http.Request) (string, os.FileInfo, bool) {
	p := r.URL.Query().Get("path")
	if p == "" {
		http.Error(w, "Expecting 'path=value' in query.", http.StatusBadRequest)
		return "", nil, false
	}
	real, ferr := a.resolvePath(p)
	if ferr != nil {
		ferr.write(w)
		return "", nil, false
	}
	fi, err := os.Stat(real)
	if err != nil {
		errNotFound.write(w)
		return "", nil, false
	}
	return real, fi, true
}

type fileInfo struct {
	GID   string  `json:"gid"`
	Mode  string  `json:"mode"`
	MTime float64 `json:"mtime"`
	NLink int64   `json:"nlink"`
	Path  string  `json:"path"`
	Size  int64   `json:"size"`
	UID   string  `json:"uid"`
}

func describe(path string, fi os.FileInfo) fileInfo {
	out := fileInfo{Path: path, Size: fi.Size(), Mode: fi.Mode().String(), MTime: float64(fi.ModTime().Unix()), NLink: 1}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		out.NLink = int64(st.Nlink)
		out.UID = strconv.FormatUint(uint64(st.Uid), 10)
		out.GID = strconv.FormatUint(uint64(st.Gid), 10)
	}
	return out
}

// serveBrowse is GET /files/browse?path=DIR: the directory's entries,
// sorted, each with the requested path joined to its name (a file has
// none, as Mesos lists it).
func (a *Agent) serveBrowse(w http.ResponseWriter, r *http.Request) {
	real, fi, ok := a.resolve(w, r)
	if !ok {
		return
	}
	query := strings.TrimRight(r.URL.Query().Get("path"), "/")
	out := []fileInfo{}
	if fi.IsDir() {
		entries, err := os.ReadDir(real)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		for _, e := range entries {
			info, err := os.Stat(filepath.Join(real, e.Name()))
			if err != nil {
				continue
			}
			out = append(out, describe(query+"/"+e.Name(), info))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	writeJSON(w, out)
}

// serveDebug is GET /files/debug: the attached paths (virtual and real)
// of the agent's current executor runs and where they lead.
func (a *Agent) serveDebug(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	out := map[string]string{}
	for _, fw := range a.frameworks {
		for _, e := range fw.executors {
			out[e.dir] = e.dir
			out["/frameworks/"+fw.id+"/executors/"+e.id()+"/runs/latest"] = e.dir
		}
	}
	a.mu.Unlock()
	writeJSON(w, out)
}

// serveRead is GET /files/read?path=F&offset=N&length=M: {"data","offset"}.
// Offset -1 (the default) answers the file's size with no data.
func (a *Agent) serveRead(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	offset, length := int64(-1), int64(-1)
	var err error
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.ParseInt(v, 10, 64); err != nil {
			http.Error(w, "Failed to parse offset: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	if v := q.Get("length"); v != "" {
		if length, err = strconv.ParseInt(v, 10, 64); err != nil {
			http.Error(w, "Failed to parse length: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	if offset < -1 {
		http.Error(w, fmt.Sprintf("Negative offset provided: %d", offset), http.StatusBadRequest)
		return
	}
	if length < -1 {
		http.Error(w, fmt.Sprintf("Negative length provided: %d", length), http.StatusBadRequest)
		return
	}
	real, fi, ok := a.resolve(w, r)
	if !ok {
		return
	}
	if fi.IsDir() {
		http.Error(w, "Cannot read a directory", http.StatusBadRequest)
		return
	}
	// Offset -1 asks for the size; past the end there is nothing to read
	// (Mesos then answers the offset asked for).
	size := fi.Size()
	if offset == -1 {
		writeJSON(w, map[string]any{"data": "", "offset": size})
		return
	}
	if offset >= size {
		writeJSON(w, map[string]any{"data": "", "offset": offset})
		return
	}
	if length == -1 || length > maxReadLength {
		length = maxReadLength
	}
	f, err := os.Open(real)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	buf := make([]byte, length)
	n, err := f.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, map[string]any{"data": string(buf[:n]), "offset": offset})
}

// serveDownload is GET /files/download?path=F: the file itself.
func (a *Agent) serveDownload(w http.ResponseWriter, r *http.Request) {
	real, fi, ok := a.resolve(w, r)
	if !ok {
		return
	}
	if fi.IsDir() {
		http.Error(w, "Cannot download a directory", http.StatusBadRequest)
		return
	}
	f, err := os.Open(real)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", filepath.Base(real)))
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// serveState is the agent's /state: who it is and what runs where, with
// each executor's sandbox directory.
func (a *Agent) serveState(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	info := a.info()
	state := map[string]any{
		"id":         a.id,
		"pid":        "slave(1)@" + a.Endpoint(),
		"hostname":   info.Hostname,
		"port":       info.GetPort(),
		"version":    Version,
		"master_url": a.cfg.MasterURL,
		"resources":  resourceMap(a.cfg.Resources),
		"attributes": attributeMap(a.cfg.Attributes),
		"flags":      map[string]string{"work_dir": a.cfg.WorkDir},
		"isolation":  a.isolation(),
	}
	frameworks := []map[string]any{}
	fwIDs := make([]string, 0, len(a.frameworks))
	for id := range a.frameworks {
		fwIDs = append(fwIDs, id)
	}
	sort.Strings(fwIDs)
	for _, id := range fwIDs {
		fw := a.frameworks[id]
		executors := []map[string]any{}
		for _, e := range fw.executors {
			var tasks, queued []map[string]any
			for _, t := range e.tasks {
				tj := map[string]any{
					"id": t.info.TaskID.Value, "name": t.info.Name, "framework_id": fw.id,
					"executor_id": e.id(), "state": t.state.String(), "resources": resourceMap(t.info.Resources),
				}
				if !t.delivered && !isTerminal(t.state) {
					queued = append(queued, tj)
				} else {
					tasks = append(tasks, tj)
				}
			}
			source := ""
			if e.command {
				source = e.id()
			}
			executors = append(executors, map[string]any{
				"id": e.id(), "name": e.info.GetName(), "source": source, "container": e.containerID,
				"directory": e.dir, "state": e.state.String(), "type": executorType(e),
				"tasks": nonNil(tasks), "queued_tasks": nonNil(queued), "completed_tasks": []any{},
			})
		}
		sort.Slice(executors, func(i, j int) bool { return executors[i]["id"].(string) < executors[j]["id"].(string) })
		frameworks = append(frameworks, map[string]any{"id": fw.id, "name": fw.info.Name, "executors": executors})
	}
	state["frameworks"] = frameworks
	a.mu.Unlock()
	writeJSON(w, state)
}

func executorType(e *executor) string {
	if e.command {
		return "COMMAND"
	}
	if e.defaultExec {
		return "DEFAULT"
	}
	return e.info.GetType().String()
}

func nonNil(v []map[string]any) []map[string]any {
	if v == nil {
		return []map[string]any{}
	}
	return v
}

func resourceMap(rs mesos.Resources) map[string]any {
	out := map[string]any{}
	for _, r := range rs {
		switch {
		case r.Scalar != nil:
			v, _ := out[r.Name].(float64)
			out[r.Name] = v + r.Scalar.Value
		case r.Ranges != nil:
			var parts []string
			for _, rg := range r.Ranges.Range {
				parts = append(parts, fmt.Sprintf("%d-%d", rg.Begin, rg.End))
			}
			out[r.Name] = "[" + strings.Join(parts, ", ") + "]"
		}
	}
	return out
}

func attributeMap(as []mesos.Attribute) map[string]any {
	out := map[string]any{}
	for _, at := range as {
		switch {
		case at.Text != nil:
			out[at.Name] = at.Text.Value
		case at.Scalar != nil:
			out[at.Name] = at.Scalar.Value
		}
	}
	return out
}
