package runner

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubemesos/kubemesos/executor/container"
)

// maxHandlerOutput is how much of an exec probe's or hook's output is kept
// for its message, as the kubelet keeps.
const maxHandlerOutput = 10 << 10

// check runs one probe, bounded by timeout, and says whether it passed
// and, if not, why.
func (r *instanceRun) check(h *corev1.ProbeHandler, timeout time.Duration) (bool, string) {
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	var err error
	switch {
	case h.Exec != nil:
		err = r.exec(ctx, h.Exec.Command)
	case h.HTTPGet != nil:
		err = r.httpGet(ctx, h.HTTPGet)
	case h.TCPSocket != nil:
		err = r.tcp(ctx, h.TCPSocket)
	case h.GRPC != nil:
		err = r.grpcCheck(ctx, h.GRPC)
	default:
		err = errors.New("probe has no handler")
	}
	if err != nil {
		return false, err.Error()
	}
	return true, ""
}

// runHandler runs a lifecycle hook until it is done or ctx ends.
func (r *instanceRun) runHandler(ctx context.Context, h *corev1.LifecycleHandler) error {
	switch {
	case h.Exec != nil:
		return r.exec(ctx, h.Exec.Command)
	case h.HTTPGet != nil:
		return r.httpGet(ctx, h.HTTPGet)
	case h.Sleep != nil:
		wait := make(chan struct{})
		t := r.c.pod.clock.AfterFunc(r.c.pod.specSeconds(h.Sleep.Seconds), func() { close(wait) })
		defer t.Stop()
		select {
		case <-wait:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	case h.TCPSocket != nil:
		return errors.New("tcpSocket lifecycle hooks are not supported")
	}
	return errors.New("lifecycle hook has no handler")
}

// exec runs command in the container's environment, mounts and cgroup; a
// non-zero exit is an error carrying the output.
func (r *instanceRun) exec(ctx context.Context, command []string) error {
	if len(command) == 0 {
		return errors.New("exec has no command")
	}
	argv := make([]string, len(command))
	for i, s := range command {
		argv[i] = r.c.pod.cfg.Expand(s, r.inst.env)
	}
	out := &limitedBuffer{max: maxHandlerOutput}
	proc, err := container.Start(container.Spec{
		Argv:       argv,
		Env:        r.inst.env,
		WorkingDir: r.c.spec.WorkingDir,
		Dir:        r.c.pod.cfg.Dir,
		Mounts:     r.inst.mounts,
		Cgroup:     r.inst.group,
		Credential: r.inst.cred,
		Stdout:     out,
		Stderr:     out,
	})
	if err != nil {
		return fmt.Errorf("exec %s: %w", argv[0], err)
	}
	exited := make(chan container.Exit, 1)
	go func() {
		exit, _ := proc.Wait()
		exited <- exit
	}()
	select {
	case exit := <-exited:
		if exit.Code != 0 {
			return fmt.Errorf("command %q exited with %d: %s", strings.Join(argv, " "), exit.Code, strings.TrimSpace(out.String()))
		}
		return nil
	case <-ctx.Done():
		proc.Kill()
		<-exited
		return fmt.Errorf("command %q timed out", strings.Join(argv, " "))
	}
}

// httpGet passes for a response status in [200, 400).
func (r *instanceRun) httpGet(ctx context.Context, h *corev1.HTTPGetAction) error {
	port, err := r.port(h.Port)
	if err != nil {
		return err
	}
	host := h.Host
	if host == "" {
		host = r.c.pod.cfg.HostIP
	}
	scheme := strings.ToLower(string(h.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	path := h.Path
	if path != "" && !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u := &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port))}
	u, err = u.Parse(path)
	if err != nil {
		return fmt.Errorf("probe URL: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "kube-probe/kubemesos")
	req.Header.Set("Accept", "*/*")
	for _, hd := range h.HTTPHeaders {
		if strings.EqualFold(hd.Name, "Host") {
			req.Host = hd.Value
			continue
		}
		req.Header.Add(hd.Name, hd.Value)
	}
	resp, err := r.c.pod.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("HTTP probe: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("HTTP probe failed with statuscode: %d", resp.StatusCode)
	}
	return nil
}

func (r *instanceRun) tcp(ctx context.Context, h *corev1.TCPSocketAction) error {
	port, err := r.port(h.Port)
	if err != nil {
		return err
	}
	host := h.Host
	if host == "" {
		host = r.c.pod.cfg.HostIP
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("TCP probe: %w", err)
	}
	return conn.Close()
}

// port resolves a probe's port: a number, or the name of a container port.
func (r *instanceRun) port(p intstr.IntOrString) (int, error) {
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	for _, cp := range r.c.spec.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("container %s has no port named %q", r.c.spec.Name, p.StrVal)
}

// httpClient is the pod's client for probes and hooks, set up as the
// kubelet's: no keep-alives (probes leave no idle connections behind), no
// proxy, and HTTPS without certificate verification.
func (p *Pod) httpClient() *http.Client {
	p.httpOnce.Do(func() {
		p.http = &http.Client{Transport: &http.Transport{
			DisableKeepAlives: true,
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // as the kubelet's probes
		}}
	})
	return p.http
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
