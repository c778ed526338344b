package endpoint

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"strings"
	"time"
)

// selfSignedValidity is how long a generated serving certificate is valid.
const selfSignedValidity = 365 * 24 * time.Hour

// servingCertificate loads the configured certificate and key (PEM text or
// file paths) or, with neither, makes a self-signed one for host.
func servingCertificate(certSpec, keySpec, host string, now time.Time) (tls.Certificate, error) {
	if certSpec == "" && keySpec == "" {
		return selfSigned(host, now)
	}
	certPEM, err := pemOrFile(certSpec)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("serving certificate: %w", err)
	}
	keyPEM, err := pemOrFile(keySpec)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("serving key: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("serving certificate and key: %w", err)
	}
	return cert, nil
}

// pemOrFile is spec itself when it holds PEM text, else the file it names.
func pemOrFile(spec string) ([]byte, error) {
	if strings.Contains(spec, "-----BEGIN ") {
		return []byte(spec), nil
	}
	b, err := os.ReadFile(spec)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// selfSigned makes an ECDSA P-256 certificate for host, valid from now for
// selfSignedValidity. An empty or unspecified host (listening everywhere)
// gets localhost, the loopback addresses and the machine's hostname.
func selfSigned(host string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate serving key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "kubemesos-framework"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(selfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	ip := net.ParseIP(host)
	switch {
	case host == "" || (ip != nil && ip.IsUnspecified()):
		tmpl.DNSNames = []string{"localhost"}
		if name, err := os.Hostname(); err == nil && name != "" && name != "localhost" {
			tmpl.DNSNames = append(tmpl.DNSNames, name)
		}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	case ip != nil:
		tmpl.IPAddresses = []net.IP{ip}
	default:
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("self-sign serving certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("parse self-signed certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// errNoClientCert and errUntrustedClientCert are why a kubelet API request
// is answered 401.
var (
	errNoClientCert        = errors.New("a client certificate is required")
	errUntrustedClientCert = errors.New("the client certificate is not signed by the kubelet client CA")
)

// verifyClient checks the certificates a TLS client presented against ca
// for client authentication. The handshake only requests them, so that a
// missing or wrong certificate is answered 401 rather than a failed
// handshake, as the kubelet's authenticator does.
func verifyClient(state *tls.ConnectionState, ca *x509.CertPool, now time.Time) error {
	if state == nil || len(state.PeerCertificates) == 0 {
		return errNoClientCert
	}
	intermediates := x509.NewCertPool()
	for _, c := range state.PeerCertificates[1:] {
		intermediates.AddCert(c)
	}
	_, err := state.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots:         ca,
		Intermediates: intermediates,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return fmt.Errorf("%w: %w", errUntrustedClientCert, err)
	}
	return nil
}
