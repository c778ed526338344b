package volume

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubemesos/kubemesos/executor/protocol"
)

func ptr[T any](v T) *T { return &v }

func content(kv ...string) *protocol.Content {
	c := &protocol.Content{Found: true, Data: map[string][]byte{}}
	for i := 0; i+1 < len(kv); i += 2 {
		c.Data[kv[i]] = []byte(kv[i+1])
	}
	return c
}

func testPod(volumes ...corev1.Volume) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web", Namespace: "prod", UID: "uid-1",
			Labels: map[string]string{"app": "web"},
		},
		Spec: corev1.PodSpec{
			NodeName: "agent-1",
			Volumes:  volumes,
			Containers: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{
				Limits: corev1.ResourceList{"memory": resource.MustParse("64Mi")}}}},
		},
	}
}

func testTask() *protocol.PodTask {
	return &protocol.PodTask{
		ConfigMaps: map[string]*protocol.Content{
			"cfg":  content("app.conf", "port=80", "log.level", "debug"),
			"gone": {Found: false},
		},
		Secrets: map[string]*protocol.Content{
			"creds": content("user", "admin", "pass", "s3cret"),
		},
		ServiceAccountTokens: map[string][]byte{"token/token": []byte("jwt")},
	}
}

// materialize runs Materialize in a temporary sandbox and closes the Set
// when the test ends.
func materialize(t *testing.T, pod *corev1.Pod, task *protocol.PodTask) (*Set, string, error) {
	t.Helper()
	dir := t.TempDir()
	s, err := Materialize(pod, task, dir)
	if s != nil {
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	return s, dir, err
}

// entry is a file of a volume as a container sees it.
type entry struct {
	Data string
	Mode fs.FileMode
}

// visible reads the files of a volume directory as a container sees them:
// through the user-visible links, skipping the "..*" entries of the atomic
// writer.
func visible(t *testing.T, dir string) map[string]entry {
	t.Helper()
	got := map[string]entry{}
	var walk func(rel string)
	walk = func(rel string) {
		entries, err := os.ReadDir(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if rel == "" && strings.HasPrefix(e.Name(), "..") {
				continue
			}
			p := filepath.Join(rel, e.Name())
			info, err := os.Stat(filepath.Join(dir, p))
			if err != nil {
				t.Fatal(err)
			}
			if info.IsDir() {
				walk(p)
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, p))
			if err != nil {
				t.Fatal(err)
			}
			got[filepath.ToSlash(p)] = entry{string(data), info.Mode().Perm()}
		}
	}
	walk("")
	return got
}

func configMapVolume(name, cm string, mutate func(*corev1.ConfigMapVolumeSource)) corev1.Volume {
	src := &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm}}
	if mutate != nil {
		mutate(src)
	}
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{ConfigMap: src}}
}

func secretVolume(name, secret string, mutate func(*corev1.SecretVolumeSource)) corev1.Volume {
	src := &corev1.SecretVolumeSource{SecretName: secret}
	if mutate != nil {
		mutate(src)
	}
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Secret: src}}
}

func projectedVolume(name string, mode *int32, sources ...corev1.VolumeProjection) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: sources, DefaultMode: mode}}}
}

