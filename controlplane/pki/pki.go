// Package pki owns the credentials of the embedded control plane: a cluster
// CA, the kube-apiserver serving certificate, client certificates (admin,
// controller manager, the apiserver's kubelet client) and the service-account
// key pair. Everything is generated once into a directory and reused on every
// later start, so a cluster keeps its identity across restarts. It uses only
// the standard library.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// File names inside the PKI directory.
const (
	CAName                  = "ca"
	APIServerName           = "apiserver"
	AdminName               = "admin"
	ControllerManagerName   = "controller-manager"
	APIServerKubeletName    = "apiserver-kubelet-client"
	ServiceAccountKeyFile   = "sa.key"
	ServiceAccountPubFile   = "sa.pub"
	caValidity              = 10 * 365 * 24 * time.Hour
	leafValidity            = 5 * 365 * 24 * time.Hour
	defaultServiceClusterIP = "10.96.0.1"
)

// ClientIdentity is who a client certificate authenticates as.
type ClientIdentity struct {
	Name   string // file name stem
	User   string // certificate CN
	Groups []string
}

// Clients are the client certificates the control plane needs: the admin
// (for people and kubectl), the controller manager (its RBAC bootstrap
// user) and the apiserver's client for kubelets.
func Clients() []ClientIdentity {
	return []ClientIdentity{
		{Name: AdminName, User: "kubernetes-admin", Groups: []string{"system:masters"}},
		{Name: ControllerManagerName, User: "system:kube-controller-manager"},
		{Name: APIServerKubeletName, User: "kube-apiserver-kubelet-client", Groups: []string{"system:masters"}},
	}
}

// Config says where the PKI lives and what the serving certificate names.
type Config struct {
	// Dir holds the files; created with mode 0700 if missing.
	Dir string
	// Hosts are the DNS names and IP addresses the apiserver serving
	// certificate is valid for, in addition to localhost, 127.0.0.1, the
	// in-cluster service names and ServiceIP.
	Hosts []string
	// ServiceIP is the first address of the service range (the
	// kubernetes.default service); default 10.96.0.1.
	ServiceIP string
	// Now is the clock for validity periods (default time.Now).
	Now func() time.Time
}

// Paths are the files of a PKI directory.
type Paths struct {
	Dir string
}

// Cert returns the certificate file of name.
func (p Paths) Cert(name string) string { return filepath.Join(p.Dir, name+".crt") }

// Key returns the private key file of name.
func (p Paths) Key(name string) string { return filepath.Join(p.Dir, name+".key") }

// ServiceAccountKey is the service-account signing key.
func (p Paths) ServiceAccountKey() string { return filepath.Join(p.Dir, ServiceAccountKeyFile) }

// ServiceAccountPub is the service-account verification key.
func (p Paths) ServiceAccountPub() string { return filepath.Join(p.Dir, ServiceAccountPubFile) }

