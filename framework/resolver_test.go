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

// TestResolverWatchesRootCAs checks that the root CA ConfigMap every pod's
// token volume projects is served from the resolver's watch once it synced,
// with no request per pod; one the watch has not seen, and other ConfigMaps,
// are still read from the API server.
func TestResolverWatchesRootCAs(t *testing.T) {
	kube := fake.NewClientset(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: rootCAName}, Data: map[string]string{"ca.crt": "CA"}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "other"}, Data: map[string]string{"k": "v"}},
	)
	var gets []string
	kube.PrependReactor("get", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		gets = append(gets, a.GetNamespace()+"/"+a.(k8stesting.GetActionImpl).Name)
		return false, nil, nil
	})
	f, err := New(Config{MesosURL: "http://127.0.0.1:1", ExecutorURI: "http://127.0.0.1:1/kubemesos"}, kube, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := f.resolv.(kubeResolver)
	if !ok || f.rootCAs == nil {
		t.Fatalf("the framework's resolver is %T with no root CA watch", f.resolv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.rootCAs.Start(ctx.Done())
	defer func() { cancel(); f.rootCAs.Shutdown() }()
	for typ, synced := range f.rootCAs.WaitForCacheSync(ctx.Done()) {
		if !synced {
			t.Fatalf("%v did not sync", typ)
		}
	}
	for range 3 {
		data, found, err := r.ConfigMap(ctx, "a", rootCAName)
		if err != nil || !found || string(data["ca.crt"]) != "CA" {
			t.Fatalf("root CA of a: %q, found %v, err %v", data, found, err)
		}
	}
	if len(gets) != 0 {
		t.Fatalf("the watched root CA was read from the API server: %q", gets)
	}
	if _, found, err := r.ConfigMap(ctx, "b", rootCAName); err != nil || found {
		t.Fatalf("root CA of b, which exists nowhere: found %v, err %v", found, err)
	}
	if data, found, err := r.ConfigMap(ctx, "a", "other"); err != nil || !found || string(data["k"]) != "v" {
		t.Fatalf("other ConfigMap: %q, found %v, err %v", data, found, err)
	}
	// b's root CA: the cache, then etcd; other: the cache.
	if want := []string{"b/" + rootCAName, "b/" + rootCAName, "a/other"}; len(gets) != len(want) || gets[0] != want[0] || gets[1] != want[1] || gets[2] != want[2] {
		t.Fatalf("reads %q, want %q", gets, want)
	}
}