func TestMaterializeFiles(t *testing.T) {
	tests := []struct {
		name    string
		volume  corev1.Volume
		task    func(*protocol.PodTask)
		want    map[string]entry
		wantErr string
	}{
		{
			name:   "configMap: every key, default mode 0644",
			volume: configMapVolume("v", "cfg", nil),
			want:   map[string]entry{"app.conf": {"port=80", 0o644}, "log.level": {"debug", 0o644}},
		},
		{
			name: "configMap: defaultMode",
			volume: configMapVolume("v", "cfg", func(s *corev1.ConfigMapVolumeSource) {
				s.DefaultMode = ptr(int32(0o400))
			}),
			want: map[string]entry{"app.conf": {"port=80", 0o400}, "log.level": {"debug", 0o400}},
		},
		{
			name: "configMap: items select keys, set paths and modes",
			volume: configMapVolume("v", "cfg", func(s *corev1.ConfigMapVolumeSource) {
				s.DefaultMode = ptr(int32(0o640))
				s.Items = []corev1.KeyToPath{
					{Key: "app.conf", Path: "etc/app/app.conf", Mode: ptr(int32(0o600))},
					{Key: "log.level", Path: "level"},
				}
			}),
			want: map[string]entry{"etc/app/app.conf": {"port=80", 0o600}, "level": {"debug", 0o640}},
		},
		{
			name: "configMap: required item key missing",
			volume: configMapVolume("v", "cfg", func(s *corev1.ConfigMapVolumeSource) {
				s.Items = []corev1.KeyToPath{{Key: "nope", Path: "nope"}}
			}),
			wantErr: "volume v: ConfigMap prod/cfg has no key nope (items[].key)",
		},
		{
			name: "configMap: optional item key missing is skipped",
			volume: configMapVolume("v", "cfg", func(s *corev1.ConfigMapVolumeSource) {
				s.Optional = ptr(true)
				s.Items = []corev1.KeyToPath{{Key: "nope", Path: "nope"}, {Key: "log.level", Path: "level"}}
			}),
			want: map[string]entry{"level": {"debug", 0o644}},
		},
		{
			name:    "configMap: required ConfigMap not found",
			volume:  configMapVolume("v", "gone", nil),
			wantErr: "volume v: ConfigMap prod/gone not found",
		},
		{
			name:    "configMap: ConfigMap never sent",
			volume:  configMapVolume("v", "unknown", func(s *corev1.ConfigMapVolumeSource) { s.Optional = ptr(false) }),
			wantErr: "volume v: ConfigMap prod/unknown not found",
		},
		{
			name:   "configMap: optional ConfigMap not found is an empty volume",
			volume: configMapVolume("v", "gone", func(s *corev1.ConfigMapVolumeSource) { s.Optional = ptr(true) }),
			want:   map[string]entry{},
		},
		{
			name: "configMap: item path with ..",
			volume: configMapVolume("v", "cfg", func(s *corev1.ConfigMapVolumeSource) {
				s.Items = []corev1.KeyToPath{{Key: "app.conf", Path: "../escape"}}
			}),
			wantErr: "volume v: invalid path: must not contain '..': ../escape",
		},
		{
			name: "configMap: absolute item path",
			volume: configMapVolume("v", "cfg", func(s *corev1.ConfigMapVolumeSource) {
				s.Items = []corev1.KeyToPath{{Key: "app.conf", Path: "/etc/passwd"}}
			}),
			wantErr: "volume v: invalid path: must be relative path: /etc/passwd",
		},
		{
			name: "configMap: item path starting with ..",
			volume: configMapVolume("v", "cfg", func(s *corev1.ConfigMapVolumeSource) {
				s.Items = []corev1.KeyToPath{{Key: "app.conf", Path: "..data"}}
			}),
			wantErr: "volume v: invalid path: must not start with '..': ..data",
		},
		{
			name:   "secret: every key, default mode 0644",
			volume: secretVolume("v", "creds", nil),
			want:   map[string]entry{"user": {"admin", 0o644}, "pass": {"s3cret", 0o644}},
		},
		{
			name: "secret: items and modes",
			volume: secretVolume("v", "creds", func(s *corev1.SecretVolumeSource) {
				s.DefaultMode = ptr(int32(0o440))
				s.Items = []corev1.KeyToPath{{Key: "pass", Path: "db/password", Mode: ptr(int32(0o400))}, {Key: "user", Path: "db/user"}}
			}),
			want: map[string]entry{"db/password": {"s3cret", 0o400}, "db/user": {"admin", 0o440}},
		},
		{
			name:    "secret: required Secret not found",
			volume:  secretVolume("v", "absent", nil),
			wantErr: "volume v: Secret prod/absent not found",
		},
		{
			name:   "secret: optional Secret not found is an empty volume",
			volume: secretVolume("v", "absent", func(s *corev1.SecretVolumeSource) { s.Optional = ptr(true) }),
			want:   map[string]entry{},
		},
		{
			name: "secret: required item key missing",
			volume: secretVolume("v", "creds", func(s *corev1.SecretVolumeSource) {
				s.Items = []corev1.KeyToPath{{Key: "token", Path: "token"}}
			}),
			wantErr: "volume v: Secret prod/creds has no key token (items[].key)",
		},
		{
			name: "downwardAPI: fields and resources with modes",
			volume: corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
				DefaultMode: ptr(int32(0o444)),
				Items: []corev1.DownwardAPIVolumeFile{
					{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}},
					{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}, Mode: ptr(int32(0o400))},
					{Path: "meta/app", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}},
					{Path: "mem", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "app", Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}},
				},
			}}},
			want: map[string]entry{"name": {"web", 0o444}, "labels": {`app="web"`, 0o400}, "meta/app": {"web", 0o444}, "mem": {"64", 0o444}},
		},
		{
			name: "downwardAPI: unsupported field",
			volume: corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
				Items: []corev1.DownwardAPIVolumeFile{{Path: "x", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.phase"}}},
			}}},
			wantErr: "volume v: downwardAPI item x: unsupported fieldPath: status.phase",
		},
		{
			name: "downwardAPI: resource of an unknown container",
			volume: corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
				Items: []corev1.DownwardAPIVolumeFile{{Path: "x", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "ghost", Resource: "limits.cpu"}}},
			}}},
			wantErr: "volume v: downwardAPI item x: resourceFieldRef limits.cpu: container ghost not found",
		},
		{
			name: "projected: all supported sources, later ones win",
			volume: projectedVolume("token", ptr(int32(0o440)),
				corev1.VolumeProjection{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"},
					Items: []corev1.KeyToPath{{Key: "app.conf", Path: "app.conf"}, {Key: "log.level", Path: "shared"}}}},
				corev1.VolumeProjection{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"},
					Items: []corev1.KeyToPath{{Key: "pass", Path: "shared", Mode: ptr(int32(0o400))}}}},
				corev1.VolumeProjection{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
					{Path: "ns", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
				corev1.VolumeProjection{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", Audience: "api"}},
			),
			want: map[string]entry{"app.conf": {"port=80", 0o440}, "shared": {"s3cret", 0o400}, "ns": {"prod", 0o440}, "token": {"jwt", 0o440}},
		},
		{
			name: "projected: default mode 0644 and optional sources missing",
			volume: projectedVolume("v", nil,
				corev1.VolumeProjection{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}, Optional: ptr(true)}},
				corev1.VolumeProjection{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Optional: ptr(true)}},
				corev1.VolumeProjection{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}},
			),
			want: map[string]entry{"user": {"admin", 0o644}, "pass": {"s3cret", 0o644}},
		},
		{
			name: "projected: required source missing",
			volume: projectedVolume("v", nil,
				corev1.VolumeProjection{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}},
				corev1.VolumeProjection{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}}},
			),
			wantErr: "volume v: sources[1]: ConfigMap prod/gone not found",
		},
		{
			name: "projected: service account token missing from the task",
			volume: projectedVolume("kube-api-access", nil,
				corev1.VolumeProjection{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}}),
			wantErr: "volume kube-api-access: sources[0]: the task carries no service account token kube-api-access/token",
		},
		{
			name: "projected: clusterTrustBundle",
			volume: projectedVolume("v", nil,
				corev1.VolumeProjection{ClusterTrustBundle: &corev1.ClusterTrustBundleProjection{Path: "ca.crt"}}),
			wantErr: "volume v: sources[0]: projected source clusterTrustBundle is unsupported by the kubemesos process runtime",
		},
		{
			name: "projected: podCertificate",
			volume: projectedVolume("v", nil,
				corev1.VolumeProjection{PodCertificate: &corev1.PodCertificateProjection{SignerName: "x/y"}}),
			wantErr: "volume v: sources[0]: projected source podCertificate is unsupported by the kubemesos process runtime",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := testTask()
			if tt.task != nil {
				tt.task(task)
			}
			s, _, err := materialize(t, testPod(tt.volume), task)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			path, ok := s.Path(tt.volume.Name)
			if !ok {
				t.Fatalf("no volume %s", tt.volume.Name)
			}
			if got := visible(t, path); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("files:\n got  %v\n want %v", got, tt.want)
			}
		})
	}
}

