// Package env computes a container's environment the way a kubelet does:
// envFrom, then env (with valueFrom ConfigMap and Secret keys, downward-API
// fields and resource fields), with $(VAR) references expanded; and expands
// $(VAR) references in command, args and subPathExpr with Kubernetes'
// expansion rules. It reads only the pod and the content the framework sent
// in the PodTask, never the Kubernetes API.
package env

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubemesos/kubemesos/executor/protocol"
)

// Container returns c's environment as "KEY=value" entries. A required
// reference that cannot be resolved is an error naming the variable (or
// the envFrom entry) and its source.
//
// The rules are the kubelet's (makeEnvironmentVariables): envFrom sources in
// order, each ConfigMap's or Secret's keys with the prefix prepended; then
// env in order, where a value has $(VAR) references expanded against the
// variables defined so far and a valueFrom is resolved without expansion.
// A later definition of a name replaces the earlier value. The kubelet
// emits the resulting map in no particular order; this function keeps each
// name at the position of its first definition (envFrom keys sorted within
// their source), so the result is deterministic.
//
// A ConfigMap, Secret or key marked optional that is missing leaves the
// variable undefined (an earlier definition of it stays). Keys that cannot
// be environment variable names in a process environment (empty, or
// containing '=' or NUL) are skipped, as an older kubelet skipped invalid
// names; other keys are used as they are, as a current kubelet does.
func Container(pod *corev1.Pod, c *corev1.Container, task *protocol.PodTask) ([]string, error) {
	var b builder
	for i, from := range c.EnvFrom {
		if err := b.addFrom(pod.Namespace, task, &from); err != nil {
			return nil, fmt.Errorf("container %s: envFrom[%d]: %w", c.Name, i, err)
		}
	}
	for _, v := range c.Env {
		value, ok, err := resolve(pod, c, task, &v, b.values)
		if err != nil {
			return nil, fmt.Errorf("container %s: env %s: %w", c.Name, v.Name, err)
		}
		if ok {
			b.set(v.Name, value)
		}
	}
	return b.list(), nil
}

// builder collects variables in first-definition order.
type builder struct {
	names  []string
	values map[string]string
}

func (b *builder) set(name, value string) {
	if b.values == nil {
		b.values = make(map[string]string)
	}
	if _, ok := b.values[name]; !ok {
		b.names = append(b.names, name)
	}
	b.values[name] = value
}

func (b *builder) list() []string {
	out := make([]string, len(b.names))
	for i, n := range b.names {
		out[i] = n + "=" + b.values[n]
	}
	return out
}

// addFrom adds the keys of one envFrom source.
func (b *builder) addFrom(namespace string, task *protocol.PodTask, from *corev1.EnvFromSource) error {
	var (
		kind, name string
		optional   *bool
		content    *protocol.Content
	)
	switch {
	case from.ConfigMapRef != nil:
		kind, name, optional = "ConfigMap", from.ConfigMapRef.Name, from.ConfigMapRef.Optional
		content = task.GetConfigMaps()[name]
	case from.SecretRef != nil:
		kind, name, optional = "Secret", from.SecretRef.Name, from.SecretRef.Optional
		content = task.GetSecrets()[name]
	default:
		return nil
	}
	if !content.GetFound() {
		if isTrue(optional) {
			return nil
		}
		return fmt.Errorf("%s %s/%s not found", kind, namespace, name)
	}
	keys := make([]string, 0, len(content.GetData()))
	for k := range content.GetData() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		key := from.Prefix + k
		if !representable(key) {
			continue
		}
		b.set(key, string(content.GetData()[k]))
	}
	return nil
}

// representable reports whether name can be a variable of a process
// environment ("name=value", NUL-terminated).
func representable(name string) bool {
	return name != "" && !strings.ContainsAny(name, "=\x00")
}

// resolve computes one env entry's value; ok is false when an optional
// reference is missing and the variable stays undefined.
func resolve(pod *corev1.Pod, c *corev1.Container, task *protocol.PodTask, v *corev1.EnvVar, defined map[string]string) (value string, ok bool, err error) {
	if v.Value != "" || v.ValueFrom == nil {
		return ExpandFunc(v.Value, keepUnknown(defined)), true, nil
	}
	from := v.ValueFrom
	switch {
	case from.FieldRef != nil:
		value, err = FieldValue(pod, task, from.FieldRef)
		return value, err == nil, err
	case from.ResourceFieldRef != nil:
		value, err = ResourceValue(pod, c, task, from.ResourceFieldRef)
		return value, err == nil, err
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		return keyValue("ConfigMap", pod.Namespace, ref.Name, ref.Key, ref.Optional, task.GetConfigMaps()[ref.Name])
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		return keyValue("Secret", pod.Namespace, ref.Name, ref.Key, ref.Optional, task.GetSecrets()[ref.Name])
	case from.FileKeyRef != nil:
		return "", false, fmt.Errorf("valueFrom.fileKeyRef is not supported by the kubemesos process runtime")
	}
	return "", false, fmt.Errorf("valueFrom sets no source")
}

// keyValue is key of a ConfigMap or Secret for a configMapKeyRef or
// secretKeyRef.
func keyValue(kind, namespace, name, key string, optional *bool, content *protocol.Content) (string, bool, error) {
	if !content.GetFound() {
		if isTrue(optional) {
			return "", false, nil
		}
		return "", false, fmt.Errorf("%s %s/%s not found", kind, namespace, name)
	}
	data, ok := content.GetData()[key]
	if !ok {
		if isTrue(optional) {
			return "", false, nil
		}
		return "", false, fmt.Errorf("couldn't find key %s in %s %s/%s", key, kind, namespace, name)
	}
	return string(data), true, nil
}

func isTrue(b *bool) bool { return b != nil && *b }
