// Package protocol holds the versioned messages the framework and the
// executor exchange through Mesos (PodTask in TaskInfo.data, PodStatus in
// TaskStatus.data) and the helpers that encode, decode and version-check them.
// The messages are defined in protocol.proto; `make generate` regenerates
// protocol.pb.go and `make verify` checks that it is current.
package protocol

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
)

// The protocol version this build speaks. Bump Minor for additions a reader
// may ignore; bump Major only for a change an older reader must refuse.
const (
	Major uint32 = 1
	Minor uint32 = 0
)

// ErrIncompatible is returned (wrapped) for a message of another major
// version, or with no version at all.
var ErrIncompatible = errors.New("incompatible executor protocol version")

// minorOverride lets tests and the upgrade e2e test pretend to be another
// minor version; see SetMinorForTesting.
var minorOverride *uint32

// Current is the version stamped on messages this build writes.
func Current() *Version {
	minor := Minor
	if minorOverride != nil {
		minor = *minorOverride
	}
	return &Version{Major: Major, Minor: minor}
}

// SetMinorForTesting makes Current report the given minor version, to test
// compatibility between builds of different minor versions. It is not safe
// for concurrent use and exists only for tests and test flags.
func SetMinorForTesting(minor uint32) { minorOverride = &minor }

// Check reports whether a message of version v can be read by this build.
func Check(v *Version) error {
	if v == nil {
		return fmt.Errorf("%w: message has no version (this build speaks %d.%d)", ErrIncompatible, Major, Minor)
	}
	if v.GetMajor() != Major {
		return fmt.Errorf("%w: message is version %d.%d, this build speaks %d.x", ErrIncompatible, v.GetMajor(), v.GetMinor(), Major)
	}
	return nil
}

// EncodePodTask stamps t with the current version and the encoding of pod,
// and returns its wire form for TaskInfo.data.
func EncodePodTask(pod *corev1.Pod, t *PodTask) ([]byte, error) {
	raw, err := pod.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	t.Version = Current()
	t.Pod = raw
	return proto.Marshal(t)
}

// DecodePodTask parses TaskInfo.data, checks its version and decodes the pod.
func DecodePodTask(data []byte) (*PodTask, *corev1.Pod, error) {
	if len(data) == 0 {
		return nil, nil, errors.New("task has no data: a kubemesos pod task carries a PodTask in TaskInfo.data")
	}
	t := &PodTask{}
	if err := proto.Unmarshal(data, t); err != nil {
		return nil, nil, fmt.Errorf("decode PodTask: %w", err)
	}
	if err := Check(t.GetVersion()); err != nil {
		return nil, nil, err
	}
	pod := &corev1.Pod{}
	if err := pod.Unmarshal(t.GetPod()); err != nil {
		return nil, nil, fmt.Errorf("decode the pod in PodTask: %w", err)
	}
	if pod.Name == "" {
		return nil, nil, errors.New("PodTask carries a pod with no name")
	}
	return t, pod, nil
}

// EncodePodStatus stamps m with the current version and the encoding of
// status, and returns its wire form for TaskStatus.data.
func EncodePodStatus(status *corev1.PodStatus, m *PodStatus) ([]byte, error) {
	raw, err := status.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode pod status: %w", err)
	}
	m.Version = Current()
	m.Status = raw
	return proto.Marshal(m)
}

// DecodePodStatus parses TaskStatus.data, checks its version and decodes the
// Kubernetes pod status it carries.
func DecodePodStatus(data []byte) (*PodStatus, *corev1.PodStatus, error) {
	m := &PodStatus{}
	if err := proto.Unmarshal(data, m); err != nil {
		return nil, nil, fmt.Errorf("decode PodStatus: %w", err)
	}
	if err := Check(m.GetVersion()); err != nil {
		return nil, nil, err
	}
	status := &corev1.PodStatus{}
	if err := status.Unmarshal(m.GetStatus()); err != nil {
		return nil, nil, fmt.Errorf("decode the pod status in PodStatus: %w", err)
	}
	return m, status, nil
}
