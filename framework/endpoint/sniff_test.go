package endpoint

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

func TestSniffListenerSplitsPlainAndTLS(t *testing.T) {
	ca := newTestCA(t, "server-ca")
	serverCert := ca.issue(t, "server", x509.ExtKeyUsageServerAuth, net.IPv4(127, 0, 0, 1))
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newSniffListener(raw, &tls.Config{Certificates: []tls.Certificate{serverCert}}, time.Hour)
	defer ln.Close()

	// A silent connection does not hold up the ones behind it.
	silent, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	// Plain: the sniffed first byte is read back with the rest.
	plain, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := plain.Write([]byte("GET / HTTP/1.1\r\n")); err != nil {
		t.Fatal(err)
	}
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(*tls.Conn); ok {
		t.Fatal("a plain connection came out as TLS")
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "GET / HTTP/1.1\r\n" {
		t.Fatalf("plain connection read %q, %v", line, err)
	}
	if _, err := c.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if b, _ := io.ReadAll(plain); string(b) != "pong" {
		t.Fatalf("plain client read %q", b)
	}

	// TLS: a *tls.Conn that completes the handshake with the server's certificate.
	errc := make(chan error, 1)
	go func() {
		tc, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: ca.pool(), ServerName: "127.0.0.1"})
		if err != nil {
			errc <- err
			return
		}
		defer tc.Close()
		if _, err := tc.Write([]byte("hello\n")); err != nil {
			errc <- err
			return
		}
		b, err := io.ReadAll(tc)
		if err == nil && string(b) != "world" {
			err = errors.New("TLS client read " + string(b))
		}
		errc <- err
	}()
	c, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	tc, ok := c.(*tls.Conn)
	if !ok {
		t.Fatalf("a TLS connection came out as %T", c)
	}
	line, err = bufio.NewReader(tc).ReadString('\n')
	if err != nil || line != "hello\n" {
		t.Fatalf("TLS connection read %q, %v", line, err)
	}
	if _, err := tc.Write([]byte("world")); err != nil {
		t.Fatal(err)
	}
	tc.Close()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}

	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
	}
	// Close also closed the connection still being sniffed (its timeout is an hour).
	if err := silent.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := silent.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("silent connection after Close: read %v, want EOF", err)
	}
}

func TestSniffListenerDropsSilentAndClosedConnections(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newSniffListener(raw, &tls.Config{}, 50*time.Millisecond)
	defer ln.Close()

	silent, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	closed, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()

	// The listener closes the silent connection after the sniff timeout.
	if err := silent.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := silent.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("silent connection: read %v, want EOF (closed by the listener)", err)
	}

	// Neither was handed to Accept: the first connection accepted is the next one.
	next, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	if _, err := next.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.RemoteAddr().String() != next.LocalAddr().String() {
		t.Fatalf("accepted %s, want the connection that spoke (%s)", c.RemoteAddr(), next.LocalAddr())
	}
}
