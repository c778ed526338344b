package endpoint

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startServer starts an endpoint on 127.0.0.1 and stops it with the test.
func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Logs == nil {
		cfg.Logs = newTestLocator()
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s
}

// httpsClient trusts s's serving certificate and presents clientCert (if any).
func httpsClient(s *Server, clientCert *tls.Certificate) *http.Client {
	roots := x509.NewCertPool()
	roots.AddCert(s.cert.Leaf)
	cfg := &tls.Config{RootCAs: roots}
	if clientCert != nil {
		cfg.Certificates = []tls.Certificate{*clientCert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
}

func get(t *testing.T, c *http.Client, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func TestPlainAndHTTPSOnOnePort(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "offers_received 3\n") })
	s := startServer(t, Config{Metrics: metrics})
	plain, secure := "http://"+s.Addr(), "https://"+s.Addr()
	client := httpsClient(s, nil)
	for _, c := range []struct {
		url      string
		wantCode int
		wantBody string
	}{
		{plain + "/healthz", 200, "ok"},
		{plain + "/metrics", 200, "offers_received 3\n"},
		{plain + "/nothing", 404, "404 page not found\n"},
		{plain + "/containerLogs/ns/pod/c", 400, "kubemesos: the kubelet API is served over HTTPS only\n"},
		{plain + ExecutorPath, 404, "kubemesos: this framework serves no executor binary\n"},
		{secure + "/healthz", 200, "ok"},
		// Not served over HTTPS: the kubelet API has no such paths.
		{secure + "/metrics", 404, "404 page not found\n"},
	} {
		if code, _, body := get(t, client, c.url); code != c.wantCode || body != c.wantBody {
			t.Errorf("GET %s: %d %q, want %d %q", c.url, code, body, c.wantCode, c.wantBody)
		}
	}
}

func TestNoMetricsHandler(t *testing.T) {
	s := startServer(t, Config{})
	if code, _, _ := get(t, http.DefaultClient, "http://"+s.Addr()+"/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics without a handler: %d, want 404", code)
	}
}

func TestExecutorDownload(t *testing.T) {
	binary := make([]byte, 3<<20+17)
	if _, err := rand.Read(binary); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubemesos")
	if err := os.WriteFile(path, binary, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"binary file", Config{ExecutorBinary: path}},
		{"image in memory", Config{ExecutorImage: binary}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, tc.cfg)
			resp, err := http.Get("http://" + s.Addr() + ExecutorPath)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || !bytes.Equal(got, binary) {
				t.Fatalf("download: %d, %d bytes (identical: %v), want 200 and the %d bytes of the binary", resp.StatusCode, len(got), bytes.Equal(got, binary), len(binary))
			}
			if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(binary)) {
				t.Errorf("Content-Length %q, want %d", cl, len(binary))
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestKubeletAPIAuthentication(t *testing.T) {
	kubeletCA := newTestCA(t, "kubelet-client-ca")
	otherCA := newTestCA(t, "other-ca")
	apiserver := kubeletCA.issue(t, "kube-apiserver-kubelet-client", x509.ExtKeyUsageClientAuth)
	stranger := otherCA.issue(t, "kube-apiserver-kubelet-client", x509.ExtKeyUsageClientAuth)
	serverOnly := kubeletCA.issue(t, "not-a-client", x509.ExtKeyUsageServerAuth)

	s := startServer(t, Config{ClientCA: kubeletCA.pool()})
	open := startServer(t, Config{})
	for _, c := range []struct {
		name     string
		server   *Server
		cert     *tls.Certificate
		wantCode int
		wantBody string
	}{
		{"client cert from the kubelet client CA", s, &apiserver, 501, "kubemesos: exec is not supported by the process runtime\n"},
		{"no client cert", s, nil, 401, "Unauthorized: a client certificate is required\n"},
		{"client cert from another CA", s, &stranger, 401, "Unauthorized: the client certificate is not signed by the kubelet client CA"},
		{"server-only cert from the right CA", s, &serverOnly, 401, "Unauthorized: the client certificate is not signed by the kubelet client CA"},
		{"no client CA configured: anyone", open, nil, 501, "kubemesos: exec is not supported by the process runtime\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, body := get(t, httpsClient(c.server, c.cert), "https://"+c.server.Addr()+"/exec/ns/pod/c?command=sh")
			if code != c.wantCode || !strings.HasPrefix(body, c.wantBody) {
				t.Errorf("%d %q, want %d %q", code, body, c.wantCode, c.wantBody)
			}
		})
	}
	// /healthz needs no certificate.
	if code, _, _ := get(t, httpsClient(s, nil), "https://"+s.Addr()+"/healthz"); code != 200 {
		t.Errorf("/healthz over HTTPS without a client cert: %d", code)
	}
}

