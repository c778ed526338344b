package endpoint

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// tlsRecordHandshake is the first byte of every TLS connection: the record
// type of the ClientHello.
const tlsRecordHandshake = 0x16

// sniffListener accepts connections from one listener and tells plain ones
// from TLS ones by their first byte: TLS connections are returned wrapped in
// a *tls.Conn (net/http then does the handshake and fills Request.TLS),
// plain ones as they came, with the byte read put back. Sniffing runs in a
// goroutine per connection, so a client that sends nothing holds up nobody
// but itself, for at most the sniff timeout.
type sniffListener struct {
	net.Listener
	tlsConfig *tls.Config
	timeout   time.Duration

	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	sniffing map[net.Conn]struct{} // closed by Close
}

// newSniffListener starts sniffing the connections of ln.
func newSniffListener(ln net.Listener, tlsConfig *tls.Config, timeout time.Duration) *sniffListener {
	l := &sniffListener{
		Listener:  ln,
		tlsConfig: tlsConfig,
		timeout:   timeout,
		conns:     make(chan net.Conn),
		done:      make(chan struct{}),
		sniffing:  map[net.Conn]struct{}{},
	}
	go l.acceptLoop()
	return l
}

func (l *sniffListener) acceptLoop() {
	backoff := time.Duration(0)
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				l.closeOnce.Do(func() { close(l.done) })
				return
			}
			// Out of file descriptors and the like: wait and retry, as
			// net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(backoff):
				continue
			case <-l.done:
				return
			}
		}
		backoff = 0
		go l.sniff(c)
	}
}

// sniff reads the first byte of c and hands c to Accept, dropping a
// connection that sends nothing before the timeout or closes first.
func (l *sniffListener) sniff(c net.Conn) {
	if !l.track(c) {
		_ = c.Close()
		return
	}
	defer l.untrack(c)
	if err := c.SetReadDeadline(time.Now().Add(l.timeout)); err != nil {
		_ = c.Close()
		return
	}
	br := bufio.NewReaderSize(c, 1)
	first, err := br.Peek(1)
	if err != nil {
		_ = c.Close()
		return
	}
	if err := c.SetReadDeadline(time.Time{}); err != nil {
		_ = c.Close()
		return
	}
	var out net.Conn = &peekedConn{Conn: c, r: br}
	if first[0] == tlsRecordHandshake {
		out = tls.Server(out, l.tlsConfig)
	}
	select {
	case l.conns <- out:
	case <-l.done:
		_ = c.Close()
	}
}

// track records c as being sniffed; false once the listener is closed.
func (l *sniffListener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sniffing == nil {
		return false
	}
	l.sniffing[c] = struct{}{}
	return true
}

func (l *sniffListener) untrack(c net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.sniffing, c)
}

// Accept returns the next sniffed connection.
func (l *sniffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting; connections being sniffed are closed.
func (l *sniffListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	l.mu.Lock()
	for c := range l.sniffing {
		_ = c.Close()
	}
	l.sniffing = nil
	l.mu.Unlock()
	return err
}

// peekedConn is a connection whose first bytes were buffered while sniffing.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) {
	if c.r.Buffered() > 0 {
		return c.r.Read(p)
	}
	return c.Conn.Read(p)
}
