package executorbin

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestExtract(t *testing.T) {
	content := []byte("#!/bin/sh\necho slim\n")
	sum := sha256Hex(content)
	name := FilePrefix + sum[:HashLen]
	for _, tc := range []struct {
		name    string
		before  map[string]string // files in dir before, name → content
		mode    os.FileMode       // of `name` when in before
		oldLink string            // LinkName's target before, if any
		kept    []string          // other files left in dir
	}{
		{name: "empty directory"},
		{name: "already extracted", before: map[string]string{name: string(content)}, mode: 0o755},
		{name: "truncated", before: map[string]string{name: "#!/bin/sh\n"}, mode: 0o755},
		{name: "same size, other content", before: map[string]string{name: strings.Repeat("x", len(content))}, mode: 0o755},
		{name: "not executable", before: map[string]string{name: string(content)}, mode: 0o644},
		{
			name: "an earlier version and others' files",
			before: map[string]string{
				FilePrefix + "0123456789abcdef":          "old",
				FilePrefix + "0123456789abcdef.tmp-1234": "in progress",
				"kubemesos":                              "not ours",
			},
			oldLink: FilePrefix + "0123456789abcdef",
			kept:    []string{FilePrefix + "0123456789abcdef.tmp-1234", "kubemesos"},
		},
		{name: "a link to a file that is gone", oldLink: FilePrefix + "0123456789abcdef"},
		{name: "a regular file where the link goes", before: map[string]string{LinkName: "not a link"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, c := range tc.before {
				mode := os.FileMode(0o644)
				if n == name {
					mode = tc.mode
				}
				if err := os.WriteFile(filepath.Join(dir, n), []byte(c), mode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(filepath.Join(dir, n), mode); err != nil {
					t.Fatal(err)
				}
			}
			if tc.oldLink != "" {
				if err := os.Symlink(tc.oldLink, filepath.Join(dir, LinkName)); err != nil {
					t.Fatal(err)
				}
			}
			path, err := extract(dir, content, sum)
			if err != nil {
				t.Fatal(err)
			}
			if path != filepath.Join(dir, LinkName) {
				t.Errorf("path %s, want %s", path, filepath.Join(dir, LinkName))
			}
			if target, err := os.Readlink(path); err != nil || target != name {
				t.Errorf("link to %q (%v), want %q", target, err, name)
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != string(content) {
				t.Errorf("extracted %q (%v), want %q", got, err, content)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o755 {
				t.Errorf("mode %v (%v), want 0755", fi.Mode(), err)
			}
			want := append([]string{name, LinkName}, tc.kept...)
			if have := names(t, dir); !slices.Equal(have, sorted(want)) {
				t.Errorf("directory holds %q, want %q", have, sorted(want))
			}
		})
	}
}

func TestExtractConcurrently(t *testing.T) {
	content := []byte(strings.Repeat("slim executor ", 1<<16))
	sum := sha256Hex(content)
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := extract(dir, content, sum)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if have := names(t, dir); !slices.Equal(have, []string{LinkName, FilePrefix + sum[:HashLen]}) {
		t.Fatalf("directory holds %q, want only the executor", have)
	}
}

func TestExtractIntoAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := extract(filepath.Join(file, "dir"), []byte("x"), sha256Hex([]byte("x"))); err == nil {
		t.Fatal("extracting under a regular file succeeded")
	}
}

func TestWithoutImage(t *testing.T) {
	if Embedded() {
		t.Skip("built with -tags slimexecutor")
	}
	if Image() != nil || SHA256() != "" {
		t.Error("a build without the slim executor reports an image")
	}
	if _, err := Extract(t.TempDir()); err != ErrNotEmbedded {
		t.Errorf("Extract: %v, want ErrNotEmbedded", err)
	}
	self, _ := os.Executable()
	if path, err := Executable(t.TempDir()); err != nil || path != self {
		t.Errorf("Executable: %q, %v; want this binary %q", path, err, self)
	}
	if d := Describe(); !strings.Contains(d, "no slim executor") {
		t.Errorf("Describe: %q", d)
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestEmbedded runs in a build with the slim executor (`make build`, then
// go test -tags slimexecutor ./cmd/kubemesos/app/executorbin/).
func TestEmbedded(t *testing.T) {
	if !Embedded() {
		t.Skip("built without -tags slimexecutor")
	}
	dir := t.TempDir()
	path, err := Executable(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, LinkName); path != want {
		t.Errorf("Executable: %s, want %s", path, want)
	}
	if target, err := os.Readlink(path); err != nil || target != FilePrefix+SHA256()[:HashLen] {
		t.Errorf("%s links to %q (%v), want the content-addressed file", path, target, err)
	}
	got, err := os.ReadFile(path)
	if err != nil || sha256Hex(got) != SHA256() || len(got) != len(Image()) {
		t.Errorf("extracted %d bytes (%v), want the %d of the image", len(got), err, len(Image()))
	}
	if d := Describe(); !strings.Contains(d, SHA256()[:HashLen]) {
		t.Errorf("Describe: %q, want the image's hash", d)
	}
}
