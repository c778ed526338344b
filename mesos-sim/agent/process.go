package agent

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	memcg "github.com/kubemesos/kubemesos/internal/cgroup"
)

// startProcess starts a CommandInfo in dir, in its own process group, with
// stdin from devNull (the agent's open /dev/null, shared by its children)
// and stdout and stderr to files of dir. With a memory cgroup, the process
// starts in it (before the command's exec). A detached process (the
// executor of a checkpointing framework, which outlives its agent) gets a
// session of its own instead, which also makes it the leader of its own
// process group.
func startProcess(dir string, ci *mesos.CommandInfo, env []string, devNull *os.File, cg *memcg.Group, detach bool) (*exec.Cmd, error) {
	if ci == nil || ci.GetValue() == "" {
		return nil, errors.New("no command to run")
	}
	var cmd *exec.Cmd
	if ci.Shell == nil || *ci.Shell {
		cmd = exec.Command("/bin/sh", "-c", ci.GetValue())
	} else {
		path := ci.GetValue()
		if !strings.Contains(path, "/") {
			p, err := exec.LookPath(path)
			if err != nil {
				return nil, err
			}
			path = p
		}
		args := ci.Arguments
		if len(args) == 0 {
			args = []string{ci.GetValue()}
		}
		cmd = &exec.Cmd{Path: path, Args: args}
	}
	stdout, err := os.OpenFile(filepath.Join(dir, "stdout"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer stdout.Close()
	stderr, err := os.OpenFile(filepath.Join(dir, "stderr"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer stderr.Close()
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devNull, stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: !detach, Setsid: detach}
	if cg != nil {
		f, ok, err := cg.Open()
		if err != nil {
			return nil, err
		}
		if ok {
			// cgroup v2: clone3 starts the child in the group.
			defer f.Close()
			cmd.SysProcAttr.UseCgroupFD = true
			cmd.SysProcAttr.CgroupFD = int(f.Fd())
		} else {
			joinCgroupV1(cmd, cg.ProcsFile(), ci.Shell == nil || *ci.Shell)
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return cmd, nil
}

// joinCgroupV1 makes cmd join a cgroup v1 group before anything else: v1
// has no start in a group, and moving the process after the start would
// race with its first forks. A shell command's own shell joins first, on
// the script's first line (one exec less per task than a joining shell
// that execs the command's shell); a command given as argv gets a shell
// that joins, then execs it (its argv[0] becomes its path).
func joinCgroupV1(cmd *exec.Cmd, procsFile string, shell bool) {
	if shell {
		cmd.Args[2] = "echo $$ > " + shellQuote(procsFile) + " || exit 1; " + cmd.Args[2]
		return
	}
	cmd.Args = append([]string{"sh", "-c", `echo $$ > "$0" && exec "$@"`, procsFile, cmd.Path}, cmd.Args[1:]...)
	cmd.Path = "/bin/sh"
}

// shellQuote quotes s for sh, in single quotes.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// executorEnv is the environment of an executor (contract §2.4): the
// agent's own and the MESOS_* variables (extra overrides them).
func (a *Agent) executorEnv(e *executor, extra map[string]string) []string {
	grace := a.cfg.ExecutorShutdownGracePeriod
	if g := e.info.ShutdownGracePeriod; g != nil && g.Nanoseconds > 0 {
		grace = time.Duration(g.Nanoseconds)
	}
	checkpoint := e.fw.info.GetCheckpoint()
	vars := map[string]string{
		"MESOS_FRAMEWORK_ID":                   e.fw.id,
		"MESOS_EXECUTOR_ID":                    e.id(),
		"MESOS_DIRECTORY":                      e.dir,
		"MESOS_SANDBOX":                        e.dir,
		"MESOS_AGENT_ENDPOINT":                 a.Endpoint(),
		"MESOS_SLAVE_ID":                       a.id,
		"MESOS_SLAVE_PID":                      "slave(1)@" + a.Endpoint(),
		"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": MesosDuration(grace),
		"MESOS_CHECKPOINT":                     "0",
		"MESOS_HTTP_COMMAND_EXECUTOR":          "0",
		"LIBPROCESS_PORT":                      "0",
	}
	if checkpoint {
		vars["MESOS_CHECKPOINT"] = "1"
		vars["MESOS_RECOVERY_TIMEOUT"] = MesosDuration(a.cfg.RecoveryTimeout)
		vars["MESOS_SUBSCRIPTION_BACKOFF_MAX"] = MesosDuration(a.cfg.ExecutorReregistrationTimeout)
	}
	for k, v := range extra {
		vars[k] = v
	}
	env := os.Environ()
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// appendCommandEnv adds a command's environment variables (secrets are not
// supported and skipped); later entries win.
func appendCommandEnv(env []string, ci *mesos.CommandInfo) []string {
	if ci == nil || ci.Environment == nil {
		return env
	}
	for _, v := range ci.Environment.Variables {
		if v.GetType() == mesos.Environment_Variable_SECRET {
			continue
		}
		env = append(env, v.Name+"="+v.GetValue())
	}
	return env
}

func commandSummary(value string, shell bool, args []string) string {
	if shell {
		return "sh -c '" + value + "'"
	}
	return "[" + strings.Join(args, ", ") + "]"
}
