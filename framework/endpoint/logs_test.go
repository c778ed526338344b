package endpoint

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kubemesos/kubemesos/internal/clock"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// ts is how the kubelet prefixes a line with timestamps=true.
func ts(d time.Duration) string { return t0.Add(d).Format(timeFormatOut) + " " }

func TestContainerLogs(t *testing.T) {
	agent := startAgent(t)
	current, previous := agent.path(t, "main-1.log"), agent.path(t, "main-0.log")
	appendFile(t, current, cri(t0, "stdout", "F", "one")+
		cri(t0.Add(1*time.Second), "stderr", "F", "two")+
		cri(t0.Add(2*time.Second), "stdout", "P", "thr")+
		cri(t0.Add(3*time.Second), "stdout", "F", "ee")+
		cri(t0.Add(4*time.Second), "stdout", "F", "four")+
		"not a cri line\n"+
		cri(t0.Add(6*time.Second), "stderr", "F", "five"))
	appendFile(t, previous, cri(t0.Add(-time.Hour), "stdout", "F", "old run"))

	// The agent holds the files. An agent that is down is a port that drops
	// every connection unanswered: held open for the whole test, so no other
	// test's server can take the port and answer in its place.
	down, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { down.Close() })
	go func() {
		for {
			conn, err := down.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	downURL := "http://" + down.Addr().String()

	locator := newTestLocator()
	locator.set("ns", "pod", "main", located{agentURL: agent.url, current: current, previous: previous})
	locator.set("ns", "pod", "nolog", located{agentURL: agent.url, current: agent.path(t, "never-written.log")})
	locator.set("ns", "pod", "outside", located{agentURL: agent.url, current: "/etc/hostname"})
	locator.set("ns", "down", "main", located{agentURL: downURL, current: current})
	s := startServer(t, Config{Logs: locator, Clock: clock.NewFake(t0.Add(10 * time.Minute))})
	client := httpsClient(s, nil)

	all := "one\ntwo\nthree\nfour\nnot a cri line\nfive\n"
	for _, c := range []struct {
		name     string
		path     string
		query    string
		wantCode int
		want     string
	}{
		{"everything", "ns/pod/main", "", 200, all},
		{"timestamps", "ns/pod/main", "timestamps=true", 200,
			ts(0) + "one\n" + ts(time.Second) + "two\n" + ts(2*time.Second) + "three\n" + ts(4*time.Second) + "four\nnot a cri line\n" + ts(6*time.Second) + "five\n"},
		{"tailLines", "ns/pod/main", "tailLines=3", 200, "four\nnot a cri line\nfive\n"},
		{"tailLines counts records, as the kubelet", "ns/pod/main", "tailLines=4", 200, "ee\nfour\nnot a cri line\nfive\n"},
		{"tailLines=0", "ns/pod/main", "tailLines=0", 200, ""},
		{"tailLines beyond the file", "ns/pod/main", "tailLines=100", 200, all},
		{"old tail parameter", "ns/pod/main", "tail=2", 200, "not a cri line\nfive\n"},
		{"tail=all", "ns/pod/main", "tail=all", 200, all},
		{"sinceSeconds", "ns/pod/main", fmt.Sprintf("sinceSeconds=%d", 600-3), 200, "ee\nfour\nnot a cri line\nfive\n"},
		{"sinceTime", "ns/pod/main", "sinceTime=" + url.QueryEscape(t0.Add(4*time.Second).Format(time.RFC3339)), 200, "four\nnot a cri line\nfive\n"},
		{"limitBytes", "ns/pod/main", "limitBytes=6", 200, "one\ntw"},
		{"limitBytes with timestamps", "ns/pod/main", "limitBytes=34&timestamps=1", 200, (ts(0) + "one\n" + ts(time.Second))[:34]},
		{"tailLines and limitBytes", "ns/pod/main", "tailLines=1&limitBytes=3", 200, "fiv"},
		{"stderr only", "ns/pod/main", "stream=Stderr", 200, "two\nfive\n"},
		{"stdout only", "ns/pod/main", "stream=Stdout", 200, "one\nthree\nfour\nnot a cri line\n"},
		{"previous", "ns/pod/main", "previous=true", 200, "old run\n"},
		{"follow on previous ends at its end", "ns/pod/main", "previous=true&follow=true", 200, "old run\n"},
		{"previous false", "ns/pod/main", "previous=false", 200, all},

		{"negative tailLines", "ns/pod/main", "tailLines=-1", 422, "Invalid request: tailLines: must be greater than or equal to 0\n"},
		{"zero sinceSeconds", "ns/pod/main", "sinceSeconds=0", 422, "Invalid request: sinceSeconds: must be greater than 0\n"},
		{"zero limitBytes", "ns/pod/main", "limitBytes=0", 422, "Invalid request: limitBytes: must be greater than 0\n"},
		{"two sinces", "ns/pod/main", "sinceSeconds=1&sinceTime=2026-11-25T10:00:00Z", 422, "Invalid request: at most one of `sinceTime` or `sinceSeconds` may be specified\n"},
		{"bad sinceTime", "ns/pod/main", "sinceTime=yesterday", 422, ""},
		{"not a number", "ns/pod/main", "tailLines=ten", 422, "Invalid request: tailLines: \"ten\" is not an integer\n"},
		{"stream with tailLines", "ns/pod/main", "stream=Stderr&tailLines=1", 422, "Invalid request: `tailLines` and specific `stream` are mutually exclusive for now\n"},
		{"unknown stream", "ns/pod/main", "stream=Stdin", 422, ""},

		{"no pod", "ns/", "", 400, `{"message": "Missing podID."}` + "\n"},
		{"no container", "ns/pod/", "", 400, `{"message": "Missing container name."}` + "\n"},
		{"too deep", "ns/pod/main/more", "", 404, "404 page not found\n"},
		{"unknown pod", "ns/nope/main", "", 404, "pod \"nope\" does not exist or has no container \"main\": not found\n"},
		{"no previous run", "ns/pod/nolog", "previous=true", 404, "previous terminated container \"nolog\" in pod \"pod\" not found: not found\n"},
		{"log not on the agent", "ns/pod/nolog", "", 404, "log file " + agent.path(t, "never-written.log") + " not found on agent " + agent.url + ": not found\n"},
		{"log outside the agent's sandboxes", "ns/pod/outside", "", 404, ""},
		{"agent down", "ns/down/main", "", 502, "agent files API failed: agent " + downURL + " is unreachable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, body := get(t, client, "https://"+s.Addr()+"/containerLogs/"+c.path+"?"+c.query)
			if code != c.wantCode || (c.wantCode == 200 && body != c.want) || !strings.HasPrefix(body, c.want) {
				t.Errorf("%d %q\nwant %d %q", code, body, c.wantCode, c.want)
			}
		})
	}
}

