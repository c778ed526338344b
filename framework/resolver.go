package framework

import (
	"context"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// rootCAName is the ConfigMap with the cluster's CA bundle that
// kube-controller-manager keeps in every namespace: the projected volume of
// every pod that mounts its service account token reads it.
const rootCAName = "kube-root-ca.crt"

// kubeResolver reads ConfigMaps, Secrets and service account tokens with
// client-go, for pod payloads. ConfigMaps and Secrets are read from
// kube-apiserver's watch cache first (resourceVersion "0": no etcd read,
// as a kubelet's watch-based managers do); only an object the cache does not
// have yet is read again from etcd before it counts as missing. The root CA
// ConfigMaps, which nearly every pod refers to, come from a watch of their
// own (rootCA, once synced), so they cost no request per pod.
type kubeResolver struct {
	kube         kubernetes.Interface
	rootCA       corelisters.ConfigMapLister
	rootCASynced cache.InformerSynced
}

// fromCache is a read served by kube-apiserver's watch cache.
var fromCache = metav1.GetOptions{ResourceVersion: "0"}

// getCachedFirst reads an object from the watch cache, then, if the cache
// says it does not exist, from etcd; found is false when neither has it.
func getCachedFirst[T any](ctx context.Context, get func(context.Context, string, metav1.GetOptions) (T, error), name string) (obj T, found bool, err error) {
	obj, err = get(ctx, name, fromCache)
	if apierrors.IsNotFound(err) {
		obj, err = get(ctx, name, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		return obj, false, nil
	}
	return obj, err == nil, err
}

func (r kubeResolver) ConfigMap(ctx context.Context, ns, name string) (map[string][]byte, bool, error) {
	if name == rootCAName && r.rootCASynced != nil && r.rootCASynced() {
		// One the watch has not seen (a namespace just created) is read.
		if cm, err := r.rootCA.ConfigMaps(ns).Get(name); err == nil {
			return configMapData(cm), true, nil
		}
	}
	cm, found, err := getCachedFirst(ctx, r.kube.CoreV1().ConfigMaps(ns).Get, name)
	if !found {
		return nil, false, err
	}
	return configMapData(cm), true, nil
}

func configMapData(cm *corev1.ConfigMap) map[string][]byte {
	out := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
	for k, v := range cm.Data {
		out[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		out[k] = v
	}
	return out
}

func (r kubeResolver) Secret(ctx context.Context, ns, name string) (map[string][]byte, bool, error) {
	s, found, err := getCachedFirst(ctx, r.kube.CoreV1().Secrets(ns).Get, name)
	if !found {
		return nil, false, err
	}
	out := make(map[string][]byte, len(s.Data)+len(s.StringData))
	for k, v := range s.Data {
		out[k] = v
	}
	for k, v := range s.StringData {
		out[k] = []byte(v)
	}
	return out, true, nil
}

func (r kubeResolver) Token(ctx context.Context, pod *corev1.Pod, sa, audience string, exp int64) ([]byte, error) {
	req := &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			ExpirationSeconds: &exp,
			BoundObjectRef: &authenticationv1.BoundObjectReference{
				Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID,
			},
		},
	}
	if audience != "" {
		req.Spec.Audiences = []string{audience}
	}
	tr, err := r.kube.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	return []byte(tr.Status.Token), nil
}
