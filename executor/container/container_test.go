package container

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubemesos/kubemesos/executor/volume"
)

func TestParseLogLine(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	for _, tc := range []struct {
		line    string
		want    LogLine
		wantErr bool
	}{
		{"2026-01-02T03:04:05.0000006Z stdout F hello world\n", LogLine{Time: ts, Stream: "stdout", Text: []byte("hello world")}, false},
		{"2026-01-02T03:04:05.0000006Z stderr P part", LogLine{Time: ts, Stream: "stderr", Partial: true, Text: []byte("part")}, false},
		{"2026-01-02T03:04:05.0000006Z stdout F ", LogLine{Time: ts, Stream: "stdout", Text: []byte{}}, false},
		{"2026-01-02T03:04:05.0000006Z stdout F", LogLine{Time: ts, Stream: "stdout"}, false},
		{"yesterday stdout F x", LogLine{}, true},
		{"2026-01-02T03:04:05Z stdin F x", LogLine{}, true},
		{"2026-01-02T03:04:05Z stdout X x", LogLine{}, true},
		{"2026-01-02T03:04:05Z", LogLine{}, true},
	} {
		got, err := ParseLogLine([]byte(tc.line))
		if (err != nil) != tc.wantErr {
			t.Errorf("%q: error %v", tc.line, err)
			continue
		}
		if !got.Time.Equal(tc.want.Time) || got.Stream != tc.want.Stream || got.Partial != tc.want.Partial || !bytes.Equal(got.Text, tc.want.Text) {
			t.Errorf("%q: got %+v, want %+v", tc.line, got, tc.want)
		}
	}
}

func TestLogRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	now := func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	l, err := CreateLog(path, 100, 3, now)
	if err != nil {
		t.Fatal(err)
	}
	// Each entry is 31+6 bytes: two fit in 100.
	var in strings.Builder
	for i := range 7 {
		in.WriteString(strings.Repeat(string(rune('a'+i)), 5) + "\n")
	}
	l.copyFrom(strings.NewReader(in.String()), StreamStdout)
	if err := l.Close(); err != nil || l.Err() != nil {
		t.Fatal(err, l.Err())
	}
	for name, want := range map[string]string{"0.log": "ggggg", "0.log.1": "eeeeefffff", "0.log.2": "cccccddddd"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var text string
		for _, line := range strings.SplitAfter(string(b), "\n") {
			if line == "" {
				continue
			}
			e, err := ParseLogLine([]byte(line))
			if err != nil {
				t.Fatal(err)
			}
			text += string(e.Text)
		}
		if text != want {
			t.Errorf("%s: %q, want %q", name, text, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "0.log.3")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("more than 3 files: %v", err)
	}
}

func TestStartAndWait(t *testing.T) {
	dir := t.TempDir()
	log, err := CreateLog(filepath.Join(dir, "log"), 0, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	for _, tc := range []struct {
		name string
		argv []string
		exit Exit
	}{
		{"exit code", []string{"sh", "-c", "exit 7"}, Exit{Code: 7}},
		{"signal", []string{"sh", "-c", "kill -KILL $$"}, Exit{Code: 137, Signal: syscall.SIGKILL}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Start(Spec{Argv: tc.argv, Env: []string{"PATH=/usr/bin:/bin"}, Dir: dir, Log: log})
			if err != nil {
				t.Fatal(err)
			}
			if got, err := p.Wait(); err != nil || got != tc.exit {
				t.Errorf("exit %+v %v, want %+v", got, err, tc.exit)
			}
		})
	}
	for _, tc := range []struct {
		name string
		spec Spec
		err  string
	}{
		{"no command", Spec{}, "no command"},
		{"not in PATH", Spec{Argv: []string{"no-such-command-kubemesos"}, Env: []string{"PATH=" + dir}}, "not found in PATH " + dir},
		{"missing path", Spec{Argv: []string{"/no/such/file"}}, "no such file"},
		{"mounts without namespace", Spec{Argv: []string{"true"}, Mounts: []volume.Mount{{Source: dir, Target: "/x"}}}, ErrNoNamespace.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.spec.Mounts) > 0 {
				// Run the case as an executor that cannot make mount
				// namespaces would, also where this one can (as root).
				saved := canNamespace
				canNamespace = func() bool { return false }
				defer func() { canNamespace = saved }()
			}
			if _, err := Start(tc.spec); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
		})
	}
}

func TestCredentialAndTerminationLog(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name     string
		spec     Spec
		script   string
		want     string
		needRoot bool
	}{
		// A termination log that cannot be mounted (its source is missing
		// here; without root there is no namespace) is left out and the
		// process starts all the same.
		{"termination log left out", Spec{TerminationLog: volume.Mount{Source: filepath.Join(dir, "termination-log"), Target: filepath.Join(dir, "target")}},
			`if [ -e "$T" ]; then echo mounted; else echo left out; fi`, "left out", false},
		{"credential", Spec{Credential: &syscall.Credential{Uid: 65534, Gid: 65533, Groups: []uint32{1234}}},
			`echo $(id -u) $(id -g) $(id -G)`, "65534 65533 65533 1234", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needRoot && os.Geteuid() != 0 {
				t.Skip("only root runs processes as other users")
			}
			out := &bytes.Buffer{}
			spec := tc.spec
			spec.Argv = []string{"sh", "-c", tc.script}
			spec.Env = []string{"PATH=/usr/bin:/bin", "T=" + spec.TerminationLog.Target}
			spec.Dir, spec.Stdout = "/", out
			p, err := Start(spec)
			if err != nil {
				t.Fatal(err)
			}
			if exit, err := p.Wait(); err != nil || exit.Code != 0 {
				t.Fatalf("exit %+v %v: %s", exit, err, out)
			}
			if got := strings.TrimSpace(out.String()); got != tc.want {
				t.Errorf("output %q, want %q", got, tc.want)
			}
		})
	}
}