// TestContainerLogsLargeFile reads a log larger than an agent answers at
// once, with many multi-byte characters (some cut by the agent's 64 KiB
// answers) and a line longer than an answer.
func TestContainerLogsLargeFile(t *testing.T) {
	agent := startAgent(t)
	path := agent.path(t, "big.log")
	var file strings.Builder
	var lines []string
	for i := range 3000 {
		text := fmt.Sprintf("line %d: héllo wörld ✓ %s", i, strings.Repeat("ü€", i%40))
		if i == 2500 {
			text = strings.Repeat("é", 70<<10)
		}
		lines = append(lines, text+"\n")
		file.WriteString(cri(t0.Add(time.Duration(i)*time.Millisecond), "stdout", "F", text))
	}
	appendFile(t, path, file.String())
	if file.Len() < 4*tailBlock {
		t.Fatalf("the log is only %d bytes", file.Len())
	}
	locator := newTestLocator()
	locator.set("ns", "pod", "big", located{agentURL: agent.url, current: path})
	s := startServer(t, Config{Logs: locator})
	client := httpsClient(s, nil)

	for _, c := range []struct {
		query string
		want  string
	}{
		{"", strings.Join(lines, "")},
		{"tailLines=1", lines[2999]},
		{"tailLines=501", strings.Join(lines[2499:], "")},
		{"tailLines=2000", strings.Join(lines[1000:], "")},
		{"tailLines=499", strings.Join(lines[2501:], "")},
		{"tailLines=500", strings.Join(lines[2500:], "")},
	} {
		code, _, body := get(t, client, "https://"+s.Addr()+"/containerLogs/ns/pod/big?"+c.query)
		if code != 200 || body != c.want {
			t.Errorf("?%s: %d, %d bytes (%d lines), want %d bytes (%d lines)", c.query, code, len(body), strings.Count(body, "\n"), len(c.want), strings.Count(c.want, "\n"))
		}
	}
}

// follower reads a followed log line by line.
type follower struct {
	t      *testing.T
	cancel context.CancelFunc
	body   io.ReadCloser
	r      *bufio.Reader
}

func follow(t *testing.T, s *Server, path, query string) *follower {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+s.Addr()+"/containerLogs/"+path+"?follow=true&"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := httpsClient(s, nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("follow %s: %d %s", path, resp.StatusCode, b)
	}
	f := &follower{t: t, cancel: cancel, body: resp.Body, r: bufio.NewReader(resp.Body)}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	return f
}

// expect reads the next lines and checks them.
func (f *follower) expect(lines ...string) {
	f.t.Helper()
	for _, want := range lines {
		got, err := f.r.ReadString('\n')
		if err != nil || got != want+"\n" {
			f.t.Fatalf("followed log: read %q, %v; want %q", got, err, want+"\n")
		}
	}
}

