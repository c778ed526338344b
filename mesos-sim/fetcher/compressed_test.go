package fetcher_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/ulikunitz/xz"

	"github.com/kubemesos/kubemesos/mesos-sim/fetcher"
)

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func xzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := xz.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bzipped compresses with the bzip2 command (Go's library only reads
// bzip2).
func bzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	cmd := exec.Command("bzip2", "-c")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("bzip2 is needed to make a test archive: %v", err)
	}
	return out
}

// TestFetchCompressed: the archive types Mesos' fetcher extracts; a .gz
// file is decompressed next to itself; plain .bz2 and .xz files are not
// archives for Mesos and stay as they are.
func TestFetchCompressed(t *testing.T) {
	tarOf := func(name, content string) []byte { return tarball(t, false, map[string]string{name: content}) }
	base := serve(t, map[string][]byte{
		"/a.tar.bz2": bzipped(t, tarOf("a.txt", "from tar.bz2")),
		"/b.tbz2":    bzipped(t, tarOf("b.txt", "from tbz2")),
		"/c.tar.xz":  xzipped(t, tarOf("c.txt", "from tar.xz")),
		"/d.txz":     xzipped(t, tarOf("d.txt", "from txz")),
		"/e.txt.gz":  gzipped(t, []byte("from gz")),
		"/f.txt.bz2": bzipped(t, []byte("kept")),
		"/g.txt.xz":  xzipped(t, []byte("kept")),
		"/bad.gz":    []byte("not gzip"),
	})
	dir := t.TempDir()
	f := fetcher.Fetcher{}
	var uris []mesos.CommandInfo_URI
	for _, p := range []string{"/a.tar.bz2", "/b.tbz2", "/c.tar.xz", "/d.txz", "/e.txt.gz", "/f.txt.bz2", "/g.txt.xz"} {
		uris = append(uris, mesos.CommandInfo_URI{Value: base + p})
	}
	if err := f.FetchAll(context.Background(), uris, dir); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"a.txt": "from tar.bz2", "b.txt": "from tbz2", "c.txt": "from tar.xz", "d.txt": "from txz", "e.txt": "from gz",
	} {
		if got := read(t, filepath.Join(dir, path)); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	for _, kept := range []string{"e.txt.gz", "f.txt.bz2", "g.txt.xz"} {
		if _, err := os.Stat(filepath.Join(dir, kept)); err != nil {
			t.Errorf("%s: %v", kept, err)
		}
	}
	for _, notThere := range []string{"f.txt", "g.txt"} {
		if _, err := os.Stat(filepath.Join(dir, notThere)); !os.IsNotExist(err) {
			t.Errorf("%s was decompressed: %v", notThere, err)
		}
	}
	if err := f.Fetch(context.Background(), mesos.CommandInfo_URI{Value: base + "/bad.gz"}, t.TempDir()); err == nil {
		t.Error("a .gz that is not gzip was accepted")
	}
}

// TestFetchCache: a URI with cache set is downloaded once and copied from
// the cache afterwards (also under another output_file); one without is
// downloaded each time; without a cache directory cache is ignored.
func TestFetchCache(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte("payload"))
	}))
	t.Cleanup(srv.Close)
	yes := true
	other := "renamed"
	cases := []struct {
		name     string
		cacheDir string
		uri      mesos.CommandInfo_URI
		want     int32
	}{
		{"cached", t.TempDir(), mesos.CommandInfo_URI{Value: srv.URL + "/tool", Cache: &yes}, 1},
		{"cached, renamed", t.TempDir(), mesos.CommandInfo_URI{Value: srv.URL + "/tool", Cache: &yes, OutputFile: &other}, 1},
		{"not cached", t.TempDir(), mesos.CommandInfo_URI{Value: srv.URL + "/tool"}, 3},
		{"no cache dir", "", mesos.CommandInfo_URI{Value: srv.URL + "/tool", Cache: &yes}, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hits.Store(0)
			f := fetcher.Fetcher{CacheDir: c.cacheDir}
			for range 3 {
				dir := t.TempDir()
				if err := f.Fetch(context.Background(), c.uri, dir); err != nil {
					t.Fatal(err)
				}
				name := "tool"
				if c.uri.OutputFile != nil {
					name = *c.uri.OutputFile
				}
				if got := read(t, filepath.Join(dir, name)); got != "payload" {
					t.Fatalf("fetched %q", got)
				}
			}
			if got := hits.Load(); got != c.want {
				t.Errorf("%d downloads, want %d", got, c.want)
			}
		})
	}
}
