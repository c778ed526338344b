package volume

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestHostPath(t *testing.T) {
	host := t.TempDir()
	mustWrite(t, filepath.Join(host, "file"), "f")
	mustMkdir(t, filepath.Join(host, "dir"))
	sock := filepath.Join(host, "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	if err := os.Symlink("dir", filepath.Join(host, "link-to-dir")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		path    string
		typ     corev1.HostPathType
		check   func(t *testing.T, p string)
		wantErr string
	}{
		{name: "unset type checks nothing", path: "absent", typ: corev1.HostPathUnset},
		{name: "Directory", path: "dir", typ: corev1.HostPathDirectory},
		{name: "Directory through a symbolic link", path: "link-to-dir", typ: corev1.HostPathDirectory},
		{name: "Directory that is a file", path: "file", typ: corev1.HostPathDirectory,
			wantErr: "hostPath type check failed: HOST/file is not a directory, it's a File"},
		{name: "Directory missing", path: "absent", typ: corev1.HostPathDirectory,
			wantErr: "hostPath type check failed, HOST/absent is not a directory, unable to determine its type"},
		{name: "DirectoryOrCreate creates with parents", path: "new/sub", typ: corev1.HostPathDirectoryOrCreate,
			check: func(t *testing.T, p string) {
				if info, err := os.Stat(p); err != nil || !info.IsDir() || info.Mode().Perm() != 0o755 {
					t.Errorf("created %v %v, want a 0755 directory", info, err)
				}
			}},
		{name: "DirectoryOrCreate existing directory", path: "dir", typ: corev1.HostPathDirectoryOrCreate},
		{name: "DirectoryOrCreate on a file", path: "file", typ: corev1.HostPathDirectoryOrCreate,
			wantErr: "is not a directory, it's a File"},
		{name: "File", path: "file", typ: corev1.HostPathFile},
		{name: "File that is a directory", path: "dir", typ: corev1.HostPathFile,
			wantErr: "hostPath type check failed: HOST/dir is not a file, it's a Directory"},
		{name: "FileOrCreate creates an empty file", path: "dir/new", typ: corev1.HostPathFileOrCreate,
			check: func(t *testing.T, p string) {
				if info, err := os.Stat(p); err != nil || !info.Mode().IsRegular() || info.Size() != 0 || info.Mode().Perm() != 0o644 {
					t.Errorf("created %v %v, want an empty 0644 file", info, err)
				}
			}},
		{name: "FileOrCreate keeps an existing file", path: "file", typ: corev1.HostPathFileOrCreate,
			check: func(t *testing.T, p string) {
				if b, _ := os.ReadFile(p); string(b) != "f" {
					t.Errorf("content %q", b)
				}
			}},
		{name: "FileOrCreate does not create the parent", path: "nodir/new", typ: corev1.HostPathFileOrCreate,
			wantErr: "hostPath: create file"},
		{name: "FileOrCreate on a directory", path: "dir", typ: corev1.HostPathFileOrCreate,
			wantErr: "is not a file, it's a Directory"},
		{name: "Socket", path: "s.sock", typ: corev1.HostPathSocket},
		{name: "Socket that is a file", path: "file", typ: corev1.HostPathSocket,
			wantErr: "is not a socket file, it's a File"},
		{name: "CharDevice", path: "/dev/null", typ: corev1.HostPathCharDev},
		{name: "CharDevice that is a socket", path: "s.sock", typ: corev1.HostPathCharDev,
			wantErr: "is not a character device, it's a Socket"},
		{name: "BlockDevice that is a character device", path: "/dev/null", typ: corev1.HostPathBlockDev,
			wantErr: "hostPath type check failed: /dev/null is not a block device, it's a CharDevice"},
		{name: "invalid type", path: "dir", typ: "Fifo", wantErr: "hostPath: Fifo is an invalid volume type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.path
			if !filepath.IsAbs(p) {
				p = filepath.Join(host, p)
			}
			vol := corev1.Volume{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: p, Type: &tt.typ}}}
			s, _, err := materialize(t, testPod(vol), testTask())
			if tt.wantErr != "" {
				want := strings.ReplaceAll(tt.wantErr, "HOST", host)
				if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "volume h: ") {
					t.Fatalf("err = %v, want one starting with \"volume h: \" containing %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Path("h"); got != p {
				t.Errorf("path %s, want %s", got, p)
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

func TestHostPathWithoutType(t *testing.T) {
	host := t.TempDir()
	vol := corev1.Volume{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: host + "/x/../y"}}}
	s, _, err := materialize(t, testPod(vol), testTask())
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Path("h"); got != filepath.Join(host, "y") {
		t.Errorf("path %s", got)
	}
	if _, err := os.Stat(filepath.Join(host, "y")); !os.IsNotExist(err) {
		t.Errorf("a hostPath without type created something: %v", err)
	}
}

func mustWrite(t *testing.T, p, data string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustMkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}
