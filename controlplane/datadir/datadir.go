// Package datadir owns the layout of a kubemesos data directory: where the
// credentials, kubeconfigs, etcd data and logs live, the lock that keeps two
// clusters out of one directory, and the reset that deletes only what the
// layout owns. It uses only the standard library.
package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Layout names the files of a data directory.
type Layout struct {
	Dir string
}

// PKI is the directory of certificates and keys.
func (l Layout) PKI() string { return filepath.Join(l.Dir, "pki") }

// Etcd is etcd's data directory.
func (l Layout) Etcd() string { return filepath.Join(l.Dir, "etcd") }

// Logs holds the embedded components' logs.
func (l Layout) Logs() string { return filepath.Join(l.Dir, "logs") }

// Kubeconfig is the admin kubeconfig for people and kubectl.
func (l Layout) Kubeconfig() string { return filepath.Join(l.Dir, "kubeconfig") }

// ControllerManagerKubeconfig is the kube-controller-manager's kubeconfig.
func (l Layout) ControllerManagerKubeconfig() string {
	return filepath.Join(l.Dir, "controller-manager.kubeconfig")
}

// VolumePlugins is the kube-controller-manager's FlexVolume plugin
// directory (kept here so that it does not create one under /usr/libexec).
func (l Layout) VolumePlugins() string { return filepath.Join(l.Dir, "volume-plugins") }

// Mesos is the work directory of the bundled Mesos agents (sandboxes).
func (l Layout) Mesos() string { return filepath.Join(l.Dir, "mesos") }

// entries are everything a Layout creates directly under Dir.
func (l Layout) entries() []string {
	return []string{l.PKI(), l.Etcd(), l.Logs(), l.Kubeconfig(), l.ControllerManagerKubeconfig(), l.VolumePlugins(), l.Mesos()}
}

// Prepare creates Dir and its subdirectories and checks that they are
// writable, so that a bad --data-dir fails before anything starts.
func (l Layout) Prepare() error {
	if l.Dir == "" {
		return errors.New("data dir is empty")
	}
	for _, d := range []string{l.Dir, l.Logs()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("data dir %s is not usable: %w", l.Dir, err)
		}
	}
	probe, err := os.CreateTemp(l.Dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("data dir %s is not writable: %w", l.Dir, err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// Exists reports whether the data directory holds a cluster (etcd data).
func (l Layout) Exists() bool {
	_, err := os.Stat(filepath.Join(l.Etcd(), "member"))
	return err == nil
}

// Reset deletes the cluster state the layout owns: credentials,
// kubeconfigs, etcd data, logs and the Mesos work directory. Other files
// under Dir are left alone, so a mistaken --data-dir (say $HOME) loses
// nothing else.
func (l Layout) Reset() error {
	var errs []error
	for _, e := range l.entries() {
		if err := os.RemoveAll(e); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("reset %s: %w", l.Dir, err)
	}
	return nil
}

// ErrInUse means another process holds the data directory.
var ErrInUse = errors.New("data dir is in use by another kubemesos up")

// Lock takes an exclusive lock on the data directory (the file .lock in
// it), creating the directory if needed, so that two clusters never share
// one etcd or a --reset never pulls the state from under a running one.
// The lock ends with release or with the process.
func (l Layout) Lock() (release func(), err error) {
	if l.Dir == "" {
		return nil, errors.New("data dir is empty")
	}
	if err := os.MkdirAll(l.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir %s is not usable: %w", l.Dir, err)
	}
	f, err := os.OpenFile(filepath.Join(l.Dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data dir %s is not writable: %w", l.Dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrInUse, l.Dir)
		}
		return nil, fmt.Errorf("lock data dir %s: %w", l.Dir, err)
	}
	return func() { f.Close() }, nil
}