// awaitNoStreams waits until the server answers no container log.
func awaitNoStreams(t *testing.T, s *Server) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.logStreams.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d container logs still being answered", s.logStreams.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFollowContainerLogs(t *testing.T) {
	agent := startAgent(t)
	run1, run2 := agent.path(t, "app-1.log"), agent.path(t, "app-2.log")
	appendFile(t, run1, cri(t0, "stdout", "F", "old")+cri(t0, "stdout", "F", "started"))
	locator := newTestLocator()
	locator.set("ns", "pod", "app", located{agentURL: agent.url, current: run1})
	s := startServer(t, Config{Logs: locator, PollInterval: 5 * time.Millisecond})

	f := follow(t, s, "ns/pod/app", "tailLines=1&timestamps=true")
	f.expect(ts(0) + "started")

	// Lines written while following arrive, partial ones joined.
	appendFile(t, run1, cri(t0.Add(time.Second), "stdout", "F", "more"))
	f.expect(ts(time.Second) + "more")
	appendFile(t, run1, cri(t0.Add(2*time.Second), "stdout", "P", "half "))
	appendFile(t, run1, cri(t0.Add(3*time.Second), "stderr", "F", "and half"))
	f.expect(ts(2*time.Second) + "half and half")

	// The container restarts: the last lines of the first run come, then the new run's.
	appendFile(t, run1, cri(t0.Add(4*time.Second), "stdout", "F", "last of run 1"))
	appendFile(t, run2, cri(t0.Add(5*time.Second), "stdout", "F", "first of run 2"))
	locator.set("ns", "pod", "app", located{agentURL: agent.url, current: run2, previous: run1})
	f.expect(ts(4*time.Second)+"last of run 1", ts(5*time.Second)+"first of run 2")
	appendFile(t, run2, cri(t0.Add(6*time.Second), "stdout", "F", "still here"))
	f.expect(ts(6*time.Second) + "still here")

	// The file is truncated and written again: read from its start.
	if err := os.Truncate(run2, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, run2, cri(t0.Add(7*time.Second), "stdout", "F", "after truncation"))
	f.expect(ts(7*time.Second) + "after truncation")

	// The client goes away: the server stops following.
	f.cancel()
	awaitNoStreams(t, s)
}

func TestFollowEnds(t *testing.T) {
	agent := startAgent(t)
	path := agent.path(t, "job.log")
	appendFile(t, path, cri(t0, "stdout", "F", "working"))

	t.Run("the container stopped", func(t *testing.T) {
		locator := runningLocator{newTestLocator()}
		locator.set("ns", "pod", "job", located{agentURL: agent.url, current: path})
		s := startServer(t, Config{Logs: locator, PollInterval: 5 * time.Millisecond})
		f := follow(t, s, "ns/pod/job", "")
		f.expect("working")
		appendFile(t, path, cri(t0, "stdout", "F", "done"))
		f.expect("done")
		appendFile(t, path, cri(t0, "stdout", "P", "no newline at the end"))
		locator.set("ns", "pod", "job", located{agentURL: agent.url, current: path, stopped: true})
		if got, err := io.ReadAll(f.r); err != nil || string(got) != "no newline at the end" {
			t.Fatalf("after the container stopped: %q, %v", got, err)
		}
		awaitNoStreams(t, s)
	})
	t.Run("the pod is gone", func(t *testing.T) {
		locator := newTestLocator()
		locator.set("ns", "pod", "job", located{agentURL: agent.url, current: path})
		s := startServer(t, Config{Logs: locator, PollInterval: 5 * time.Millisecond})
		f := follow(t, s, "ns/pod/job", "tailLines=1")
		locator.remove("ns", "pod", "job")
		if got, err := io.ReadAll(f.r); err != nil || string(got) != "no newline at the end" {
			t.Fatalf("after the pod went: %q, %v", got, err)
		}
		awaitNoStreams(t, s)
	})
	t.Run("the server stops", func(t *testing.T) {
		locator := newTestLocator()
		locator.set("ns", "pod", "job", located{agentURL: agent.url, current: path})
		s, err := New(Config{Listen: "127.0.0.1:0", Logs: locator, PollInterval: 5 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		f := follow(t, s, "ns/pod/job", "")
		f.expect("working", "done")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Fatalf("Stop with a followed log: %v", err)
		}
		if got, _ := io.ReadAll(f.r); string(got) != "no newline at the end" {
			t.Fatalf("after Stop: %q", got)
		}
	})
}

// TestFollowLongLineWithoutNewline: bytes without a newline (not CRI) are
// not held back without end while following.
func TestFollowLongLineWithoutNewline(t *testing.T) {
	agent := startAgent(t)
	path := agent.path(t, "raw.log")
	long := strings.Repeat("x", maxLineBytes+maxLineBytes/2)
	appendFile(t, path, long)
	locator := newTestLocator()
	locator.set("ns", "pod", "raw", located{agentURL: agent.url, current: path})
	s := startServer(t, Config{Logs: locator, PollInterval: 5 * time.Millisecond})
	f := follow(t, s, "ns/pod/raw", "")
	// A safety net, not a timing: held-back bytes would block the read forever.
	defer time.AfterFunc(time.Minute, f.cancel).Stop()
	got := make([]byte, maxLineBytes)
	if _, err := io.ReadFull(f.r, got); err != nil || string(got) != long[:maxLineBytes] {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	f.cancel()
	awaitNoStreams(t, s)
}
