package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubemesos/kubemesos/executor/container"
	"github.com/kubemesos/kubemesos/executor/protocol"
	"github.com/kubemesos/kubemesos/executor/volume"
	"github.com/kubemesos/kubemesos/internal/cgroup"
)

// Waiting reasons of a container that cannot be created.
const (
	// ReasonNoCommand: the process runtime runs no images, so a container
	// must say what to run.
	ReasonNoCommand = "NoCommand"
	// ReasonConfigError: the container's environment cannot be computed.
	ReasonConfigError = "CreateContainerConfigError"
	// ReasonCreateError: the container's volumes cannot be mounted.
	ReasonCreateError = "CreateContainerError"
)

// instance is what one run of a container needs: its command, environment,
// mounts, cgroup and log.
type instance struct {
	c      *ctr
	argv   []string
	env    []string
	mounts []volume.Mount
	group  *cgroup.Group
	log    *container.Log
	cred   *syscall.Credential // nil: the executor's user
	// termLog is the host file mounted at the container's
	// terminationMessagePath, empty without a mount namespace.
	termLog string
}

// prepare computes an instance of c; an error comes with the waiting reason
// that explains it.
func (c *ctr) prepare() (*instance, string, error) {
	p := c.pod
	spec := c.spec
	// No image means no entrypoint: as with an image whose entrypoint is
	// empty, args alone are the command line.
	if len(spec.Command) == 0 && len(spec.Args) == 0 {
		return nil, ReasonNoCommand, fmt.Errorf("container %s has neither command nor args: the process runtime does not run images (image %q is not used), so a container must say what to run", spec.Name, spec.Image)
	}
	env := []string{"PATH=" + container.DefaultPath, "HOSTNAME=" + p.cfg.Pod.Name}
	extra, err := p.cfg.Env(p.cfg.Pod, spec, p.cfg.Task)
	switch {
	case err != nil && (len(spec.Env) > 0 || len(spec.EnvFrom) > 0):
		return nil, ReasonConfigError, fmt.Errorf("environment of container %s: %w", spec.Name, err)
	case err != nil:
		p.log.Debug("no computed environment for a container without env", "container", spec.Name, "err", err)
	default:
		env = append(env, extra...)
	}
	cred, err := p.credential(spec)
	if err != nil {
		return nil, ReasonConfigError, err
	}
	inst := &instance{c: c, env: env, cred: cred}
	for _, s := range spec.Command {
		inst.argv = append(inst.argv, p.cfg.Expand(s, env))
	}
	for _, s := range spec.Args {
		inst.argv = append(inst.argv, p.cfg.Expand(s, env))
	}
	if len(spec.VolumeMounts) > 0 {
		if err := p.checkNamespace(spec); err != nil {
			return nil, ReasonCreateError, err
		}
		vols := p.volumes()
		if vols == nil {
			return nil, ReasonCreateError, fmt.Errorf("container %s mounts volumes but the pod has none", spec.Name)
		}
		if inst.mounts, err = vols.Mounts(spec, env); err != nil {
			return nil, ReasonCreateError, fmt.Errorf("volume mounts of container %s: %w", spec.Name, err)
		}
	}
	return inst, "", nil
}

// checkNamespace fails a container with volume mounts where no private
// mount namespace can be made.
func (p *Pod) checkNamespace(spec *corev1.Container) error {
	if container.CanNamespace() {
		return nil
	}
	return fmt.Errorf("container %s mounts a volume at %s: %w, which needs an executor running as root on Linux",
		spec.Name, spec.VolumeMounts[0].MountPath, container.ErrNoNamespace)
}

