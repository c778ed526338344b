package agent_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func get(t *testing.T, u string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestFilesAndState(t *testing.T) {
	env := start(t, 1, nil)
	a := env.agents[0]
	s := subscribe(t, env)
	offer := firstOffer(t, s)
	launch(t, s, offer, shellTask("files", offer, "printf 0123456789; exec sleep 1000"))
	awaitState(t, s, "files", mesos.TASK_RUNNING)
	dir := env.sandbox(0, s.FrameworkID(), "files")
	eventually(t, "the task's output", func() bool { return readFile(t, a, dir+"/stdout") == "0123456789" })

	// /state shows the running task, its executor and sandbox.
	code, _, body := get(t, a.URL()+"/state")
	var state struct {
		ID         string
		PID        string
		Frameworks []struct {
			ID        string
			Executors []struct {
				ID        string
				Directory string
				Type      string
				Tasks     []struct{ ID, State string }
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &state); code != http.StatusOK || err != nil {
		t.Fatalf("/state: %d %v %s", code, err, body)
	}
	if state.ID != a.ID() || state.PID != "slave(1)@"+a.Endpoint() || len(state.Frameworks) != 1 || len(state.Frameworks[0].Executors) != 1 {
		t.Fatalf("/state %s", body)
	}
	ex := state.Frameworks[0].Executors[0]
	if ex.ID != "files" || ex.Type != "COMMAND" || ex.Directory != resolved(t, dir) || len(ex.Tasks) != 1 || ex.Tasks[0].State != "TASK_RUNNING" {
		t.Fatalf("/state executor %+v", ex)
	}
	if code, _, _ := get(t, a.URL()+"/health"); code != http.StatusOK {
		t.Fatalf("/health: %d", code)
	}

	read := func(q url.Values) (int, string) {
		code, _, body := get(t, a.URL()+"/files/read?"+q.Encode())
		return code, strings.TrimSpace(body)
	}
	stdout := ex.Directory + "/stdout"
	for _, c := range []struct {
		q        url.Values
		wantCode int
		wantBody string
	}{
		{url.Values{"path": {stdout}, "offset": {"-1"}}, 200, `{"data":"","offset":10}`},
		{url.Values{"path": {stdout}}, 200, `{"data":"","offset":10}`},
		{url.Values{"path": {stdout}, "offset": {"2"}, "length": {"3"}}, 200, `{"data":"234","offset":2}`},
		{url.Values{"path": {stdout}, "offset": {"8"}}, 200, `{"data":"89","offset":8}`},
		{url.Values{"path": {stdout}, "offset": {"12"}}, 200, `{"data":"","offset":12}`},
		{url.Values{"path": {stdout}, "offset": {"2"}, "length": {"0"}}, 200, `{"data":"","offset":2}`},
		{url.Values{"path": {stdout}, "offset": {"x"}}, 400, ""},
		{url.Values{"path": {stdout}, "offset": {"-2"}}, 400, ""},
		{url.Values{}, 400, ""},
		{url.Values{"path": {ex.Directory}, "offset": {"0"}}, 400, ""},
		{url.Values{"path": {"/etc/passwd"}, "offset": {"0"}}, 404, ""},
		{url.Values{"path": {ex.Directory + strings.Repeat("/..", 30) + "/etc/passwd"}, "offset": {"0"}}, 400, ""},
		{url.Values{"path": {ex.Directory + "/nothing"}, "offset": {"0"}}, 404, ""},
	} {
		code, body := read(c.q)
		if code != c.wantCode || (c.wantBody != "" && body != c.wantBody) {
			t.Errorf("/files/read?%s: %d %s, want %d %s", c.q.Encode(), code, body, c.wantCode, c.wantBody)
		}
	}

	code, _, body = get(t, a.URL()+"/files/browse?"+url.Values{"path": {ex.Directory}}.Encode())
	var entries []struct {
		Path string
		Size int64
		Mode string
	}
	if err := json.Unmarshal([]byte(body), &entries); code != http.StatusOK || err != nil {
		t.Fatalf("/files/browse: %d %v %s", code, err, body)
	}
	names := map[string]int64{}
	for _, e := range entries {
		names[e.Path] = e.Size
	}
	if size, ok := names[stdout]; !ok || size != 10 || len(entries) != 2 {
		t.Errorf("/files/browse: %+v", entries)
	}
	if code, _, _ := get(t, a.URL()+"/files/browse?path=/etc"); code != http.StatusNotFound {
		t.Errorf("/files/browse outside the work dir: %d", code)
	}

	code, header, body := get(t, a.URL()+"/files/download?"+url.Values{"path": {stdout}}.Encode())
	if code != http.StatusOK || body != "0123456789" || !strings.Contains(header.Get("Content-Disposition"), `filename="stdout"`) {
		t.Errorf("/files/download: %d %q %v", code, body, header)
	}
}

// TestFilesVirtualPaths reads sandboxes through the virtual paths a Mesos
// agent attaches, /frameworks/<fw>/executors/<exec>/runs/latest (the
// newest run) and /frameworks/.../runs/<container>, with Mesos' answers to
// unknown and inaccessible paths and bad parameters.
func TestFilesVirtualPaths(t *testing.T) {
	env := start(t, 1, nil)
	a := env.agents[0]
	s := subscribe(t, env)
	fw := s.FrameworkID()
	offer := firstOffer(t, s)
	launch(t, s, offer, shellTask("twice", offer, "printf first; ln -s /etc escape"))
	if _, last := awaitTerminal(t, s, "twice"); last.GetState() != mesos.TASK_FINISHED {
		t.Fatalf("first run: %v %q", last.GetState(), last.GetMessage())
	}
	firstRun := resolved(t, env.sandbox(0, fw, "twice"))
	// The same task ID again: the same executor ID, a new run.
	offer = firstOffer(t, s)
	launch(t, s, offer, shellTask("twice", offer, "printf second; exec sleep 1000"))
	awaitState(t, s, "twice", mesos.TASK_RUNNING)
	secondRun := resolved(t, env.sandbox(0, fw, "twice"))
	if secondRun == firstRun {
		t.Fatalf("one run directory for both runs: %s", secondRun)
	}

	latest := "/frameworks/" + fw + "/executors/twice/runs/latest"
	eventually(t, "the second run's output", func() bool { return readFile(t, a, latest+"/stdout") == "second" })
	if got := readFile(t, a, "/frameworks/"+fw+"/executors/twice/runs/"+filepath.Base(firstRun)+"/stdout"); got != "first" {
		t.Errorf("the first run's stdout through its container ID: %q", got)
	}

	code, _, body := get(t, a.URL()+"/files/browse?"+url.Values{"path": {latest + "/"}}.Encode())
	var entries []struct{ Path string }
	if err := json.Unmarshal([]byte(body), &entries); code != http.StatusOK || err != nil {
		t.Fatalf("/files/browse %s: %d %v %s", latest, code, err, body)
	}
	var paths []string
	for _, e := range entries {
		paths = append(paths, e.Path)
	}
	if want := []string{latest + "/stderr", latest + "/stdout"}; strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("/files/browse %s: %v, want %v", latest, paths, want)
	}
	code, header, body := get(t, a.URL()+"/files/download?"+url.Values{"path": {latest + "/stdout"}}.Encode())
	if code != http.StatusOK || body != "second" || header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("/files/download through the virtual path: %d %q %v", code, body, header)
	}

	oldRun := "/frameworks/" + fw + "/executors/twice/runs/" + filepath.Base(firstRun)
	for _, c := range []struct {
		endpoint, path string
		want           int
	}{
		{"browse", latest, http.StatusOK},
		{"browse", firstRun, http.StatusOK},
		{"browse", oldRun, http.StatusOK},
		{"browse", latest + "/stdout", http.StatusOK},
		{"browse", "/frameworks/" + fw + "/executors/nobody/runs/latest", http.StatusNotFound},
		{"browse", "/frameworks/nobody/executors/twice/runs/latest", http.StatusNotFound},
		{"browse", "/frameworks/" + fw + "/executors/twice/runs", http.StatusNotFound},
		{"browse", "/frameworks/" + fw + "/executors/twice/runs/../runs/latest", http.StatusNotFound},
		{"browse", "/frameworks", http.StatusNotFound},
		{"browse", "", http.StatusBadRequest},
		{"read", latest + "/nothing", http.StatusNotFound},
		{"read", latest + "/stdout/more", http.StatusNotFound},
		{"read", latest, http.StatusBadRequest},
		{"read", latest + strings.Repeat("/..", 30) + "/etc/passwd", http.StatusBadRequest},
		{"read", oldRun + "/escape/passwd", http.StatusBadRequest},
		{"download", latest, http.StatusBadRequest},
		{"download", oldRun + "/escape/passwd", http.StatusBadRequest},
		{"download", latest + "/nothing", http.StatusNotFound},
		{"download", "", http.StatusBadRequest},
	} {
		q := url.Values{}
		if c.path != "" {
			q.Set("path", c.path)
		}
		if c.endpoint == "read" {
			q.Set("offset", "0")
		}
		if code, _, body := get(t, a.URL()+"/files/"+c.endpoint+"?"+q.Encode()); code != c.want {
			t.Errorf("/files/%s?path=%s: %d %s, want %d", c.endpoint, c.path, code, strings.TrimSpace(body), c.want)
		}
	}

	// /files/debug maps the attached paths to the runs' directories.
	code, _, body = get(t, a.URL()+"/files/debug")
	var attached map[string]string
	if err := json.Unmarshal([]byte(body), &attached); code != http.StatusOK || err != nil {
		t.Fatalf("/files/debug: %d %v %s", code, err, body)
	}
	if dir := attached[latest]; resolved(t, dir) != secondRun {
		t.Errorf("/files/debug %s -> %q, want %s (all: %v)", latest, dir, secondRun, attached)
	}
}
