package env

import (
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

func testPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web", Namespace: "prod", UID: "uid-1",
			Labels:      map[string]string{"app": "web", "tier": "front"},
			Annotations: map[string]string{"note": "a \"quoted\" value"},
		},
		Spec: corev1.PodSpec{NodeName: "agent-1", ServiceAccountName: "builder"},
	}
}

func testTask() *protocol.PodTask {
	return &protocol.PodTask{
		ConfigMaps: map[string]*protocol.Content{
			"cfg":     content("B", "2", "A", "1", "bad=key", "x", "LEVEL", "debug"),
			"other":   content("A", "from-other"),
			"missing": {Found: false},
		},
		Secrets: map[string]*protocol.Content{
			"creds": content("USER", "admin", "PASS", "s3cret"),
		},
		Fields: map[string]string{"status.hostIP": "10.0.0.5", "status.podIP": "10.0.0.5"},
	}
}

func cmKey(name, key string, optional *bool) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key, Optional: optional}}
}

func secretKey(name, key string, optional *bool) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key, Optional: optional}}
}

func field(path string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
}

func resourceField(container, res, divisor string) *corev1.EnvVarSource {
	sel := &corev1.ResourceFieldSelector{ContainerName: container, Resource: res}
	if divisor != "" {
		sel.Divisor = resource.MustParse(divisor)
	}
	return &corev1.EnvVarSource{ResourceFieldRef: sel}
}