func TestUnsupportedKubeletVerbs(t *testing.T) {
	s := startServer(t, Config{})
	client := httpsClient(s, nil)
	for path, verb := range map[string]string{
		"/exec/ns/pod/c":       "exec",
		"/attach/ns/pod/c":     "attach",
		"/portForward/ns/pod":  "port-forward",
		"/run/ns/pod/c":        "run",
		"/exec/ns/pod/uid/c":   "exec",
		"/portForward/ns/pod/": "port-forward",
	} {
		resp, err := client.Post("https://"+s.Addr()+path, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := "kubemesos: " + verb + " is not supported by the process runtime\n"
		if resp.StatusCode != http.StatusNotImplemented || string(b) != want {
			t.Errorf("POST %s: %d %q, want 501 %q", path, resp.StatusCode, b, want)
		}
	}
}

func TestNewValidates(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no port", Config{Listen: "127.0.0.1", Logs: newTestLocator()}, "must be host:port"},
		{"bad port", Config{Listen: "127.0.0.1:http", Logs: newTestLocator()}, "is not a number"},
		{"port too large", Config{Listen: ":70000", Logs: newTestLocator()}, "is not a number"},
		{"no locator", Config{Listen: ":0"}, "log locator"},
		{"missing executor", Config{Listen: ":0", Logs: newTestLocator(), ExecutorBinary: filepath.Join(dir, "none")}, "executor binary"},
		{"executor is a directory", Config{Listen: ":0", Logs: newTestLocator(), ExecutorBinary: dir}, "not a regular file"},
		{"executor binary and image", Config{Listen: ":0", Logs: newTestLocator(), ExecutorBinary: filepath.Join(dir, "none"), ExecutorImage: []byte("x")}, "not both"},
		{"cert without key", Config{Listen: ":0", Logs: newTestLocator(), ServingCert: "x"}, "both"},
		{"unreadable cert", Config{Listen: ":0", Logs: newTestLocator(), ServingCert: filepath.Join(dir, "c"), ServingKey: filepath.Join(dir, "k")}, "serving certificate"},
		{"negative poll", Config{Listen: ":0", Logs: newTestLocator(), PollInterval: -time.Second}, "negative"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("New: %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestServingCertificate(t *testing.T) {
	ca := newTestCA(t, "serving-ca")
	leaf := ca.issue(t, "framework", x509.ExtKeyUsageServerAuth, net.IPv4(127, 0, 0, 1))
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Certificate[0]})
	keyDER, err := x509.MarshalPKCS8PrivateKey(leaf.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool()}}}
	for _, c := range []struct{ name, cert, key string }{
		{"PEM text", string(certPEM), string(keyPEM)},
		{"file paths", certFile, keyFile},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startServer(t, Config{ServingCert: c.cert, ServingKey: c.key})
			if code, _, body := get(t, trusting, "https://"+s.Addr()+"/healthz"); code != 200 || body != "ok" {
				t.Errorf("/healthz: %d %q", code, body)
			}
		})
	}
}

func TestSelfSignedCertificateHosts(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		host    string
		wantDNS []string
		wantIPs []string
	}{
		{"127.0.0.1", nil, []string{"127.0.0.1"}},
		{"framework.example", []string{"framework.example"}, nil},
		{"::1", nil, []string{"::1"}},
	} {
		cert, err := selfSigned(c.host, now)
		if err != nil {
			t.Fatal(err)
		}
		leaf := cert.Leaf
		if fmt.Sprint(leaf.DNSNames) != fmt.Sprint(c.wantDNS) && !(len(leaf.DNSNames) == 0 && len(c.wantDNS) == 0) {
			t.Errorf("%s: DNS names %v, want %v", c.host, leaf.DNSNames, c.wantDNS)
		}
		if got := ipStrings(leaf.IPAddresses); fmt.Sprint(got) != fmt.Sprint(c.wantIPs) && !(len(got) == 0 && len(c.wantIPs) == 0) {
			t.Errorf("%s: IPs %v, want %v", c.host, got, c.wantIPs)
		}
		if err := leaf.VerifyHostname(c.host); err != nil {
			t.Errorf("%s: %v", c.host, err)
		}
		if key, ok := cert.PrivateKey.(*ecdsa.PrivateKey); !ok || key.Curve != elliptic.P256() {
			t.Errorf("%s: key %T, want ECDSA P-256", c.host, cert.PrivateKey)
		}
	}
	// Listening everywhere: localhost and the loopback addresses.
	cert, err := selfSigned("", now)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
		if err := cert.Leaf.VerifyHostname(h); err != nil {
			t.Errorf("wildcard listen: %v", err)
		}
	}
}
