package pki

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestEnsureGeneratesOnceAndVerifies(t *testing.T) {
	dir := t.TempDir()
	p, made, err := Ensure(Config{Dir: dir, Hosts: []string{"example.test", "10.1.2.3"}})
	if err != nil {
		t.Fatal(err)
	}
	if !made {
		t.Fatal("first Ensure generated nothing")
	}
	ca, err := ReadCertificate(p.Cert(CAName))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)

	serving, err := ReadCertificate(p.Cert(APIServerName))
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"localhost", "127.0.0.1", "10.96.0.1", "kubernetes.default.svc", "example.test", "10.1.2.3"} {
		if _, err := serving.Verify(x509.VerifyOptions{Roots: roots, DNSName: host}); err != nil {
			t.Errorf("serving certificate for %s: %v", host, err)
		}
	}
	for _, c := range Clients() {
		cert, err := ReadCertificate(p.Cert(c.Name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
		if cert.Subject.CommonName != c.User || !slices.Equal(cert.Subject.Organization, c.Groups) {
			t.Errorf("%s: subject %v, want CN=%s O=%v", c.Name, cert.Subject, c.User, c.Groups)
		}
		st, err := os.Stat(p.Key(c.Name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s key mode %v, want 0600", c.Name, st.Mode().Perm())
		}
	}
	for _, f := range []string{p.ServiceAccountKey(), p.ServiceAccountPub()} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}

	before, _ := os.ReadFile(p.Cert(AdminName))
	_, made, err = Ensure(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if made {
		t.Error("second Ensure generated again")
	}
	after, _ := os.ReadFile(p.Cert(AdminName))
	if string(before) != string(after) {
		t.Error("admin certificate changed on second Ensure")
	}
}

func TestEnsureUnwritableDir(t *testing.T) {
	// A path under a regular file cannot be created, even by root (whom
	// directory permissions do not stop).
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Ensure(Config{Dir: filepath.Join(file, "pki")}); err == nil {
		t.Fatal("Ensure under a regular file succeeded")
	}
}
