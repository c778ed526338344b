package datadir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestResetDeletesOnlyItsOwnEntries(t *testing.T) {
	l := Layout{Dir: t.TempDir()}
	if err := l.Prepare(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{l.PKI(), filepath.Join(l.Etcd(), "member")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{l.Kubeconfig(), filepath.Join(l.PKI(), "ca.crt"), filepath.Join(l.Dir, "notes.txt")} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if !l.Exists() {
		t.Fatal("Exists is false with etcd data present")
	}
	if err := l.Reset(); err != nil {
		t.Fatal(err)
	}
	if l.Exists() {
		t.Error("Exists is true after Reset")
	}
	for _, gone := range []string{l.PKI(), l.Etcd(), l.Kubeconfig(), l.Logs()} {
		if _, err := os.Stat(gone); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived Reset (%v)", gone, err)
		}
	}
	if _, err := os.Stat(filepath.Join(l.Dir, "notes.txt")); err != nil {
		t.Errorf("Reset deleted a file it does not own: %v", err)
	}
}

func TestLockExcludesASecondHolder(t *testing.T) {
	l := Layout{Dir: filepath.Join(t.TempDir(), "new")}
	release, err := l.Lock()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Lock(); !errors.Is(err, ErrInUse) {
		t.Fatalf("second Lock: %v, want ErrInUse", err)
	}
	release()
	release, err = l.Lock()
	if err != nil {
		t.Fatalf("Lock after release: %v", err)
	}
	release()
}

func TestUnusableDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	l := Layout{Dir: filepath.Join(file, "data")}
	if _, err := l.Lock(); err == nil {
		t.Error("Lock under a file succeeded")
	}
	if err := l.Prepare(); err == nil {
		t.Error("Prepare under a file succeeded")
	}
	if err := (Layout{}).Prepare(); err == nil {
		t.Error("Prepare with no dir succeeded")
	}
}
