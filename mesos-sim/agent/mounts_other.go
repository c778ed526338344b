//go:build !linux

package agent

// unmountUnder does nothing where mounts are not Linux's.
func unmountUnder(string) ([]string, error) { return nil, nil }
