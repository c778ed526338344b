package framework

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const frameworkIDKey = "frameworkID"

// loadFrameworkID reads the persisted framework ID ("" if none yet).
func (f *Framework) loadFrameworkID(ctx context.Context) (string, error) {
	cm, err := f.kube.CoreV1().ConfigMaps(f.cfg.Namespace).Get(ctx, FrameworkIDConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("framework: read the framework ID from configmap %s/%s: %w", f.cfg.Namespace, FrameworkIDConfigMap, err)
	}
	return cm.Data[frameworkIDKey], nil
}

// saveFrameworkID persists the framework ID so that a restart fails over.
func (f *Framework) saveFrameworkID(ctx context.Context, id string) error {
	cms := f.kube.CoreV1().ConfigMaps(f.cfg.Namespace)
	cm, err := cms.Get(ctx, FrameworkIDConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = cms.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: FrameworkIDConfigMap, Namespace: f.cfg.Namespace},
			Data:       map[string]string{frameworkIDKey: id},
		}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[frameworkIDKey] = id
	_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	return err
}
