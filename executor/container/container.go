// Package container runs one process as a container of the process runtime:
// in its own process group, optionally in a private mount namespace where
// volumes are bind-mounted at their mountPath (through the hidden
// `kubemesos executor container-init` step, see Init), optionally in a memory
// cgroup, optionally as another user, with its termination log mounted, and
// with its stdout and stderr written to a CRI-format log. It knows nothing of
// pods: the runner decides what to run and when.
package container

import (
	"encoding/json"
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
	// container-init creates it if missing; a process started directly
	// needs it to exist.
	WorkingDir string
	// Dir is the working directory when WorkingDir is empty (the pod's
	// directory).
	Dir string
	// Mounts are bind-mounted in a private mount namespace before the
	// command runs; they need Self and root (see CanNamespace).
	Mounts []volume.Mount
	// Self is the kubemesos binary, run as `Self executor container-init`
	// to set up the namespace and the cgroup before the command's exec.
	Self string
	// Cgroup, if not nil, is the cgroup the process starts in (in v1,
	// container-init joins it, so Self is needed).
	Cgroup *cgroup.Group
	// TerminationLog, when its Source is set, is bind-mounted like Mounts
	// where a private mount namespace can be made (see CanNamespace) and
	// left out elsewhere; a target that cannot be created is left out too.
	// It serves a container's terminationMessagePath.
	TerminationLog volume.Mount
	// Credential, if not nil, is the user, group and supplementary groups
	// the command runs as; only an executor running as root can set it.
	// container-init drops to it after the mounts and entering the working
	// directory, just before the exec; without Self the working directory
	// must be open to the user.
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
// namespace: the executor runs as root on Linux and knows its own binary.
func CanNamespace(self string) bool { return self != "" && canNamespace() }

// Start starts spec's process. An error means it did not start (the command
// was not found, a mount or the cgroup could not be set up).
func Start(spec Spec) (*Process, error) {
	if len(spec.Argv) == 0 || spec.Argv[0] == "" {
		return nil, errors.New("no command to run")
	}
	termLog := spec.TerminationLog.Source != "" && CanNamespace(spec.Self)
	namespace := len(spec.Mounts) > 0 || termLog
	// container-init also runs a command as another user: it enters the
	// working directory as root (the pod's directory may be closed to the
	// user) before it drops to the user.
	useInit := namespace || (spec.Cgroup != nil && !spec.Cgroup.V2()) || (spec.Credential != nil && spec.Self != "")
	if len(spec.Mounts) > 0 && !CanNamespace(spec.Self) {
		return nil, fmt.Errorf("%w, which only an executor running as root on Linux can make (mount %s at %s)",
			ErrNoNamespace, spec.Mounts[0].Source, spec.Mounts[0].Target)
	}
	// cgroup v1 without Self: the process joins its group just after its
	// start (a fork in its first instants escapes the limit).
	lateJoin := useInit && spec.Self == ""
	if lateJoin {
		useInit = false
	}
	var cmd *exec.Cmd
	var initStatus, initStatusW *os.File
	if useInit {
		is := initSpec{Mounts: spec.Mounts, WorkingDir: spec.WorkingDir, Dir: spec.Dir, Credential: spec.Credential}
		if termLog {
			is.TerminationLog = &spec.TerminationLog
		}
		if spec.Cgroup != nil && !spec.Cgroup.V2() {
			is.CgroupProcs = spec.Cgroup.ProcsFiles()
		}
		encoded, err := json.Marshal(is)
		if err != nil {
			return nil, fmt.Errorf("encode container-init spec: %w", err)
		}
		cmd = exec.Command(spec.Self, append([]string{"executor", "container-init", string(encoded)}, spec.Argv...)...)
		cmd.Dir = spec.Dir
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		initStatus, initStatusW = r, w
		cmd.ExtraFiles = []*os.File{w}
	} else {
		path, err := lookPath(spec.Argv[0], spec.Env)
		if err != nil {
			return nil, err
		}
		cmd = &exec.Cmd{Path: path, Args: spec.Argv, Dir: spec.Dir}
		if spec.WorkingDir != "" {
			cmd.Dir = spec.WorkingDir
		}
	}
	closeInitStatus := func() {
		if initStatus != nil {
			initStatus.Close()
			initStatusW.Close()
		}
	}
	cmd.Env = spec.Env
	cmd.SysProcAttr = sysProcAttr(useInit && namespace)
	if !useInit {
		cmd.SysProcAttr.Credential = spec.Credential
	}
	if spec.Cgroup != nil && spec.Cgroup.V2() {
		f, _, err := spec.Cgroup.Open()
		if err != nil {
			closeInitStatus()
			return nil, err
		}
		defer f.Close()
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = int(f.Fd())
	}
	p := &Process{cmd: cmd}
	if spec.Log != nil {
		if err := p.pipeTo(spec.Log); err != nil {
			closeInitStatus()
			return nil, err
		}
	} else {
		cmd.Stdout, cmd.Stderr = spec.Stdout, spec.Stderr
	}
	err := cmd.Start()
	p.closeWriteEnds()
	if err != nil {
		p.closePipes()
		closeInitStatus()
		return nil, err
	}
	if initStatusW != nil {
		initStatusW.Close() // the child has its copy
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
	if initStatus != nil {
		// container-init writes why it failed, or nothing: the pipe closes
		// on the command's exec.
		msg, _ := io.ReadAll(io.LimitReader(initStatus, 4096))
		initStatus.Close()
		if len(msg) > 0 {
			p.Kill()
			_, _ = p.Wait()
			return nil, errors.New(strings.TrimSpace(string(msg)))
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
