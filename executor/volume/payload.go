package volume

import (
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubemesos/kubemesos/executor/env"
	"github.com/kubemesos/kubemesos/executor/protocol"
)

// defaultMode is the mode of files in configMap, secret, downwardAPI and
// projected volumes when the pod does not set defaultMode (the API default).
const defaultMode = 0o644

// file is the content and mode of one file of a volume.
type file struct {
	data []byte
	mode os.FileMode
}

// payload is the files of a volume by path relative to it.
type payload map[string]file

// payloadOf computes the files of a configMap, secret, downwardAPI or
// projected volume.
func payloadOf(pod *corev1.Pod, task *protocol.PodTask, v *corev1.Volume) (payload, error) {
	files := payload{}
	src := &v.VolumeSource
	var err error
	switch {
	case src.ConfigMap != nil:
		cm := src.ConfigMap
		err = files.addKeys("ConfigMap", pod.Namespace, cm.Name, task.GetConfigMaps()[cm.Name], cm.Items, modeOr(cm.DefaultMode), cm.Optional)
	case src.Secret != nil:
		sec := src.Secret
		err = files.addKeys("Secret", pod.Namespace, sec.SecretName, task.GetSecrets()[sec.SecretName], sec.Items, modeOr(sec.DefaultMode), sec.Optional)
	case src.DownwardAPI != nil:
		err = files.addDownwardAPI(pod, task, src.DownwardAPI.Items, modeOr(src.DownwardAPI.DefaultMode))
	case src.Projected != nil:
		err = files.addProjected(pod, task, v.Name, src.Projected)
	}
	if err != nil {
		return nil, err
	}
	for p := range files {
		if err := validatePath(p); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// modeOr is mode, or defaultMode when unset.
func modeOr(mode *int32) os.FileMode {
	if mode == nil {
		return defaultMode
	}
	return os.FileMode(*mode) & os.ModePerm
}

// addKeys adds the files of a ConfigMap or Secret as a kubelet does: every
// key as a file of that name, or only the items, each at its path with its
// mode. A missing object is an empty volume if optional, an error
// otherwise; a missing item key likewise.
func (files payload) addKeys(kind, namespace, name string, content *protocol.Content, items []corev1.KeyToPath, mode os.FileMode, optional *bool) error {
	isOptional := optional != nil && *optional
	if !content.GetFound() {
		if isOptional {
			return nil
		}
		return fmt.Errorf("%s %s/%s not found", kind, namespace, name)
	}
	data := content.GetData()
	if len(items) == 0 {
		for k, v := range data {
			files[k] = file{data: v, mode: mode}
		}
		return nil
	}
	for _, item := range items {
		v, ok := data[item.Key]
		if !ok {
			if isOptional {
				continue
			}
			return fmt.Errorf("%s %s/%s has no key %s (items[].key)", kind, namespace, name, item.Key)
		}
		m := mode
		if item.Mode != nil {
			m = modeOr(item.Mode)
		}
		files[item.Path] = file{data: v, mode: m}
	}
	return nil
}

// addDownwardAPI adds downward-API items: pod fields and container resource
// fields, computed as for environment variables.
func (files payload) addDownwardAPI(pod *corev1.Pod, task *protocol.PodTask, items []corev1.DownwardAPIVolumeFile, mode os.FileMode) error {
	for _, item := range items {
		var (
			value string
			err   error
		)
		switch {
		case item.FieldRef != nil:
			value, err = env.FieldValue(pod, task, item.FieldRef)
		case item.ResourceFieldRef != nil:
			value, err = env.ResourceValue(pod, nil, task, item.ResourceFieldRef)
		default:
			err = fmt.Errorf("downwardAPI item %s sets neither fieldRef nor resourceFieldRef", item.Path)
		}
		if err != nil {
			return fmt.Errorf("downwardAPI item %s: %w", item.Path, err)
		}
		m := mode
		if item.Mode != nil {
			m = modeOr(item.Mode)
		}
		files[item.Path] = file{data: []byte(value), mode: m}
	}
	return nil
}

// addProjected adds the sources of a projected volume in order; a later
// source's file replaces an earlier one at the same path.
func (files payload) addProjected(pod *corev1.Pod, task *protocol.PodTask, volumeName string, src *corev1.ProjectedVolumeSource) error {
	mode := modeOr(src.DefaultMode)
	for i, source := range src.Sources {
		var err error
		switch {
		case source.ConfigMap != nil:
			cm := source.ConfigMap
			err = files.addKeys("ConfigMap", pod.Namespace, cm.Name, task.GetConfigMaps()[cm.Name], cm.Items, mode, cm.Optional)
		case source.Secret != nil:
			sec := source.Secret
			err = files.addKeys("Secret", pod.Namespace, sec.Name, task.GetSecrets()[sec.Name], sec.Items, mode, sec.Optional)
		case source.DownwardAPI != nil:
			err = files.addDownwardAPI(pod, task, source.DownwardAPI.Items, mode)
		case source.ServiceAccountToken != nil:
			key := volumeName + "/" + source.ServiceAccountToken.Path
			token, ok := task.GetServiceAccountTokens()[key]
			if !ok {
				err = fmt.Errorf("the task carries no service account token %s", key)
				break
			}
			// As a kubelet: with an fsGroup the token is 0600, and the
			// fsGroup ownership makes it 0640.
			tokenMode := mode
			if fsGroupOf(pod) != nil {
				tokenMode = 0o600
			}
			files[source.ServiceAccountToken.Path] = file{data: token, mode: tokenMode}
		case source.ClusterTrustBundle != nil:
			err = fmt.Errorf("projected source clusterTrustBundle is unsupported by the kubemesos process runtime")
		case source.PodCertificate != nil:
			err = fmt.Errorf("projected source podCertificate is unsupported by the kubemesos process runtime")
		default:
			err = fmt.Errorf("projected source sets no known source")
		}
		if err != nil {
			return fmt.Errorf("sources[%d]: %w", i, err)
		}
	}
	return nil
}
