package podtask

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubemesos/kubemesos/executor/protocol"
)

// Resolver reads what a pod refers to from the Kubernetes API. found is
// false for an object that does not exist (optional references allow it).
type Resolver interface {
	ConfigMap(ctx context.Context, namespace, name string) (data map[string][]byte, found bool, err error)
	Secret(ctx context.Context, namespace, name string) (data map[string][]byte, found bool, err error)
	// Token is a service account token bound to pod.
	Token(ctx context.Context, pod *corev1.Pod, serviceAccount, audience string, expirationSeconds int64) ([]byte, error)
}

// Node is what the payload says about where the pod runs.
type Node struct {
	Name   string
	HostIP string
}

// Payload builds the executor's PodTask for pod, bound to node, and encodes
// it for TaskInfo.data. The pod is sent with spec.nodeName set.
func Payload(ctx context.Context, pod *corev1.Pod, node Node, r Resolver) ([]byte, error) {
	pod = pod.DeepCopy()
	pod.Spec.NodeName = node.Name
	t := &protocol.PodTask{
		ConfigMaps:           map[string]*protocol.Content{},
		Secrets:              map[string]*protocol.Content{},
		ServiceAccountTokens: map[string][]byte{},
		Fields: map[string]string{
			"spec.nodeName":           node.Name,
			"spec.serviceAccountName": pod.Spec.ServiceAccountName,
			"status.hostIP":           node.HostIP,
			"status.hostIPs":          node.HostIP,
			// The process runtime shares the host's network.
			"status.podIP":  node.HostIP,
			"status.podIPs": node.HostIP,
		},
		HostPorts: HostPorts(pod),
	}
	cms, secrets := References(pod)
	for _, name := range cms {
		data, found, err := r.ConfigMap(ctx, pod.Namespace, name)
		if err != nil {
			return nil, fmt.Errorf("configmap %s/%s: %w", pod.Namespace, name, err)
		}
		t.ConfigMaps[name] = &protocol.Content{Found: found, Data: data}
	}
	for _, name := range secrets {
		data, found, err := r.Secret(ctx, pod.Namespace, name)
		if err != nil {
			return nil, fmt.Errorf("secret %s/%s: %w", pod.Namespace, name, err)
		}
		t.Secrets[name] = &protocol.Content{Found: found, Data: data}
	}
	for _, v := range pod.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			sat := src.ServiceAccountToken
			if sat == nil {
				continue
			}
			exp := int64(3600)
			if sat.ExpirationSeconds != nil {
				exp = *sat.ExpirationSeconds
			}
			sa := pod.Spec.ServiceAccountName
			if sa == "" {
				sa = "default"
			}
			tok, err := r.Token(ctx, pod, sa, sat.Audience, exp)
			if err != nil {
				return nil, fmt.Errorf("token of service account %s/%s for volume %s: %w", pod.Namespace, sa, v.Name, err)
			}
			t.ServiceAccountTokens[v.Name+"/"+sat.Path] = tok
		}
	}
	return protocol.EncodePodTask(pod, t)
}

// References lists the ConfigMaps and Secrets pod refers to (volumes,
// projected sources, env and envFrom of every container), sorted.
func References(pod *corev1.Pod) (configMaps, secrets []string) {
	cm, sec := map[string]bool{}, map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		if v.ConfigMap != nil {
			cm[v.ConfigMap.Name] = true
		}
		if v.Secret != nil {
			sec[v.Secret.SecretName] = true
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.ConfigMap != nil {
					cm[s.ConfigMap.Name] = true
				}
				if s.Secret != nil {
					sec[s.Secret.Name] = true
				}
			}
		}
	}
	for _, c := range allContainers(pod) {
		for _, e := range c.EnvFrom {
			if e.ConfigMapRef != nil {
				cm[e.ConfigMapRef.Name] = true
			}
			if e.SecretRef != nil {
				sec[e.SecretRef.Name] = true
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				cm[r.Name] = true
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				sec[r.Name] = true
			}
		}
	}
	return sortedSet(cm), sortedSet(sec)
}

// HostPorts maps "<container>/<port name or containerPort>/<protocol>" to
// the host port of every container port that asks for one.
func HostPorts(pod *corev1.Pod) map[string]uint32 {
	out := map[string]uint32{}
	for _, c := range allContainers(pod) {
		for _, p := range c.Ports {
			if p.HostPort <= 0 {
				continue
			}
			name := p.Name
			if name == "" {
				name = strconv.Itoa(int(p.ContainerPort))
			}
			proto := p.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			out[c.Name+"/"+name+"/"+string(proto)] = uint32(p.HostPort)
		}
	}
	return out
}

func allContainers(pod *corev1.Pod) []corev1.Container {
	return append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...)
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
