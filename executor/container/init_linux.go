package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/kubemesos/kubemesos/executor/volume"
)

// initSpec is what Start passes to container-init, as JSON in its first
// argument; the command's argv follows.
type initSpec struct {
	Mounts      []volume.Mount `json:"mounts,omitempty"`
	CgroupProcs []string       `json:"cgroupProcs,omitempty"`
	WorkingDir  string         `json:"workingDir,omitempty"`
	Dir         string         `json:"dir,omitempty"`
	// TerminationLog is mounted like Mounts, but left out if it cannot be.
	TerminationLog *volume.Mount `json:"terminationLog,omitempty"`
	// Credential is what the command runs as, set after the mounts.
	Credential *syscall.Credential `json:"credential,omitempty"`
}

// statusFD is the pipe container-init reports a failure on; it is closed on
// the command's exec.
const statusFD = 3

func canNamespace() bool { return os.Geteuid() == 0 }

func sysProcAttr(newNamespace bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	if newNamespace {
		a.Cloneflags = syscall.CLONE_NEWNS
	}
	return a
}

// Init is the body of `kubemesos executor container-init SPEC ARGV...`, run
// by Start as the container's first process: it joins the cgroup v1 group,
// makes its mount namespace private and bind-mounts each volume at its target
// (a missing target is created on the way: a directory for a directory, an
// empty file for a file, inside the namespace's view of the host's tree),
// remounting read-only mounts read-only, bind-mounts the termination log if it
// can, changes to the working directory (creating it if missing, as container
// runtimes do), drops to the container's user and groups, and execs the
// command.
// Errors go to Start through the status pipe; Init only returns on error.
func Init(args []string) error {
	err := initAndExec(args)
	status := os.NewFile(statusFD, "container-init status")
	if status != nil {
		_, _ = fmt.Fprintf(status, "container-init: %v", err)
	}
	return err
}

func initAndExec(args []string) error {
	syscall.CloseOnExec(statusFD)
	if len(args) < 2 {
		return errors.New("usage: container-init SPEC COMMAND [ARG...]")
	}
	var spec initSpec
	if err := json.Unmarshal([]byte(args[0]), &spec); err != nil {
		return fmt.Errorf("decode spec: %w", err)
	}
	for _, procs := range spec.CgroupProcs {
		if err := os.WriteFile(procs, []byte(strconv.Itoa(os.Getpid())), 0); err != nil {
			return fmt.Errorf("join cgroup: %w", err)
		}
	}
	if len(spec.Mounts) > 0 || spec.TerminationLog != nil {
		if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
			return fmt.Errorf("make the mount namespace private: %w", err)
		}
	}
	for _, m := range spec.Mounts {
		if err := bindMount(m); err != nil {
			return err
		}
	}
	if spec.TerminationLog != nil {
		// Best effort: a target that cannot be created (a read-only
		// directory of the host) only costs the termination message.
		_ = bindMount(*spec.TerminationLog)
	}
	dir := spec.Dir
	if spec.WorkingDir != "" {
		dir = spec.WorkingDir
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("working directory: %w", err)
		}
	}
	if dir != "" {
		if err := os.Chdir(dir); err != nil {
			return fmt.Errorf("working directory: %w", err)
		}
	}
	if err := setCredential(spec.Credential); err != nil {
		return err
	}
	path, err := lookPath(args[1], os.Environ())
	if err != nil {
		return err
	}
	if err := syscall.Exec(path, args[1:], os.Environ()); err != nil {
		return fmt.Errorf("exec %s: %w", path, err)
	}
	return nil
}

func bindMount(m volume.Mount) error {
	fi, err := os.Stat(m.Source)
	if err != nil {
		return fmt.Errorf("volume source: %w", err)
	}
	if _, err := os.Stat(m.Target); errors.Is(err, os.ErrNotExist) {
		if fi.IsDir() {
			err = os.MkdirAll(m.Target, 0o755)
		} else if err = os.MkdirAll(filepath.Dir(m.Target), 0o755); err == nil {
			var f *os.File
			if f, err = os.OpenFile(m.Target, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
				err = f.Close()
			}
		}
		if err != nil {
			return fmt.Errorf("create mountpoint %s: %w", m.Target, err)
		}
	}
	if err := syscall.Mount(m.Source, m.Target, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return fmt.Errorf("bind-mount %s at %s: %w", m.Source, m.Target, err)
	}
	if m.ReadOnly {
		if err := syscall.Mount("", m.Target, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY|syscall.MS_REC, ""); err != nil {
			return fmt.Errorf("make %s read-only: %w", m.Target, err)
		}
	}
	return nil
}

// setCredential drops the root privileges container-init needed for the
// mounts: supplementary groups first, then the group, then the user.
func setCredential(c *syscall.Credential) error {
	if c == nil {
		return nil
	}
	groups := make([]int, len(c.Groups))
	for i, g := range c.Groups {
		groups[i] = int(g)
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("set supplementary groups %v: %w", c.Groups, err)
	}
	if err := syscall.Setgid(int(c.Gid)); err != nil {
		return fmt.Errorf("set group %d: %w", c.Gid, err)
	}
	if err := syscall.Setuid(int(c.Uid)); err != nil {
		return fmt.Errorf("set user %d: %w", c.Uid, err)
	}
	return nil
}
