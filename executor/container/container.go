// Package container runs one process as a container of the process runtime:
// in its own process group, optionally in a private mount namespace where
// volumes are bind-mounted at their mountPath (made by a dedicated thread of
// the executor that forks the process, see Start), optionally in a memory
// cgroup, optionally as another user, with its termination log mounted, and
// with its stdout and stderr written to a CRI-format log. It knows nothing of
// pods: the runner decides what to run and when.
package container

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kubemesos/kubemesos/executor/volume"
	"github.com/kubemesos/kubemesos/internal/cgroup"
)

// ErrNoNamespace is returned (wrapped) by Start for mounts that need a
// private mount namespace where none can be made.
var ErrNoNamespace = errors.New("volume mounts need a private mount namespace")

// Spec is one process to start.
type Spec struct {
	// Argv is the command and its arguments; Argv[0] is looked up in the
	// PATH of Env when it has no slash.
	Argv []string
	// Env is the process's whole environment ("KEY=value").
	Env []string
	// WorkingDir is the directory the process starts in; empty means Dir.
	// A process started in a namespace or as another user (see Start)
	// has it created if missing; any other process needs it to exist.
	WorkingDir string
	// Dir is the working directory when WorkingDir is empty (the pod's
	// directory).
	Dir string
	// Mounts are bind-mounted in a private mount namespace before the
	// command runs; they need root (see CanNamespace).
	Mounts []volume.Mount
	// Cgroup, if not nil, is the cgroup the process starts in (in v1, the
	// process joins it just after its start).
	Cgroup *cgroup.Group
	// TerminationLog, when its Source is set, is bind-mounted like Mounts
	// where a private mount namespace can be made (see CanNamespace) and
	// left out elsewhere; a target that cannot be created is left out too.
	// It serves a container's terminationMessagePath.
	TerminationLog volume.Mount
	// Credential, if not nil, is the user, group and supplementary groups
	// the command runs as; only an executor running as root can set it.
	// The process drops to it after its fork, once the mounts are made and
	// the working directory entered as root: the directory need not be
	// open to the user.
	Credential *syscall.Credential
	// Log receives stdout and stderr as CRI lines. With Log nil, Stdout
	// and Stderr (or /dev/null) are used as given.
	Log            *Log
	Stdout, Stderr io.Writer
}

// Process is a started container process, leader of its process group.
type Process struct {
	cmd    *exec.Cmd
	pipes  []*os.File // read ends of the log pipes
	copied chan struct{}
}

// Exit is how a process ended.
type Exit struct {
	// Code is the exit status, or 128+signal for a process killed by a signal.
	Code int
	// Signal is the signal that killed the process, 0 if it exited.
	Signal syscall.Signal
}

// CanNamespace reports whether Start can give a process a private mount
// namespace: the executor runs as root on Linux.
func CanNamespace() bool { return canNamespace() }

// Start starts spec's process. An error means it did not start (the command
// was not found, a mount or the cgroup could not be set up).
func Start(spec Spec) (*Process, error) {
	if len(spec.Argv) == 0 || spec.Argv[0] == "" {
		return nil, errors.New("no command to run")
	}
	if len(spec.Mounts) > 0 && !CanNamespace() {
		return nil, fmt.Errorf("%w, which only an executor running as root on Linux can make (mount %s at %s)",
			ErrNoNamespace, spec.Mounts[0].Source, spec.Mounts[0].Target)
	}
	termLog := spec.TerminationLog.Source != "" && CanNamespace()
	s := setup{namespace: len(spec.Mounts) > 0 || termLog, mounts: spec.Mounts, workingDir: spec.WorkingDir, dir: spec.Dir}
	if termLog {
		s.termLog = &spec.TerminationLog
	}
	// cgroup v1 has no clone into a group: the thread that forks the
	// process joins the groups first (a root executor's), or the process
	// joins them just after its start (a fork in its first instants
	// escapes the limit).
	v1 := spec.Cgroup != nil && !spec.Cgroup.V2()
	lateJoin := v1 && !CanNamespace()
	if v1 && !lateJoin {
		for _, procs := range spec.Cgroup.ProcsFiles() {
			s.cgroupTasks = append(s.cgroupTasks, filepath.Join(filepath.Dir(procs), "tasks"))
		}
	}
	// A command run as another user starts from a thread of its own too:
	// the thread enters the working directory as root (the pod's directory
	// may be closed to the user) before the child drops to the user.
	onThread := s.namespace || len(s.cgroupTasks) > 0 || (spec.Credential != nil && CanNamespace())
	cmd := &exec.Cmd{Args: spec.Argv, Env: spec.Env, Dir: spec.Dir}
	if !onThread {
		path, err := lookPath(spec.Argv[0], spec.Env)
		if err != nil {
			return nil, err
		}
		cmd.Path = path
		if spec.WorkingDir != "" {
			cmd.Dir = spec.WorkingDir
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: spec.Credential}
	if spec.Cgroup != nil && spec.Cgroup.V2() {
		f, _, err := spec.Cgroup.Open()
		if err != nil {
			return nil, err
		}
		defer f.Close()
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = int(f.Fd())
	}
	p := &Process{cmd: cmd}
	if spec.Log != nil {
		if err := p.pipeTo(spec.Log); err != nil {
			return nil, err
		}
	} else {
		cmd.Stdout, cmd.Stderr = spec.Stdout, spec.Stderr
	}
	var err error
	if onThread {
		err = startOnThread(cmd, s)
	} else {
		err = cmd.Start()
	}
	p.closeWriteEnds()
	if err != nil {
		p.closePipes()
		return nil, err
	}
	if spec.Log != nil {
		p.copyLogs(spec.Log)
	}
	if lateJoin {
		for _, procs := range spec.Cgroup.ProcsFiles() {
			if err := os.WriteFile(procs, []byte(strconv.Itoa(p.Pid())), 0); err != nil {
				p.Kill()
				_, _ = p.Wait()
				return nil, fmt.Errorf("join cgroup: %w", err)
			}
		}
	}
	return p, nil
}

// Pid is the process's id, also its process group's.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the process's whole group.
func (p *Process) Signal(sig syscall.Signal) {
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
}

// Kill sends SIGKILL to the process's whole group.
func (p *Process) Kill() { p.Signal(syscall.SIGKILL) }

// Wait waits for the process to exit, kills what is left of its group (as
// the end of a container's first process ends the container), and waits for
// its output to be logged.
func (p *Process) Wait() (Exit, error) {
	err := p.cmd.Wait()
	p.Kill()
	if p.copied != nil {
		// A process that left the group (setsid) may still hold the pipes:
		// its output is cut off after a moment.
		select {
		case <-p.copied:
		case <-time.After(outputDrain):
			p.closePipes()
			<-p.copied
		}
		p.closePipes()
	}
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok {
		return Exit{}, fmt.Errorf("wait for process %d: %w", p.Pid(), err)
	}
	if ws.Signaled() {
		return Exit{Code: 128 + int(ws.Signal()), Signal: ws.Signal()}, nil
	}
	return Exit{Code: ws.ExitStatus()}, nil
}

// outputDrain is how long Wait waits for the output of a process whose
// group is gone.
const outputDrain = 2 * time.Second

// lookPath finds name in the PATH of env (the container's, not the
// executor's).
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		if _, err := os.Stat(name); err != nil {
			return "", fmt.Errorf("command %s: %w", name, err)
		}
		return name, nil
	}
	path := DefaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("command %q not found in PATH %s", name, path)
}

// DefaultPath is the PATH of a container whose environment sets none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