// start creates the instance's log and cgroup and starts its process.
func (inst *instance) start() (*container.Process, error) {
	c := inst.c
	p := c.pod
	restarts := c.instanceNumber()
	logFile := filepath.Join(p.cfg.Dir, protocol.LogFile(c.spec.Name, int(restarts)))
	logDir := filepath.Dir(logFile)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	pruneLogs(logDir, restarts)
	maxBytes, maxFiles := p.logLimits()
	log, err := container.CreateLog(logFile, maxBytes, maxFiles, p.clock.Now)
	if err != nil {
		return nil, err
	}
	inst.log = log
	if err := inst.createCgroup(restarts); err != nil {
		return nil, err
	}
	termLog, err := inst.createTerminationLog()
	if err != nil {
		return nil, err
	}
	return container.Start(container.Spec{
		Argv:           inst.argv,
		Env:            inst.env,
		WorkingDir:     c.spec.WorkingDir,
		Dir:            p.cfg.Dir,
		Mounts:         inst.mounts,
		Cgroup:         inst.group,
		Log:            log,
		Credential:     inst.cred,
		TerminationLog: termLog,
	})
}

// createCgroup puts the instance in a cgroup of its own when the container
// has a memory or CPU limit and cgroups are usable (CPU limits only where
// the cpu controller is writable too).
func (inst *instance) createCgroup(restarts int32) error {
	p := inst.c.pod
	mem, hasMem := inst.c.spec.Resources.Limits[corev1.ResourceMemory]
	cpu, hasCPU := inst.c.spec.Resources.Limits[corev1.ResourceCPU]
	hasCPU = hasCPU && p.cfg.Cgroups != nil && p.cfg.Cgroups.CPU()
	if p.cfg.Cgroups == nil || (!hasMem && !hasCPU) {
		return nil
	}
	var limit int64
	if hasMem {
		limit = mem.Value()
	}
	g, err := p.cfg.Cgroups.Create(p.cgroupParent(), inst.c.spec.Name+"-"+strconv.Itoa(int(restarts)), limit)
	if err != nil {
		return fmt.Errorf("memory limit: %w", err)
	}
	inst.group = g
	if hasCPU {
		if _, err := g.SetCPU(cpu.MilliValue()); err != nil {
			return fmt.Errorf("cpu limit: %w", err)
		}
	}
	return nil
}

// cleanup closes the log and removes the cgroup after the process ended.
func (inst *instance) cleanup() {
	if inst.log != nil {
		if err := inst.log.Err(); err != nil {
			inst.c.pod.log.Warn("container log", "container", inst.c.spec.Name, "err", err)
		}
		_ = inst.log.Close()
	}
	if inst.group != nil {
		if err := inst.group.Remove(); err != nil {
			inst.c.pod.log.Warn("remove cgroup", "container", inst.c.spec.Name, "err", err)
		}
	}
}

// pruneLogs keeps the logs of the current and the previous instance
// (kubectl logs --previous) and removes older ones.
func pruneLogs(dir string, restarts int32) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		base, _, _ := cutLogName(name)
		n, err := strconv.Atoi(base)
		if err == nil && int32(n) < restarts-1 {
			_ = os.Remove(filepath.Join(dir, name))
		}
	}
}

// cutLogName splits "3.log.1" into "3" and "log.1".
func cutLogName(name string) (string, string, bool) {
	for i := range len(name) {
		if name[i] == '.' {
			return name[:i], name[i+1:], true
		}
	}
	return name, "", false
}

func (p *Pod) logLimits() (int64, int) {
	maxBytes, maxFiles := int64(DefaultLogMaxBytes), DefaultLogMaxFiles
	if s := p.cfg.Task.GetSettings(); s != nil {
		if s.GetLogMaxBytes() > 0 {
			maxBytes = int64(s.GetLogMaxBytes())
		}
		if s.GetLogMaxFiles() > 0 {
			maxFiles = int(s.GetLogMaxFiles())
		}
	}
	return maxBytes, maxFiles
}

// cgroupParent names the pod's cgroup, below which each container instance
// has its own.
func (p *Pod) cgroupParent() string {
	id := string(p.cfg.Pod.UID)
	if id == "" {
		id = p.cfg.Pod.Namespace + "_" + p.cfg.Pod.Name
	}
	return "kubemesos-pod-" + id
}
