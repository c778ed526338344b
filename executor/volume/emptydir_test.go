package volume

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func emptyDirVolume(name string, medium corev1.StorageMedium, limit string) corev1.Volume {
	src := &corev1.EmptyDirVolumeSource{Medium: medium}
	if limit != "" {
		q := resource.MustParse(limit)
		src.SizeLimit = &q
	}
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: src}}
}

func TestEmptyDir(t *testing.T) {
	s, dir, err := materialize(t, testPod(emptyDirVolume("scratch", "", "")), testTask())
	if err != nil {
		t.Fatal(err)
	}
	path, _ := s.Path("scratch")
	if want := filepath.Join(dir, "volumes", "scratch"); path != want {
		t.Errorf("path %s, want %s", path, want)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !info.IsDir() || info.Mode().Perm() != 0o777 {
		t.Errorf("emptyDir is %v, want a directory with mode 0777", info.Mode())
	}
	if s.Memory("scratch") {
		t.Error("a disk emptyDir reported as memory")
	}
	if entries, _ := os.ReadDir(path); len(entries) != 0 {
		t.Errorf("emptyDir not empty: %v", entries)
	}
}

func TestEmptyDirUnsupportedMedium(t *testing.T) {
	_, _, err := materialize(t, testPod(emptyDirVolume("huge", corev1.StorageMediumHugePages, "")), testTask())
	want := "volume huge: emptyDir medium HugePages is not supported by the kubemesos process runtime"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

func TestOverLimit(t *testing.T) {
	s, _, err := materialize(t, testPod(
		emptyDirVolume("a-unlimited", "", ""),
		emptyDirVolume("b-small", "", "64Ki"),
		emptyDirVolume("c-large", "", "1Mi"),
	), testTask())
	if err != nil {
		t.Fatal(err)
	}
	write := func(volume, name string, size int) {
		t.Helper()
		p, _ := s.Path(volume)
		if err := os.WriteFile(filepath.Join(p, name), bytes.Repeat([]byte("x"), size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if v, used, limit, over := s.OverLimit(); over {
		t.Fatalf("empty volumes over their limit: %s %d/%d", v, used, limit)
	}
	write("a-unlimited", "big", 4<<20)
	write("b-small", "f", 16<<10)
	write("c-large", "f", 512<<10)
	if v, used, limit, over := s.OverLimit(); over {
		t.Fatalf("volumes within their limits reported over: %s %d/%d", v, used, limit)
	}

	// A hard link is counted once.
	p, _ := s.Path("b-small")
	if err := os.Link(filepath.Join(p, "f"), filepath.Join(p, "g")); err != nil {
		t.Fatal(err)
	}
	if v, used, limit, over := s.OverLimit(); over {
		t.Fatalf("hard link counted twice: %s %d/%d", v, used, limit)
	}

	write("c-large", "g", 768<<10)
	v, used, limit, over := s.OverLimit()
	if !over || v != "c-large" || limit != 1<<20 || used < 1280<<10 {
		t.Errorf("OverLimit() = %s, %d, %d, %v; want c-large, >= %d, %d, true", v, used, limit, over, 1280<<10, 1<<20)
	}

	write("b-small", "h", 128<<10)
	if v, _, _, _ := s.OverLimit(); v != "b-small" {
		t.Errorf("with two volumes over, OverLimit reports %q, want the first by name, b-small", v)
	}
}

func TestMemoryVolumesWithoutRoot(t *testing.T) {
	if canMountTmpfs() {
		t.Skip("runs as root on Linux: the tmpfs path is tested by TestTmpfs")
	}
	s, _, err := materialize(t, testPod(emptyDirVolume("mem", corev1.StorageMediumMemory, "1Mi"), secretVolume("sec", "creds", nil)), testTask())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"mem", "sec"} {
		if s.Memory(name) {
			t.Errorf("%s reported as tmpfs without root", name)
		}
	}
	p, _ := s.Path("mem")
	if info, err := os.Stat(p); err != nil || info.Mode().Perm() != 0o777 {
		t.Errorf("memory emptyDir fallback: %v %v, want a 0777 directory", info, err)
	}
	if !strings.HasSuffix(p, "/volumes/mem") {
		t.Errorf("path %s", p)
	}
}
