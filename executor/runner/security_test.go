package runner

import (
	"reflect"
	"strings"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCredential(t *testing.T) {
	for _, tc := range []struct {
		name    string
		euid    int // the executor's user
		pod     *corev1.PodSecurityContext
		ctr     *corev1.SecurityContext
		want    *syscall.Credential
		wantErr string
	}{
		{"nothing asked", 0, nil, nil, nil, ""},
		{"group only, as root", 0, &corev1.PodSecurityContext{RunAsGroup: int64p(7)}, nil, &syscall.Credential{Uid: 0, Gid: 7}, ""},
		{"fsGroup joins the groups once", 0, &corev1.PodSecurityContext{RunAsUser: int64p(1000), RunAsGroup: int64p(1000), SupplementalGroups: []int64{5, 6}, FSGroup: int64p(6)}, nil,
			&syscall.Credential{Uid: 1000, Gid: 1000, Groups: []uint32{5, 6}}, ""},
		{"container over pod", 0, &corev1.PodSecurityContext{RunAsUser: int64p(1000), RunAsGroup: int64p(1000)}, &corev1.SecurityContext{RunAsUser: int64p(2000)},
			&syscall.Credential{Uid: 2000, Gid: 1000}, ""},
		{"not root: ignored", 1000, &corev1.PodSecurityContext{RunAsUser: int64p(2000)}, nil, nil, ""},
		{"not root: runAsNonRoot passes", 1000, &corev1.PodSecurityContext{RunAsNonRoot: boolp(true)}, nil, nil, ""},
		{"not root: runAsUser 0 breaks runAsNonRoot", 1000, nil, &corev1.SecurityContext{RunAsNonRoot: boolp(true), RunAsUser: int64p(0)}, nil,
			`container's runAsUser breaks non-root policy (pod: "p_ns(u1)", container: main)`},
		{"root: runAsNonRoot without a user", 0, &corev1.PodSecurityContext{RunAsNonRoot: boolp(true)}, nil, nil,
			`container has runAsNonRoot and image will run as root (pod: "p_ns(u1)", container: main)`},
		{"container turns runAsNonRoot off", 0, &corev1.PodSecurityContext{RunAsNonRoot: boolp(true)}, &corev1.SecurityContext{RunAsNonRoot: boolp(false)}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := corev1.Container{Name: "main", SecurityContext: tc.ctr}
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1"}, Spec: corev1.PodSpec{SecurityContext: tc.pod, Containers: []corev1.Container{c}}}
			p := &Pod{cfg: Config{Pod: pod}, euid: tc.euid}
			got, err := p.credential(&c)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("credential %+v %v, want %+v", got, err, tc.want)
			}
		})
	}
}
