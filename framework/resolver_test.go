package framework

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// TestResolverReadsTheCacheFirst checks that ConfigMaps and Secrets are read
// with resourceVersion "0" (kube-apiserver's watch cache), and that an
// object the cache does not have yet is read once more from etcd before it
// counts as missing.
func TestResolverReadsTheCacheFirst(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cacheHasIt bool
		etcdHasIt  bool
		wantFound  bool
		wantReads  []string // resourceVersion of each read
	}{
		{name: "in the cache", cacheHasIt: true, etcdHasIt: true, wantFound: true, wantReads: []string{"0"}},
		{name: "newer than the cache", cacheHasIt: false, etcdHasIt: true, wantFound: true, wantReads: []string{"0", ""}},
		{name: "nowhere", wantReads: []string{"0", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kube := fake.NewClientset()
			var reads []string
			kube.PrependReactor("get", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
				get := a.(k8stesting.GetActionImpl)
				rv := get.GetOptions.ResourceVersion
				reads = append(reads, rv)
				has := tc.etcdHasIt
				if rv == "0" {
					has = tc.cacheHasIt
				}
				if !has {
					return true, nil, apierrors.NewNotFound(schema.GroupResource{Resource: a.GetResource().Resource}, get.Name)
				}
				meta := metav1.ObjectMeta{Namespace: "ns", Name: get.Name}
				if a.GetResource().Resource == "secrets" {
					return true, &corev1.Secret{ObjectMeta: meta, Data: map[string][]byte{"k": []byte("v")}}, nil
				}
				return true, &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"k": "v"}}, nil
			})
			r := kubeResolver{kube: kube}
			for kind, read := range map[string]func(context.Context, string, string) (map[string][]byte, bool, error){
				"configmap": r.ConfigMap, "secret": r.Secret,
			} {
				reads = nil
				data, found, err := read(context.Background(), "ns", "x")
				if err != nil || found != tc.wantFound {
					t.Fatalf("%s: found %v, err %v", kind, found, err)
				}
				if found && string(data["k"]) != "v" {
					t.Errorf("%s: data %q", kind, data)
				}
				if len(reads) != len(tc.wantReads) {
					t.Fatalf("%s: reads with resourceVersion %q, want %q", kind, reads, tc.wantReads)
				}
				for i := range reads {
					if reads[i] != tc.wantReads[i] {
						t.Errorf("%s: reads with resourceVersion %q, want %q", kind, reads, tc.wantReads)
					}
				}
			}
		})
	}
}