func TestContainer(t *testing.T) {
	tests := []struct {
		name    string
		c       corev1.Container
		task    func(*protocol.PodTask)
		want    []string
		wantErr string
	}{
		{
			name: "plain values in order",
			c:    corev1.Container{Env: []corev1.EnvVar{{Name: "Z", Value: "26"}, {Name: "A", Value: "1"}, {Name: "EMPTY"}}},
			want: []string{"Z=26", "A=1", "EMPTY="},
		},
		{
			name: "envFrom keys sorted, invalid names skipped, prefix prepended",
			c: corev1.Container{EnvFrom: []corev1.EnvFromSource{
				{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}},
				{Prefix: "DB_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}},
			}},
			want: []string{"A=1", "B=2", "LEVEL=debug", "DB_PASS=s3cret", "DB_USER=admin"},
		},
		{
			name: "later envFrom overrides earlier value and keeps first position",
			c: corev1.Container{EnvFrom: []corev1.EnvFromSource{
				{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}},
				{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "other"}}},
			}},
			want: []string{"A=from-other", "B=2", "LEVEL=debug"},
		},
		{
			name: "env overrides envFrom",
			c: corev1.Container{
				EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "other"}}}},
				Env:     []corev1.EnvVar{{Name: "X", Value: "x"}, {Name: "A", Value: "env"}},
			},
			want: []string{"A=env", "X=x"},
		},
		{
			name: "optional envFrom source missing is skipped",
			c: corev1.Container{EnvFrom: []corev1.EnvFromSource{
				{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "missing"}, Optional: ptr(true)}},
				{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Optional: ptr(true)}},
			}, Env: []corev1.EnvVar{{Name: "K", Value: "v"}}},
			want: []string{"K=v"},
		},
		{
			name: "required envFrom ConfigMap missing",
			c: corev1.Container{Name: "app", EnvFrom: []corev1.EnvFromSource{
				{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "missing"}}},
			}},
			wantErr: "container app: envFrom[0]: ConfigMap prod/missing not found",
		},
		{
			name: "required envFrom Secret never sent",
			c: corev1.Container{Name: "app", EnvFrom: []corev1.EnvFromSource{
				{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Optional: ptr(false)}},
			}},
			wantErr: "container app: envFrom[0]: Secret prod/absent not found",
		},
		{
			name: "expansion of earlier variables, $$ escape, unknown kept",
			c: corev1.Container{
				EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "other"}}}},
				Env: []corev1.EnvVar{
					{Name: "LATER_REF", Value: "$(HOST)"},
					{Name: "HOST", Value: "db"},
					{Name: "URL", Value: "http://$(HOST):80/$(A)?q=$$(HOST)&u=$(NOPE)"},
				},
			},
			want: []string{"A=from-other", "LATER_REF=$(HOST)", "HOST=db", "URL=http://db:80/from-other?q=$(HOST)&u=$(NOPE)"},
		},
		{
			name: "valueFrom results are not expanded",
			c: corev1.Container{Env: []corev1.EnvVar{
				{Name: "X", Value: "x"},
				{Name: "RAW", ValueFrom: secretKey("dollar", "v", nil)},
			}},
			task: func(t *protocol.PodTask) { t.Secrets["dollar"] = content("v", "$(X)") },
			want: []string{"X=x", "RAW=$(X)"},
		},
		{
			name: "configMapKeyRef and secretKeyRef",
			c: corev1.Container{Env: []corev1.EnvVar{
				{Name: "LOG", ValueFrom: cmKey("cfg", "LEVEL", nil)},
				{Name: "PW", ValueFrom: secretKey("creds", "PASS", ptr(false))},
			}},
			want: []string{"LOG=debug", "PW=s3cret"},
		},
		{
			name: "optional key refs missing leave the variable undefined or as before",
			c: corev1.Container{
				EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "other"}}}},
				Env: []corev1.EnvVar{
					{Name: "A", ValueFrom: cmKey("cfg", "NOPE", ptr(true))},
					{Name: "B", ValueFrom: cmKey("missing", "X", ptr(true))},
					{Name: "C", ValueFrom: secretKey("absent", "X", ptr(true))},
					{Name: "D", ValueFrom: secretKey("creds", "NOPE", ptr(true))},
				},
			},
			want: []string{"A=from-other"},
		},
		{
			name:    "required ConfigMap key missing",
			c:       corev1.Container{Name: "app", Env: []corev1.EnvVar{{Name: "LOG", ValueFrom: cmKey("cfg", "NOPE", nil)}}},
			wantErr: "container app: env LOG: couldn't find key NOPE in ConfigMap prod/cfg",
		},
		{
			name:    "required ConfigMap missing",
			c:       corev1.Container{Name: "app", Env: []corev1.EnvVar{{Name: "LOG", ValueFrom: cmKey("missing", "K", nil)}}},
			wantErr: "container app: env LOG: ConfigMap prod/missing not found",
		},
		{
			name:    "required Secret key missing",
			c:       corev1.Container{Name: "app", Env: []corev1.EnvVar{{Name: "PW", ValueFrom: secretKey("creds", "NOPE", ptr(false))}}},
			wantErr: "container app: env PW: couldn't find key NOPE in Secret prod/creds",
		},
		{
			name:    "required Secret missing",
			c:       corev1.Container{Name: "app", Env: []corev1.EnvVar{{Name: "PW", ValueFrom: secretKey("absent", "K", nil)}}},
			wantErr: "container app: env PW: Secret prod/absent not found",
		},
		{
			name: "downward API fields",
			c: corev1.Container{Env: []corev1.EnvVar{
				{Name: "NAME", ValueFrom: field("metadata.name")},
				{Name: "NS", ValueFrom: field("metadata.namespace")},
				{Name: "UID", ValueFrom: field("metadata.uid")},
				{Name: "APP", ValueFrom: field("metadata.labels['app']")},
				{Name: "NOLABEL", ValueFrom: field("metadata.labels['none']")},
				{Name: "NOTE", ValueFrom: field("metadata.annotations['note']")},
				{Name: "NODE", ValueFrom: field("spec.nodeName")},
				{Name: "SA", ValueFrom: field("spec.serviceAccountName")},
				{Name: "HOST_IP", ValueFrom: field("status.hostIP")},
				{Name: "HOST_IPS", ValueFrom: field("status.hostIPs")},
				{Name: "POD_IP", ValueFrom: field("status.podIP")},
				{Name: "POD_IPS", ValueFrom: field("status.podIPs")},
				{Name: "LABELS", ValueFrom: field("metadata.labels")},
			}},
			want: []string{"NAME=web", "NS=prod", "UID=uid-1", "APP=web", "NOLABEL=", `NOTE=a "quoted" value`,
				"NODE=agent-1", "SA=builder", "HOST_IP=10.0.0.5", "HOST_IPS=10.0.0.5", "POD_IP=10.0.0.5", "POD_IPS=10.0.0.5",
				"LABELS=app=\"web\"\ntier=\"front\""},
		},
		{
			name: "dual-stack IP lists from the task",
			c: corev1.Container{Env: []corev1.EnvVar{
				{Name: "HOST_IP", ValueFrom: field("status.hostIP")},
				{Name: "HOST_IPS", ValueFrom: field("status.hostIPs")},
				{Name: "POD_IP", ValueFrom: field("status.podIP")},
				{Name: "POD_IPS", ValueFrom: field("status.podIPs")},
			}},
			task: func(t *protocol.PodTask) {
				t.Fields = map[string]string{"status.hostIPs": "10.0.0.5,fd00::5", "status.podIPs": "10.0.0.6,fd00::6"}
			},
			want: []string{"HOST_IP=10.0.0.5", "HOST_IPS=10.0.0.5,fd00::5", "POD_IP=10.0.0.6", "POD_IPS=10.0.0.6,fd00::6"},
		},
		{
			name: "fields missing from the pod come from the task",
			c: corev1.Container{Env: []corev1.EnvVar{
				{Name: "NODE", ValueFrom: field("spec.nodeName")},
				{Name: "SA", ValueFrom: field("spec.serviceAccountName")},
			}},
			task: func(t *protocol.PodTask) {
				t.Fields["spec.nodeName"] = "from-task"
				t.Fields["spec.serviceAccountName"] = "sa-from-task"
			},
			want: []string{"NODE=agent-1", "SA=builder"},
		},
		{
			name:    "unsupported field",
			c:       corev1.Container{Name: "app", Env: []corev1.EnvVar{{Name: "PHASE", ValueFrom: field("status.phase")}}},
			wantErr: "container app: env PHASE: unsupported fieldPath: status.phase",
		},
		{
			name:    "subscript on a field without one",
			c:       corev1.Container{Name: "app", Env: []corev1.EnvVar{{Name: "X", ValueFrom: field("metadata.name['x']")}}},
			wantErr: `container app: env X: fieldPath "metadata.name['x']" does not support subscript`,
		},
		{
			name:    "invalid label key",
			c:       corev1.Container{Name: "app", Env: []corev1.EnvVar{{Name: "X", ValueFrom: field("metadata.labels['-bad-']")}}},
			wantErr: "container app: env X: invalid key subscript in metadata.labels['-bad-']",
		},
		{
			name: "other API version",
			c: corev1.Container{Name: "app", Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v2", FieldPath: "metadata.name"}}}}},
			wantErr: `container app: env X: fieldRef metadata.name: unsupported API version "v2"`,
		},
		{
			name: "resource fields with divisors",
			c: corev1.Container{
				Name: "app",
				Resources: corev1.ResourceRequirements{
					Limits:   corev1.ResourceList{"cpu": resource.MustParse("1500m"), "memory": resource.MustParse("128Mi"), "hugepages-2Mi": resource.MustParse("4Mi")},
					Requests: corev1.ResourceList{"cpu": resource.MustParse("250m"), "memory": resource.MustParse("64Mi"), "ephemeral-storage": resource.MustParse("1G")},
				},
				Env: []corev1.EnvVar{
					{Name: "CPU_LIMIT", ValueFrom: resourceField("", "limits.cpu", "")},
					{Name: "CPU_LIMIT_M", ValueFrom: resourceField("", "limits.cpu", "1m")},
					{Name: "CPU_REQ", ValueFrom: resourceField("", "requests.cpu", "")},
					{Name: "MEM_LIMIT_MI", ValueFrom: resourceField("", "limits.memory", "1Mi")},
					{Name: "MEM_REQ", ValueFrom: resourceField("app", "requests.memory", "")},
					{Name: "MEM_REQ_M", ValueFrom: resourceField("", "requests.memory", "1M")},
					{Name: "EPH_REQ_KI", ValueFrom: resourceField("", "requests.ephemeral-storage", "1Ki")},
					{Name: "EPH_LIMIT", ValueFrom: resourceField("", "limits.ephemeral-storage", "")},
					{Name: "HUGE", ValueFrom: resourceField("", "limits.hugepages-2Mi", "1Mi")},
					{Name: "HUGE_REQ", ValueFrom: resourceField("", "requests.hugepages-2Mi", "")},
				},
			},
			want: []string{"CPU_LIMIT=2", "CPU_LIMIT_M=1500", "CPU_REQ=1", "MEM_LIMIT_MI=128", "MEM_REQ=67108864", "MEM_REQ_M=68",
				"EPH_REQ_KI=976563", "EPH_LIMIT=1000000000", "HUGE=4", "HUGE_REQ=0"},
		},
		{
			name: "limits default to the agent's allocatable from the task",
			c: corev1.Container{
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{"cpu": resource.MustParse("100m")}},
				Env: []corev1.EnvVar{
					{Name: "CPU", ValueFrom: resourceField("", "limits.cpu", "")},
					{Name: "MEM", ValueFrom: resourceField("", "limits.memory", "1Gi")},
				},
			},
			task: func(t *protocol.PodTask) {
				t.Fields[AllocatableField+"cpu"] = "8"
				t.Fields[AllocatableField+"memory"] = "32Gi"
			},
			want: []string{"CPU=8", "MEM=32"},
		},
		{
			name: "limits default to the request without allocatable, then to unlimited memory",
			c: corev1.Container{
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{"cpu": resource.MustParse("2")}},
				Env: []corev1.EnvVar{
					{Name: "CPU", ValueFrom: resourceField("", "limits.cpu", "")},
					{Name: "MEM", ValueFrom: resourceField("", "limits.memory", "")},
					{Name: "EPH_MI", ValueFrom: resourceField("", "limits.ephemeral-storage", "1Mi")},
				},
			},
			want: []string{"CPU=2", "MEM=9223372036854775807", "EPH_MI=8796093022208"},
		},
		{
			name: "resource of another container by name, including init containers",
			c: corev1.Container{Name: "app", Env: []corev1.EnvVar{
				{Name: "SIDE", ValueFrom: resourceField("side", "limits.memory", "1Mi")},
				{Name: "INIT", ValueFrom: resourceField("setup", "requests.cpu", "1m")},
			}},
			want: []string{"SIDE=32", "INIT=100"},
		},
		{
			name:    "resource of an unknown container",
			c:       corev1.Container{Name: "app", Env: []corev1.EnvVar{{Name: "X", ValueFrom: resourceField("ghost", "limits.cpu", "")}}},
			wantErr: "container app: env X: resourceFieldRef limits.cpu: container ghost not found",
		},
		{
			name:    "unsupported resource",
			c:       corev1.Container{Name: "app", Env: []corev1.EnvVar{{Name: "X", ValueFrom: resourceField("", "limits.gpu", "")}}},
			wantErr: "container app: env X: unsupported container resource: limits.gpu",
		},
		{
			name: "fileKeyRef is refused",
			c: corev1.Container{Name: "app", Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{
				FileKeyRef: &corev1.FileKeySelector{VolumeName: "v", Path: "p", Key: "k"}}}}},
			wantErr: "container app: env X: valueFrom.fileKeyRef is not supported",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := testPod()
			pod.Spec.Containers = []corev1.Container{tt.c, {Name: "side", Resources: corev1.ResourceRequirements{
				Limits: corev1.ResourceList{"memory": resource.MustParse("32Mi")}}}}
			pod.Spec.InitContainers = []corev1.Container{{Name: "setup", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{"cpu": resource.MustParse("100m")}}}}
			task := testTask()
			if tt.task != nil {
				tt.task(task)
			}
			got, err := Container(pod, &pod.Spec.Containers[0], task)
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
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestResourceValueCPUDefaultsToHostCPUs(t *testing.T) {
	pod := testPod()
	pod.Spec.Containers = []corev1.Container{{Name: "app"}}
	got, err := ResourceValue(pod, &pod.Spec.Containers[0], &protocol.PodTask{}, &corev1.ResourceFieldSelector{Resource: "limits.cpu"})
	if err != nil {
		t.Fatal(err)
	}
	if got == "0" || got == "" {
		t.Errorf("limits.cpu without limit, request or allocatable = %q, want the host's CPU count", got)
	}
}

func TestResourceValuePodLevelLimit(t *testing.T) {
	pod := testPod()
	pod.Spec.Resources = &corev1.ResourceRequirements{Limits: corev1.ResourceList{"memory": resource.MustParse("1Gi")}}
	pod.Spec.Containers = []corev1.Container{{Name: "app"}}
	task := &protocol.PodTask{Fields: map[string]string{AllocatableField + "memory": "64Gi"}}
	got, err := ResourceValue(pod, &pod.Spec.Containers[0], task, &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")})
	if err != nil {
		t.Fatal(err)
	}
	if got != "1024" {
		t.Errorf("limits.memory under a pod-level limit = %s, want 1024", got)
	}
}