// Ensure creates whatever of the PKI is missing in cfg.Dir and returns its
// paths and whether anything was generated. Existing files are kept; a
// certificate whose key is missing is regenerated.
func Ensure(cfg Config) (Paths, bool, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ServiceIP == "" {
		cfg.ServiceIP = defaultServiceClusterIP
	}
	p := Paths{Dir: cfg.Dir}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return p, false, fmt.Errorf("pki: %w", err)
	}
	generated := false

	caCert, caKey, made, err := ensureCA(p, cfg.Now())
	if err != nil {
		return p, false, err
	}
	generated = generated || made

	hosts := append([]string{"localhost", "127.0.0.1", cfg.ServiceIP, "kubernetes", "kubernetes.default",
		"kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}, cfg.Hosts...)
	serving := template(cfg.Now(), "kube-apiserver", nil, x509.ExtKeyUsageServerAuth)
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			serving.IPAddresses = append(serving.IPAddresses, ip)
		} else if h != "" {
			serving.DNSNames = append(serving.DNSNames, h)
		}
	}
	made, err = ensureLeaf(p, APIServerName, serving, caCert, caKey)
	if err != nil {
		return p, false, err
	}
	generated = generated || made

	for _, c := range Clients() {
		made, err := ensureLeaf(p, c.Name, template(cfg.Now(), c.User, c.Groups, x509.ExtKeyUsageClientAuth), caCert, caKey)
		if err != nil {
			return p, false, err
		}
		generated = generated || made
	}

	made, err = ensureServiceAccountKeys(p)
	if err != nil {
		return p, false, err
	}
	return p, generated || made, nil
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func ensureCA(p Paths, now time.Time) (*x509.Certificate, crypto.Signer, bool, error) {
	certOK, err := exists(p.Cert(CAName))
	if err != nil {
		return nil, nil, false, fmt.Errorf("pki: %w", err)
	}
	keyOK, err := exists(p.Key(CAName))
	if err != nil {
		return nil, nil, false, fmt.Errorf("pki: %w", err)
	}
	if certOK && keyOK {
		cert, err := ReadCertificate(p.Cert(CAName))
		if err != nil {
			return nil, nil, false, err
		}
		key, err := readKey(p.Key(CAName))
		if err != nil {
			return nil, nil, false, err
		}
		return cert, key, false, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, false, fmt.Errorf("pki: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "kubemesos-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, false, fmt.Errorf("pki: create CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, false, fmt.Errorf("pki: %w", err)
	}
	if err := writeKey(p.Key(CAName), key); err != nil {
		return nil, nil, false, err
	}
	if err := writePEM(p.Cert(CAName), "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, false, err
	}
	return cert, key, true, nil
}

func template(now time.Time, cn string, orgs []string, usage x509.ExtKeyUsage) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn, Organization: orgs},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(leafValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
}

func ensureLeaf(p Paths, name string, tmpl, ca *x509.Certificate, caKey crypto.Signer) (bool, error) {
	certOK, err := exists(p.Cert(name))
	if err != nil {
		return false, fmt.Errorf("pki: %w", err)
	}
	keyOK, err := exists(p.Key(name))
	if err != nil {
		return false, fmt.Errorf("pki: %w", err)
	}
	if certOK && keyOK {
		return false, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return false, fmt.Errorf("pki: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return false, fmt.Errorf("pki: create %s certificate: %w", name, err)
	}
	if err := writeKey(p.Key(name), key); err != nil {
		return false, err
	}
	return true, writePEM(p.Cert(name), "CERTIFICATE", der, 0o644)
}

func ensureServiceAccountKeys(p Paths) (bool, error) {
	keyOK, err := exists(p.ServiceAccountKey())
	if err != nil {
		return false, fmt.Errorf("pki: %w", err)
	}
	pubOK, err := exists(p.ServiceAccountPub())
	if err != nil {
		return false, fmt.Errorf("pki: %w", err)
	}
	if keyOK && pubOK {
		return false, nil
	}
	// ECDSA P-256: kube-apiserver signs every service-account token
	// (one per pod that mounts one) with ES256, several times cheaper than
	// RS256 with a 2048-bit RSA key. A data dir made by an earlier version
	// keeps its RSA key.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return false, fmt.Errorf("pki: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return false, fmt.Errorf("pki: %w", err)
	}
	if err := writeKey(p.ServiceAccountKey(), key); err != nil {
		return false, err
	}
	return true, writePEM(p.ServiceAccountPub(), "PUBLIC KEY", pub, 0o644)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // broken invariant: the OS has no randomness
	}
	return n
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	return writePEM(path, "EC PRIVATE KEY", der, 0o600)
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	return nil
}

// ReadCertificate reads the first certificate of a PEM file.
func ReadCertificate(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("pki: %s holds no PEM certificate", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", path, err)
	}
	return cert, nil
}

func readKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("pki: %s holds no PEM key", path)
	}
	switch block.Type {
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("pki: %s: %w", path, err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("pki: %s: unsupported key type %T", path, k)
		}
		return s, nil
	}
}
