package podbench

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// podHandler sees every pod event of a watch (existing pods as Added).
type podHandler func(watch.EventType, *corev1.Pod)

// watchPods lists the pods of namespace ns ("" for all) matching opts, hands
// them to handle, then watches from the list's resource version, resuming
// where it stopped when the server ends the watch and listing again when
// that version is gone. It calls started once, when the first watch is
// open, and returns when ctx ends.
func watchPods(ctx context.Context, client kubernetes.Interface, ns string, opts metav1.ListOptions, started func(), handle podHandler) error {
	pods := client.CoreV1().Pods(ns)
	rv := ""
	relist := true
	for ctx.Err() == nil {
		if relist {
			list, err := pods.List(ctx, opts)
			if err != nil {
				if ctx.Err() != nil {
					break
				}
				return fmt.Errorf("list pods: %w", err)
			}
			for i := range list.Items {
				handle(watch.Added, &list.Items[i])
			}
			rv, relist = list.ResourceVersion, false
		}
		wopts := opts
		wopts.ResourceVersion = rv
		wopts.AllowWatchBookmarks = true
		w, err := pods.Watch(ctx, wopts)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return fmt.Errorf("watch pods: %w", err)
		}
		if started != nil {
			started()
			started = nil
		}
		rv, relist, err = drain(ctx, w, rv, handle)
		w.Stop()
		if err != nil {
			return err
		}
	}
	return nil
}

// drain handles a watch's events until it ends, and returns the last
// resource version seen and whether the next watch must list again.
func drain(ctx context.Context, w watch.Interface, rv string, handle podHandler) (string, bool, error) {
	for {
		select {
		case <-ctx.Done():
			return rv, false, nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return rv, false, nil
			}
			switch ev.Type {
			case watch.Error:
				err := apierrors.FromObject(ev.Object)
				var status apierrors.APIStatus
				if errors.As(err, &status) && (status.Status().Code == http.StatusGone || status.Status().Code == http.StatusInternalServerError) {
					return rv, true, nil
				}
				return rv, false, fmt.Errorf("watch pods: %w", err)
			case watch.Bookmark:
				if pod, ok := ev.Object.(*corev1.Pod); ok {
					rv = pod.ResourceVersion
				}
			default:
				pod, ok := ev.Object.(*corev1.Pod)
				if !ok {
					return rv, false, fmt.Errorf("watch pods: unexpected %T", ev.Object)
				}
				rv = pod.ResourceVersion
				handle(ev.Type, pod)
			}
		}
	}
}
