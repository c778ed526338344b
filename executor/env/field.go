package env

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubemesos/kubemesos/executor/protocol"
)

// FieldValue returns the downward-API value sel selects (API version v1)
// for pod, as a kubelet would:
// metadata.* from the pod; spec.nodeName and spec.serviceAccountName from
// the pod, or from task.Fields when the pod leaves them empty; status.hostIP,
// status.hostIPs, status.podIP and status.podIPs from task.Fields, or from
// the pod's status when the framework did not send them.
func FieldValue(pod *corev1.Pod, task *protocol.PodTask, sel *corev1.ObjectFieldSelector) (string, error) {
	apiVersion, fieldPath := sel.APIVersion, sel.FieldPath
	if apiVersion != "" && apiVersion != "v1" {
		return "", fmt.Errorf("fieldRef %s: unsupported API version %q (only v1)", fieldPath, apiVersion)
	}
	fields := task.GetFields()
	if path, subscript, ok := splitSubscript(fieldPath); ok {
		switch path {
		case "metadata.annotations":
			if errs := validation.IsQualifiedName(strings.ToLower(subscript)); len(errs) != 0 {
				return "", fmt.Errorf("invalid key subscript in %s: %s", fieldPath, strings.Join(errs, ";"))
			}
			return pod.Annotations[subscript], nil
		case "metadata.labels":
			if errs := validation.IsQualifiedName(subscript); len(errs) != 0 {
				return "", fmt.Errorf("invalid key subscript in %s: %s", fieldPath, strings.Join(errs, ";"))
			}
			return pod.Labels[subscript], nil
		default:
			return "", fmt.Errorf("fieldPath %q does not support subscript", fieldPath)
		}
	}
	switch fieldPath {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName", "spec.host":
		return firstNonEmpty(pod.Spec.NodeName, fields["spec.nodeName"]), nil
	case "spec.serviceAccountName":
		return firstNonEmpty(pod.Spec.ServiceAccountName, fields["spec.serviceAccountName"]), nil
	case "status.hostIP":
		return firstNonEmpty(fields["status.hostIP"], firstIP(fields["status.hostIPs"]), pod.Status.HostIP), nil
	case "status.hostIPs":
		return firstNonEmpty(fields["status.hostIPs"], fields["status.hostIP"], joinHostIPs(pod.Status.HostIPs), pod.Status.HostIP), nil
	case "status.podIP":
		return firstNonEmpty(fields["status.podIP"], firstIP(fields["status.podIPs"]), pod.Status.PodIP), nil
	case "status.podIPs":
		return firstNonEmpty(fields["status.podIPs"], fields["status.podIP"], joinPodIPs(pod.Status.PodIPs), pod.Status.PodIP), nil
	}
	return "", fmt.Errorf("unsupported fieldPath: %s", fieldPath)
}

// splitSubscript splits "metadata.labels['key']" into its path and key.
func splitSubscript(fieldPath string) (path, subscript string, ok bool) {
	s, found := strings.CutSuffix(fieldPath, "']")
	if !found {
		return fieldPath, "", false
	}
	path, subscript, found = strings.Cut(s, "['")
	if !found || path == "" {
		return fieldPath, "", false
	}
	return path, subscript, true
}

// formatMap renders labels or annotations as the downward API does: one
// key="quoted value" per line, keys sorted.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b []byte
	for _, k := range keys {
		if len(b) > 0 {
			b = append(b, '\n')
		}
		b = append(b, k...)
		b = append(b, '=')
		b = strconv.AppendQuote(b, m[k])
	}
	return string(b)
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// firstIP is the first address of a comma-separated list.
func firstIP(list string) string {
	first, _, _ := strings.Cut(list, ",")
	return first
}

func joinHostIPs(ips []corev1.HostIP) string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.IP
	}
	return strings.Join(s, ",")
}

func joinPodIPs(ips []corev1.PodIP) string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.IP
	}
	return strings.Join(s, ",")
}
