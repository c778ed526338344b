//go:build !linux

package container

import (
	"errors"
	"os/exec"

	"github.com/kubemesos/kubemesos/executor/volume"
)

// canNamespace: mount namespaces are Linux only.
var canNamespace = func() bool { return false }

type setup struct {
	cgroupTasks []string
	namespace   bool
	mounts      []volume.Mount
	termLog     *volume.Mount
	workingDir  string
	dir         string
}

// startOnThread is only supported on Linux, where mount namespaces exist.
func startOnThread(*exec.Cmd, setup) error {
	return errors.New("isolated start needs Linux")
}
