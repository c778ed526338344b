package fetcher_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/kubemesos/kubemesos/mesos-sim/fetcher"
)

func tarball(t *testing.T, gz bool, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	var zw *gzip.Writer
	var tw *tar.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		tw = tar.NewWriter(zw)
	} else {
		tw = tar.NewWriter(&buf)
	}
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write([]byte(content))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func zipball(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func serve(t *testing.T, files map[string][]byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFetch(t *testing.T) {
	base := serve(t, map[string][]byte{
		"/a.tar.gz":  tarball(t, true, map[string]string{"dir/a.txt": "from tgz"}),
		"/b.tar":     tarball(t, false, map[string]string{"b.txt": "from tar"}),
		"/c.zip":     zipball(t, map[string]string{"zipped/c.txt": "from zip"}),
		"/tool":      []byte("#!/bin/sh\n"),
		"/raw.zip":   zipball(t, map[string]string{"never.txt": "x"}),
		"/evil.tar":  tarball(t, false, map[string]string{"../escape.txt": "x"}),
		"/evil2.zip": zipball(t, map[string]string{"../../escape.txt": "x"}),
	})
	local := filepath.Join(t.TempDir(), "local.txt")
	if err := os.WriteFile(local, []byte("local file"), 0o644); err != nil {
		t.Fatal(err)
	}
	no := false
	yes := true
	name := func(s string) *string { return &s }
	dir := t.TempDir()
	f := fetcher.Fetcher{}
	err := f.FetchAll(context.Background(), []mesos.CommandInfo_URI{
		{Value: base + "/a.tar.gz"},
		{Value: base + "/b.tar"},
		{Value: base + "/c.zip"},
		{Value: base + "/tool", Executable: &yes, OutputFile: name("bin/run")},
		{Value: base + "/raw.zip", Extract: &no},
		{Value: "file://" + local},
		{Value: local, OutputFile: name("copy.txt")},
	}, dir)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"dir/a.txt": "from tgz", "b.txt": "from tar", "zipped/c.txt": "from zip", "local.txt": "local file", "copy.txt": "local file",
	} {
		if got := read(t, filepath.Join(dir, path)); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "bin/run")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("executable URI: %v %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "never.txt")); !os.IsNotExist(err) {
		t.Errorf("extract=false was extracted: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "raw.zip")); err != nil {
		t.Errorf("extract=false: the archive itself: %v", err)
	}

	for _, bad := range []struct{ uri, want string }{
		{base + "/missing", "404"},
		{base + "/evil.tar", "leaves the sandbox"},
		{base + "/evil2.zip", "leaves the sandbox"},
		{"ftp://example.invalid/x", "unsupported URI scheme"},
		{"relative/path", "absolute path"},
		{"/does/not/exist", "no such file"},
	} {
		err := f.Fetch(context.Background(), mesos.CommandInfo_URI{Value: bad.uri}, t.TempDir())
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("fetch %s: error %v, want one mentioning %q", bad.uri, err, bad.want)
		}
	}
}
