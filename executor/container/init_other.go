//go:build !linux

package container

import (
	"errors"
	"syscall"

	"github.com/kubemesos/kubemesos/executor/volume"
)

type initSpec struct {
	Mounts      []volume.Mount `json:"mounts,omitempty"`
	CgroupProcs []string       `json:"cgroupProcs,omitempty"`
	WorkingDir  string         `json:"workingDir,omitempty"`
	Dir         string         `json:"dir,omitempty"`

	TerminationLog *volume.Mount       `json:"terminationLog,omitempty"`
	Credential     *syscall.Credential `json:"credential,omitempty"`
}

func canNamespace() bool { return false }

func sysProcAttr(bool) *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// Init is only supported on Linux, where mount namespaces exist.
func Init([]string) error { return errors.New("container-init needs Linux") }
