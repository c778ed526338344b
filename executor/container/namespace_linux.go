package container

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/kubemesos/kubemesos/executor/volume"
)

// canNamespace reports whether this process can make mount namespaces (a
// variable so that tests can take the other path).
var canNamespace = func() bool { return os.Geteuid() == 0 }

// setup is what a dedicated thread prepares before it starts a command:
// its cgroup v1 groups, the mounts of a private mount namespace (none: the
// thread keeps the host's) and the working directory, entered as root.
type setup struct {
	// cgroupTasks are the `tasks` files of the cgroup v1 groups the
	// thread joins, so that the command starts in them.
	cgroupTasks []string
	namespace   bool
	mounts      []volume.Mount
	termLog     *volume.Mount
	workingDir  string
	dir         string
}

// startOnThread starts cmd from a new OS thread of the executor that first
// makes s: Go forks a command from the thread of the goroutine that starts
// it, and the child inherits that thread's mount namespace and working
// directory (unshared from the rest of the process). The thread is never
// unlocked, so the runtime ends it, and its namespace, when the goroutine
// returns: nothing of it outlives the start but the child's copy.
//
// The main thread is not used: the runtime cannot end it (it would keep the
// namespace, idle, for good) and /proc/<pid> shows its view of the mounts.
// A goroutine that lands there holds it while another thread does the work.
func startOnThread(cmd *exec.Cmd, s setup) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			errc <- startOnThread(cmd, s) // cannot land on this thread
			runtime.UnlockOSThread()      // untouched
			return
		}
		errc <- s.startHere(cmd) // never unlocked: see above
	}()
	return <-errc
}

// startHere runs on the locked thread: it moves the thread (only it: v1
// places threads) into the cgroup v1 groups, unshares its filesystem
// attributes (and its mount namespace when s has mounts), bind-mounts each
// volume at its target (a missing target is created on the way: a
// directory for a directory, an empty file for a file, inside the
// namespace's view of the host's tree), remounting read-only mounts
// read-only, bind-mounts the termination log if it can, enters the working
// directory as root (creating it if missing, as container runtimes do; the
// pod's directory may be closed to the container's user), looks the command
// up in the container's view and PATH, and starts it. The child drops to
// cmd's credential itself, after the fork.
func (s setup) startHere(cmd *exec.Cmd) error {
	tid := []byte(strconv.Itoa(unix.Gettid()))
	for _, tasks := range s.cgroupTasks {
		if err := os.WriteFile(tasks, tid, 0); err != nil {
			return fmt.Errorf("join cgroup: %w", err)
		}
	}
	flags := unix.CLONE_FS // the working directory is the thread's own
	if s.namespace {
		flags |= unix.CLONE_NEWNS
	}
	if err := unix.Unshare(flags); err != nil {
		return fmt.Errorf("unshare the thread's mount namespace or working directory: %w", err)
	}
	if s.namespace {
		// Nothing mounted here propagates back to the host.
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			return fmt.Errorf("make the mount namespace private: %w", err)
		}
		for _, m := range s.mounts {
			if err := bindMount(m); err != nil {
				return err
			}
		}
		if s.termLog != nil {
			// Best effort: a target that cannot be created (a read-only
			// directory of the host) only costs the termination message.
			_ = bindMount(*s.termLog)
		}
	}
	dir := s.dir
	if s.workingDir != "" {
		dir = s.workingDir
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("working directory: %w", err)
		}
	}
	if dir != "" {
		if err := unix.Chdir(dir); err != nil {
			return fmt.Errorf("working directory %s: %w", dir, err)
		}
	}
	path, err := lookPath(cmd.Args[0], cmd.Env)
	if err != nil {
		return err
	}
	cmd.Path, cmd.Dir = path, "" // the child starts in the thread's directory
	return cmd.Start()
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
	if err := unix.Mount(m.Source, m.Target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind-mount %s at %s: %w", m.Source, m.Target, err)
	}
	if m.ReadOnly {
		if err := unix.Mount("", m.Target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("make %s read-only: %w", m.Target, err)
		}
	}
	return nil
}
