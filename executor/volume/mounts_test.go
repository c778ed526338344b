package volume

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestMounts(t *testing.T) {
	host := t.TempDir()
	outside := t.TempDir()
	mustMkdir(t, filepath.Join(host, "data"))
	if err := os.Symlink(outside, filepath.Join(host, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("data", filepath.Join(host, "inside")); err != nil {
		t.Fatal(err)
	}
	pod := testPod(
		emptyDirVolume("scratch", "", ""),
		configMapVolume("cfg", "cfg", nil),
		secretVolume("sec", "creds", nil),
		corev1.Volume{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: host}}},
	)
	s, dir, err := materialize(t, pod, testTask())
	if err != nil {
		t.Fatal(err)
	}
	vols := filepath.Join(dir, "volumes")
	cfgData, err := filepath.EvalSymlinks(filepath.Join(vols, "cfg", "app.conf"))
	if err != nil {
		t.Fatal(err)
	}
	environment := []string{"POD=web-1", "EMPTY=", "SUB=a/b"}

	tests := []struct {
		name    string
		mounts  []corev1.VolumeMount
		want    []Mount
		wantErr string
		check   func(t *testing.T)
	}{
		{
			name: "whole volumes; configMap and secret always read-only",
			mounts: []corev1.VolumeMount{
				{Name: "scratch", MountPath: "/tmp/scratch"},
				{Name: "cfg", MountPath: "/etc/app"},
				{Name: "sec", MountPath: "/run/secrets/db", ReadOnly: false},
				{Name: "host", MountPath: "/host", ReadOnly: true},
				{Name: "scratch", MountPath: "relative/path"},
			},
			want: []Mount{
				{Source: filepath.Join(vols, "scratch"), Target: "/tmp/scratch"},
				{Source: filepath.Join(vols, "cfg"), Target: "/etc/app", ReadOnly: true},
				{Source: filepath.Join(vols, "sec"), Target: "/run/secrets/db", ReadOnly: true},
				{Source: host, Target: "/host", ReadOnly: true},
				{Source: filepath.Join(vols, "scratch"), Target: "/relative/path"},
			},
		},
		{
			name:   "subPath of a configMap key resolves to its file",
			mounts: []corev1.VolumeMount{{Name: "cfg", MountPath: "/etc/app.conf", SubPath: "app.conf"}},
			want:   []Mount{{Source: cfgData, Target: "/etc/app.conf", ReadOnly: true}},
		},
		{
			name:   "missing subPath is created as a directory with the volume's mode",
			mounts: []corev1.VolumeMount{{Name: "scratch", MountPath: "/work", SubPath: "x/y"}},
			want:   []Mount{{Source: filepath.Join(vols, "scratch", "x", "y"), Target: "/work"}},
			check: func(t *testing.T) {
				info, err := os.Stat(filepath.Join(vols, "scratch", "x", "y"))
				if err != nil || !info.IsDir() {
					t.Fatalf("subPath not created: %v", err)
				}
			},
		},
		{
			name:   "subPathExpr expands the container's environment",
			mounts: []corev1.VolumeMount{{Name: "scratch", MountPath: "/logs", SubPathExpr: "logs/$(POD)/$(SUB)"}},
			want:   []Mount{{Source: filepath.Join(vols, "scratch", "logs", "web-1", "a", "b"), Target: "/logs"}},
		},
		{
			name:   "subPath through a link inside the volume",
			mounts: []corev1.VolumeMount{{Name: "host", MountPath: "/d", SubPath: "inside"}},
			want:   []Mount{{Source: filepath.Join(host, "data"), Target: "/d"}},
		},
		{
			name:    "subPathExpr with unknown and empty variables",
			mounts:  []corev1.VolumeMount{{Name: "scratch", MountPath: "/x", SubPathExpr: "$(NOPE)/$(EMPTY)/$(NOPE)"}},
			wantErr: `container app: volumeMount scratch: subPathExpr "$(NOPE)/$(EMPTY)/$(NOPE)": missing value for EMPTY, NOPE`,
		},
		{
			name:    "subPath with ..",
			mounts:  []corev1.VolumeMount{{Name: "scratch", MountPath: "/x", SubPath: "a/../../etc"}},
			wantErr: `container app: volumeMount scratch: subPath "a/../../etc": must not contain '..'`,
		},
		{
			name:    "subPathExpr expanding to ..",
			mounts:  []corev1.VolumeMount{{Name: "scratch", MountPath: "/x", SubPathExpr: "$(UP)"}},
			wantErr: `subPath "..": must not contain '..'`,
		},
		{
			name:    "absolute subPath",
			mounts:  []corev1.VolumeMount{{Name: "scratch", MountPath: "/x", SubPath: "/etc"}},
			wantErr: `subPath "/etc": must not be an absolute path`,
		},
		{
			name:    "subPath escaping through a symbolic link",
			mounts:  []corev1.VolumeMount{{Name: "host", MountPath: "/x", SubPath: "escape"}},
			wantErr: `container app: volumeMount host: subPath "escape": resolves to ` + outside + `, outside the volume`,
		},
		{
			name:    "missing subPath below a symbolic link that escapes",
			mounts:  []corev1.VolumeMount{{Name: "host", MountPath: "/x", SubPath: "escape/new/dir"}},
			wantErr: "outside the volume",
			check: func(t *testing.T) {
				if _, err := os.Stat(filepath.Join(outside, "new")); !os.IsNotExist(err) {
					t.Errorf("created a directory outside the volume: %v", err)
				}
			},
		},
		{
			name:    "unknown volume",
			mounts:  []corev1.VolumeMount{{Name: "nope", MountPath: "/x"}},
			wantErr: `cannot find volume "nope" to mount into container "app"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &corev1.Container{Name: "app", VolumeMounts: tt.mounts}
			got, err := s.Mounts(c, append(environment, "UP=.."))
			if tt.check != nil {
				defer tt.check(t)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("mounts\n got  %+v\n want %+v", got, tt.want)
			}
		})
	}
}
