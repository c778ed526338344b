package podtask

import (
	"context"
	"errors"
	"strings"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubemesos/kubemesos/executor/protocol"
)

func TestTaskIDRoundTrip(t *testing.T) {
	if id := TaskID("1234"); id != "pod-1234" {
		t.Fatalf("TaskID = %q", id)
	}
	for _, tc := range []struct {
		id   string
		uid  string
		ours bool
	}{{"pod-1234", "1234", true}, {"pod-", "", false}, {"other", "", false}} {
		uid, ok := PodUID(tc.id)
		if ok != tc.ours || string(uid) != tc.uid {
			t.Errorf("PodUID(%q) = %q, %v", tc.id, uid, ok)
		}
	}
}

func TestCheck(t *testing.T) {
	withCmd := corev1.Container{Name: "c", Command: []string{"true"}}
	for _, tc := range []struct {
		name string
		spec corev1.PodSpec
		want string // substring of the error; "" for none
	}{
		{"command and supported volumes", corev1.PodSpec{Containers: []corev1.Container{withCmd}, Volumes: []corev1.Volume{
			{Name: "e", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{}}},
		}}, ""},
		{"pvc", corev1.PodSpec{Containers: []corev1.Container{withCmd}, Volumes: []corev1.Volume{
			{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "x"}}},
		}}, `volume "data": persistentVolumeClaim volumes are not supported`},
		{"no command", corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}}, `container "web" has neither command nor args`},
		{"args alone are the command line", corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "busybox", Args: []string{"sleep", "1"}}}}, ""},
		{"init container without command", corev1.PodSpec{InitContainers: []corev1.Container{{Name: "init"}}, Containers: []corev1.Container{withCmd}}, `container "init" has neither command nor args`},
	} {
		err := Check(&corev1.Pod{Spec: tc.spec})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestTaskAndExecutor(t *testing.T) {
	grace := int64(7)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-1", UID: "u1"},
		Spec:       corev1.PodSpec{TerminationGracePeriodSeconds: &grace},
	}
	exec := Executor(ExecutorConfig{ID: "kubemesos", URI: "http://fw:8080/kubemesos"}, "fw-1", nil)
	task := Task(pod, "agent-1", []mesos.Resource{{Name: "cpus"}}, exec, []byte("data"))
	if task.TaskID.Value != "pod-u1" || task.Name != "ns/web-1" || task.AgentID.Value != "agent-1" || string(task.Data) != "data" {
		t.Fatalf("task = %+v", task)
	}
	if task.KillPolicy.GetGracePeriod().GetNanoseconds() != 7e9 {
		t.Errorf("kill policy = %+v", task.KillPolicy)
	}
	labels := map[string]string{}
	for _, l := range task.Labels.Labels {
		labels[l.Key] = l.GetValue()
	}
	if labels[LabelNamespace] != "ns" || labels[LabelName] != "web-1" || labels[LabelUID] != "u1" {
		t.Errorf("labels = %v", labels)
	}
	e := task.Executor
	if e.ExecutorID.Value != "kubemesos" || e.Command.GetValue() != DefaultExecutorCommand || len(e.Command.URIs) != 1 ||
		!e.Command.URIs[0].GetExecutable() || e.Command.URIs[0].GetOutputFile() != "kubemesos" || e.FrameworkID.GetValue() != "fw-1" {
		t.Errorf("executor = %+v", e)
	}
}

type fakeResolver struct{ tokens []string }

func (f *fakeResolver) ConfigMap(_ context.Context, ns, name string) (map[string][]byte, bool, error) {
	if name == "missing" {
		return nil, false, nil
	}
	return map[string][]byte{"k": []byte(ns + "/" + name)}, true, nil
}

func (f *fakeResolver) Secret(_ context.Context, _, name string) (map[string][]byte, bool, error) {
	if name == "broken" {
		return nil, false, errors.New("forbidden")
	}
	return map[string][]byte{"password": []byte("s3cret")}, true, nil
}

func (f *fakeResolver) Token(_ context.Context, pod *corev1.Pod, sa, aud string, exp int64) ([]byte, error) {
	f.tokens = append(f.tokens, sa+"|"+aud)
	return []byte("token-for-" + pod.Name), nil
}

func TestPayload(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "u"},
		Spec: corev1.PodSpec{
			ServiceAccountName: "builder",
			Volumes: []corev1.Volume{
				{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "app"}}}},
				{Name: "api", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", Audience: "api"}},
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}}},
				}}}},
			},
			Containers: []corev1.Container{{
				Name: "main", Command: []string{"run"},
				Env: []corev1.EnvVar{
					{Name: "PW", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}},
					{Name: "OPT", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "missing"}, Key: "x"}}},
				},
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80, HostPort: 31080}, {ContainerPort: 53, HostPort: 31053, Protocol: corev1.ProtocolUDP}, {ContainerPort: 9}},
			}},
		},
	}
	r := &fakeResolver{}
	data, err := Payload(context.Background(), pod, Node{Name: "node-1", HostIP: "10.0.0.5"}, r)
	if err != nil {
		t.Fatal(err)
	}
	task, got, err := protocol.DecodePodTask(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.NodeName != "node-1" || pod.Spec.NodeName != "" {
		t.Errorf("nodeName in payload %q, caller's pod changed: %q", got.Spec.NodeName, pod.Spec.NodeName)
	}
	if c := task.ConfigMaps["app"]; !c.GetFound() || string(c.Data["k"]) != "ns/app" {
		t.Errorf("configmap app = %+v", c)
	}
	if c := task.ConfigMaps["missing"]; c == nil || c.GetFound() {
		t.Errorf("missing configmap = %+v, want found=false", c)
	}
	if _, ok := task.ConfigMaps["kube-root-ca.crt"]; !ok {
		t.Error("projected configmap not resolved")
	}
	if s := task.Secrets["db"]; string(s.GetData()["password"]) != "s3cret" {
		t.Errorf("secret db = %+v", s)
	}
	if tok := string(task.ServiceAccountTokens["api/token"]); tok != "token-for-p" || r.tokens[0] != "builder|api" {
		t.Errorf("token = %q, requests %v", tok, r.tokens)
	}
	if task.Fields["spec.nodeName"] != "node-1" || task.Fields["status.hostIP"] != "10.0.0.5" || task.Fields["spec.serviceAccountName"] != "builder" {
		t.Errorf("fields = %v", task.Fields)
	}
	want := map[string]uint32{"main/http/TCP": 31080, "main/53/UDP": 31053}
	if len(task.HostPorts) != len(want) {
		t.Errorf("host ports = %v, want %v", task.HostPorts, want)
	}
	for k, v := range want {
		if task.HostPorts[k] != v {
			t.Errorf("host port %s = %d, want %d", k, task.HostPorts[k], v)
		}
	}

	pod.Spec.Containers[0].Env[0].ValueFrom.SecretKeyRef.Name = "broken"
	if _, err := Payload(context.Background(), pod, Node{Name: "node-1"}, r); err == nil || !strings.Contains(err.Error(), "secret ns/broken") {
		t.Errorf("resolver error: %v", err)
	}
}
