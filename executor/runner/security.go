package runner

import (
	"fmt"
	"os/user"
	"slices"
	"strconv"
	"syscall"

	corev1 "k8s.io/api/core/v1"
)

// credential is the user and groups container c runs as, from its and the
// pod's securityContext: runAsUser, runAsGroup (the container's override the
// pod's), the pod's supplementalGroups and fsGroup (which a kubelet adds to
// the supplementary groups). Without runAsGroup the group is the user's
// primary group in the host's /etc/passwd (an image's, for a kubelet), else
// 0. It is nil when the spec asks for none of these, or when the executor
// does not run as root: it then cannot change users and the container runs
// as the executor's user. runAsNonRoot is checked against the user the
// process would run as, with the kubelet's messages.
func (p *Pod) credential(c *corev1.Container) (*syscall.Credential, error) {
	var (
		uid, gid   *int64
		nonRoot    *bool
		supplement []int64
	)
	if psc := p.cfg.Pod.Spec.SecurityContext; psc != nil {
		uid, gid, nonRoot = psc.RunAsUser, psc.RunAsGroup, psc.RunAsNonRoot
		supplement = append(supplement, psc.SupplementalGroups...)
		if psc.FSGroup != nil && !slices.Contains(supplement, *psc.FSGroup) {
			supplement = append(supplement, *psc.FSGroup)
		}
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			gid = sc.RunAsGroup
		}
		if sc.RunAsNonRoot != nil {
			nonRoot = sc.RunAsNonRoot
		}
	}
	root := p.euid == 0
	if nonRoot != nil && *nonRoot {
		switch {
		case uid != nil && *uid == 0:
			return nil, fmt.Errorf("container's runAsUser breaks non-root policy (pod: %q, container: %s)", p.formatPod(), c.Name)
		case uid == nil && root:
			return nil, fmt.Errorf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", p.formatPod(), c.Name)
		}
	}
	if !root || (uid == nil && gid == nil && len(supplement) == 0) {
		return nil, nil
	}
	cred := &syscall.Credential{Uid: uint32(p.euid)}
	if uid != nil {
		cred.Uid = uint32(*uid)
	}
	if gid != nil {
		cred.Gid = uint32(*gid)
	} else {
		cred.Gid = primaryGroup(cred.Uid)
	}
	for _, g := range supplement {
		cred.Groups = append(cred.Groups, uint32(g))
	}
	return cred, nil
}

// primaryGroup is uid's group in the host's user database, 0 if it has no
// entry there.
func primaryGroup(uid uint32) uint32 {
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return 0
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return 0
	}
	return uint32(gid)
}

// formatPod names the pod as the kubelet's messages do: name_namespace(uid).
func (p *Pod) formatPod() string {
	pod := p.cfg.Pod
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}
