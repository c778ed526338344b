package runner

import (
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubemesos/kubemesos/executor/container"
	"github.com/kubemesos/kubemesos/executor/protocol"
)

// withRealEnvAndVolumes runs a pod through executor/env and executor/volume
// (the runner's defaults) with task's content.
func withRealEnvAndVolumes(task *protocol.PodTask) func(*Config) {
	return func(cfg *Config) {
		cfg.Env, cfg.Volumes, cfg.Task = nil, nil, task
	}
}

func requireNamespace(t *testing.T) {
	t.Helper()
	if !container.CanNamespace() {
		t.Skip("volumes at their mountPath need a private mount namespace: root on Linux")
	}
}

func content(kv ...string) *protocol.Content {
	c := &protocol.Content{Found: true, Data: map[string][]byte{}}
	for i := 0; i+1 < len(kv); i += 2 {
		c.Data[kv[i]] = []byte(kv[i+1])
	}
	return c
}

func TestVolumesAndEnvironmentThroughEnvAndVolume(t *testing.T) {
	requireNamespace(t)
	base := t.TempDir()
	at := func(name string) string { return filepath.Join(base, name) }
	task := &protocol.PodTask{
		ConfigMaps: map[string]*protocol.Content{"app": content("greeting", "hello", "color", "blue")},
		Secrets:    map[string]*protocol.Content{"creds": content("password", "s3cret", "user", "admin")},
		Fields:     map[string]string{"spec.nodeName": "node-1"},
		ServiceAccountTokens: map[string][]byte{
			"proj/token": []byte("jwt-token"),
		},
	}
	optional := true
	c := shell("main", `set -e
cat `+at("config")+`/greeting; echo
cat `+at("secret")+`/pw; echo
cat `+at("downward")+`/labels; echo
cat `+at("proj")+`/token `+at("proj")+`/color `+at("proj")+`/user `+at("proj")+`/name; echo
echo data > `+at("scratch")+`/file; cat `+at("scratch")+`/file
if touch `+at("config")+`/new 2>/dev/null; then echo config writable; else echo config read-only; fi
echo "FOO=$FOO BAR=$BAR GREETING=$GREETING PASSWORD=$PASSWORD POD=$POD_NAME NODE=$NODE MEM=$MEM"
echo "CM_color=$CM_color CM_greeting=$CM_greeting MISSING=${MISSING-unset}"`)
	c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}
	c.Env = []corev1.EnvVar{
		{Name: "FOO", Value: "foo"},
		{Name: "BAR", Value: "$(FOO)-bar"},
		{Name: "GREETING", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "app"}, Key: "greeting"}}},
		{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "password"}}},
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
		{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
		{Name: "MISSING", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Key: "k", Optional: &optional}}},
	}
	c.EnvFrom = []corev1.EnvFromSource{{Prefix: "CM_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "app"}}}}
	c.VolumeMounts = []corev1.VolumeMount{
		{Name: "config", MountPath: at("config")},
		{Name: "secret", MountPath: at("secret")},
		{Name: "downward", MountPath: at("downward")},
		{Name: "proj", MountPath: at("proj")},
		{Name: "scratch", MountPath: at("scratch")},
	}
	pod := podOf(corev1.RestartPolicyNever, c)
	pod.Labels = map[string]string{"app": "web"}
	pod.Spec.Volumes = []corev1.Volume{
		{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "app"}}}},
		{Name: "secret", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds", Items: []corev1.KeyToPath{{Key: "password", Path: "pw"}}}}},
		{Name: "downward", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}}}}},
		{Name: "proj", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "app"}, Items: []corev1.KeyToPath{{Key: "color", Path: "color"}}}},
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Items: []corev1.KeyToPath{{Key: "user", Path: "user"}}}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}},
		}}}},
		{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	h := startPod(t, pod, withRealEnvAndVolumes(task))
	if s := h.waitDone(); s.Phase != corev1.PodSucceeded {
		t.Fatalf("%s: %s", h.describe(s), h.logText("main", 0))
	}
	want := strings.Join([]string{
		"hello",
		"s3cret",
		`app="web"`,
		"jwt-tokenblueadminp",
		"data",
		"config read-only",
		"FOO=foo BAR=foo-bar GREETING=hello PASSWORD=s3cret POD=p NODE=node-1 MEM=64",
		"CM_color=blue CM_greeting=hello MISSING=unset",
	}, "\n")
	if got := h.logText("main", 0); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

// kubeAPIAccess is the volume the API server's service account admission
// adds to every pod.
func kubeAPIAccess(name string) corev1.Volume {
	expiration, mode := int64(3607), int32(0o644)
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		DefaultMode: &mode,
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{ExpirationSeconds: &expiration, Path: "token"}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}, Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
		},
	}}}
}

func TestDefaultServiceAccountVolume(t *testing.T) {
	requireNamespace(t)
	const dir = "/var/run/secrets/kubernetes.io/serviceaccount"
	c := shell("main", `cd `+dir+` && ls && cat token; echo; cat ca.crt; echo; cat namespace; echo
if touch new 2>/dev/null; then echo writable; else echo read-only; fi`)
	c.VolumeMounts = []corev1.VolumeMount{{Name: "kube-api-access-x7k2q", MountPath: dir, ReadOnly: true}}
	pod := podOf(corev1.RestartPolicyNever, c)
	pod.Spec.ServiceAccountName = "default"
	pod.Spec.Volumes = []corev1.Volume{kubeAPIAccess("kube-api-access-x7k2q")}
	task := &protocol.PodTask{
		ConfigMaps:           map[string]*protocol.Content{"kube-root-ca.crt": content("ca.crt", "-----BEGIN CERTIFICATE-----")},
		ServiceAccountTokens: map[string][]byte{"kube-api-access-x7k2q/token": []byte("eyJhbGciOi")},
	}
	h := startPod(t, pod, withRealEnvAndVolumes(task))
	if s := h.waitDone(); s.Phase != corev1.PodSucceeded {
		t.Fatalf("%s: %s", h.describe(s), h.logText("main", 0))
	}
	want := "ca.crt\nnamespace\ntoken\neyJhbGciOi\n-----BEGIN CERTIFICATE-----\ndefault\nread-only"
	if got := h.logText("main", 0); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

func TestMissingServiceAccountTokenFailsStart(t *testing.T) {
	pod := podOf(corev1.RestartPolicyNever, shell("main", "exit 0"))
	pod.Spec.Volumes = []corev1.Volume{kubeAPIAccess("kube-api-access-abcde")}
	task := &protocol.PodTask{ConfigMaps: map[string]*protocol.Content{"kube-root-ca.crt": content("ca.crt", "x")}}
	_, err := Start(Config{Pod: pod, Task: task, Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "kube-api-access-abcde/token") {
		t.Errorf("Start: %v", err)
	}
}
