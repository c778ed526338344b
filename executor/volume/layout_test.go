package volume

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// The atomic writer's layout: a timestamped directory, ..data pointing to
// it, and one link per top-level name.
func TestAtomicWriterLayout(t *testing.T) {
	vol := configMapVolume("cfg", "cfg", func(s *corev1.ConfigMapVolumeSource) {
		s.Items = []corev1.KeyToPath{{Key: "app.conf", Path: "etc/app.conf"}, {Key: "log.level", Path: "level"}}
	})
	s, _, err := materialize(t, testPod(vol), testTask())
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := s.Path("cfg")
	data, err := os.Readlink(filepath.Join(dir, "..data"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(data, "..20") || strings.Contains(data, "/") {
		t.Errorf("..data -> %q, want a timestamped directory beside it", data)
	}
	for name, want := range map[string]string{"etc": "..data/etc", "level": "..data/level"} {
		got, err := os.Readlink(filepath.Join(dir, name))
		if err != nil || got != want {
			t.Errorf("%s -> %q (%v), want %q", name, got, err, want)
		}
	}
	want := []string{"..data", data, "etc", "level"}
	sort.Strings(want)
	if got := names(t, dir); !reflect.DeepEqual(got, want) {
		t.Errorf("entries %q", got)
	}
}

// Materializing again (an executor restart) replaces the version as a
// whole: new content, stale links and the old version removed, emptyDir
// content kept.
func TestMaterializeAgain(t *testing.T) {
	dir := t.TempDir()
	empty := corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	first := testPod(configMapVolume("cfg", "cfg", nil), empty)
	s1, err := Materialize(first, testTask(), dir)
	if err != nil {
		t.Fatal(err)
	}
	scratch, _ := s1.Path("scratch")
	if err := os.WriteFile(filepath.Join(scratch, "keep"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgDir, _ := s1.Path("cfg")
	oldData, _ := os.Readlink(filepath.Join(cfgDir, "..data"))
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	task := testTask()
	task.ConfigMaps["cfg"] = content("app.conf", "port=8080")
	s2, err := Materialize(first, task, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s2.Close() })

	if got := visible(t, cfgDir); !reflect.DeepEqual(got, map[string]entry{"app.conf": {"port=8080", 0o644}}) {
		t.Errorf("after rewrite: %v", got)
	}
	if _, err := os.Lstat(filepath.Join(cfgDir, oldData)); !os.IsNotExist(err) {
		t.Errorf("old data directory %s still there: %v", oldData, err)
	}
	if got := names(t, cfgDir); len(got) != 3 {
		t.Errorf("entries after rewrite %q, want ..data, one version and app.conf", got)
	}
	if b, err := os.ReadFile(filepath.Join(scratch, "keep")); err != nil || string(b) != "x" {
		t.Errorf("emptyDir content lost: %q %v", b, err)
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
	sort.Strings(out)
	return out
}