func TestMaterializeUnsupportedTypes(t *testing.T) {
	tests := []struct {
		source corev1.VolumeSource
		want   string
	}{
		{corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}}, "persistentVolumeClaim"},
		{corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "d"}}, "csi"},
		{corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "s", Path: "/"}}, "nfs"},
		{corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}, "ephemeral"},
		{corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "busybox"}}, "image"},
		{corev1.VolumeSource{GitRepo: &corev1.GitRepoVolumeSource{Repository: "r"}}, "gitRepo"},
		{corev1.VolumeSource{}, "(none)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			pod := testPod(corev1.Volume{Name: "empty", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				corev1.Volume{Name: "data", VolumeSource: tt.source})
			_, _, err := materialize(t, pod, testTask())
			want := "volume data: type " + tt.want + " is not supported by the kubemesos process runtime"
			if err == nil || err.Error() != want {
				t.Fatalf("err = %v, want %q", err, want)
			}
		})
	}
}

func TestMaterializeRejectsBadNames(t *testing.T) {
	for _, name := range []string{"", "..", "a/b"} {
		pod := testPod(corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		if _, _, err := materialize(t, pod, testTask()); err == nil || !strings.Contains(err.Error(), "invalid volume name") {
			t.Errorf("volume %q: err = %v, want invalid volume name", name, err)
		}
	}
	empty := corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	if _, _, err := materialize(t, testPod(empty, empty), testTask()); err == nil || !strings.Contains(err.Error(), "volume v: defined twice") {
		t.Errorf("duplicate volume: err = %v", err)
	}
}
