//go:build !linux

package agent

import (
	"errors"

	memcg "github.com/kubemesos/kubemesos/internal/cgroup"
)

// Memory cgroups are Linux's: elsewhere the agent has no isolation and
// never watches a container.

type oomWatch struct{}

func (*oomWatch) stop() {}

type oomWatcher struct{}

func (*oomWatcher) watch(*memcg.Group, func()) (*oomWatch, error) {
	return nil, errors.New("oom watch: cgroups are Linux-only")
}

func (*oomWatcher) close() {}
