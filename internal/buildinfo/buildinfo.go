// Package buildinfo holds what the kubemesos binary knows about its own build:
// the version and commit stamped in by the Makefile through -ldflags, and the
// Mesos API version that mesos-sim reports to its clients.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version and Commit are set at link time with
// -ldflags "-X github.com/kubemesos/kubemesos/internal/buildinfo.Version=...".
var (
	Version = "v0.0.0-dev"
	Commit  = ""
	// BuildDate is an RFC 3339 UTC time stamp, empty for plain `go build`.
	BuildDate = ""
)

// MesosVersion is the Apache Mesos release whose v1 API mesos-sim implements
// and reports on /version and in MasterInfo.
const MesosVersion = "1.11.0"

// Info describes the running binary.
type Info struct {
	Version      string `json:"version"`
	Commit       string `json:"commit,omitempty"`
	BuildDate    string `json:"build_date,omitempty"`
	GoVersion    string `json:"go_version"`
	Platform     string `json:"platform"`
	MesosVersion string `json:"mesos_api_version"`
}

// Get returns the build information, filling the commit from the Go build's
// VCS stamp when the linker did not set it.
func Get() Info {
	commit := Commit
	if commit == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					commit = s.Value
				}
			}
		}
	}
	return Info{
		Version:      Version,
		Commit:       commit,
		BuildDate:    BuildDate,
		GoVersion:    runtime.Version(),
		Platform:     runtime.GOOS + "/" + runtime.GOARCH,
		MesosVersion: MesosVersion,
	}
}

// String renders the information on one line.
func (i Info) String() string {
	s := fmt.Sprintf("kubemesos %s (%s, %s, Mesos API %s)", i.Version, i.GoVersion, i.Platform, i.MesosVersion)
	if i.Commit != "" {
		s += " commit " + i.Commit
	}
	return s
}
