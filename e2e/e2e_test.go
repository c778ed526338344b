package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	readyPrefix  = "kubemesos is ready"
	readyTimeout = 3 * time.Minute
	stopTimeout  = time.Minute
)

// binary is the kubemesos binary built by TestMain ("" with -short).
var binary string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() || os.Getenv("KUBEMESOS_E2E_SKIP") != "" {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "kubemesos-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "kubemesos")
	if env := os.Getenv("KUBEMESOS_BINARY"); env != "" {
		binary = env
	} else {
		build := exec.Command("go", "build", "-o", binary, "./cmd/kubemesos")
		build.Dir = ".."
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		began := time.Now()
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: go build:", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "e2e: built %s in %s\n", binary, time.Since(began).Round(time.Second))
	}
	return m.Run()
}

func needBinary(t testing.TB) {
	t.Helper()
	if binary == "" {
		t.Skip("e2e tests are skipped with -short")
	}
}

// cluster is a running `kubemesos up`.
type cluster struct {
	t        testing.TB
	dataDir  string
	home     string
	cmd      *exec.Cmd
	mu       sync.Mutex
	stdout   bytes.Buffer
	stderr   bytes.Buffer
	ready    chan string
	exited   chan struct{}
	exitErr  error
	apiPort  int
	readyDur time.Duration
}

// freePort returns a loopback port that is free now and that no earlier
// call returned.
func freePort(t testing.TB) int {
	t.Helper()
	givenPorts.Lock()
	defer givenPorts.Unlock()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		// The kernel may hand out a port it has just handed out, before
		// the process it was given to has bound it: TestAgentFaults once
		// got the same port for two agents.
		if !givenPorts.m[port] {
			givenPorts.m[port] = true
			return port
		}
	}
}

// givenPorts are the ports freePort has returned in this test binary.
var givenPorts = struct {
	sync.Mutex
	m map[int]bool
}{m: map[int]bool{}}

// env is the environment of the commands: a private HOME and no
// KUBECONFIG, so the defaults under test are the ones used.
func env(home string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "KUBECONFIG=") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "KUBEMESOS_DATA_DIR=") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, "HOME="+home)
}

// startUp runs `kubemesos up` on free ports and waits until it is ready.
func startUp(t testing.TB, dataDir, home string, extra ...string) *cluster {
	t.Helper()
	c := &cluster{t: t, dataDir: dataDir, home: home, ready: make(chan string, 1), exited: make(chan struct{}), apiPort: freePort(t)}
	args := append([]string{"up", "--data-dir", dataDir, "--api-port", strconv.Itoa(c.apiPort),
		"--mesos-port", strconv.Itoa(freePort(t)), "--agents", "2"}, extra...)
	c.cmd = exec.Command(binary, args...)
	c.cmd.Env = env(home)
	c.cmd.Stderr = &lockedWriter{mu: &c.mu, w: &c.stderr}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sawReady := false
		for sc.Scan() {
			line := sc.Text()
			c.mu.Lock()
			c.stdout.WriteString(line + "\n")
			c.mu.Unlock()
			sawReady = sawReady || strings.HasPrefix(line, readyPrefix)
			// Ready is the ready line and the export line after it.
			if sawReady && strings.HasPrefix(line, "export KUBECONFIG=") {
				select {
				case c.ready <- line:
				default:
				}
			}
		}
		c.exitErr = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			c.cmd.Process.Kill()
			<-c.exited
		}
		if t.Failed() {
			t.Logf("kubemesos up output:\n%s\nstderr:\n%s", c.output(), c.errput())
		}
	})
	select {
	case <-c.ready:
		c.readyDur = time.Since(began)
		t.Logf("ready after %s", c.readyDur.Round(10*time.Millisecond))
	case <-c.exited:
		t.Fatalf("kubemesos up exited before it was ready (%v):\n%s\n%s", c.exitErr, c.output(), c.errput())
	case <-time.After(readyTimeout):
		t.Fatalf("kubemesos up not ready after %s:\n%s\n%s", readyTimeout, c.output(), c.errput())
	}
	return c
}

func (c *cluster) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stdout.String()
}

func (c *cluster) errput() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.String()
}

// stop sends SIGTERM and checks for a clean exit that leaves no process.
func (c *cluster) stop() {
	t := c.t
	t.Helper()
	pid := c.cmd.Process.Pid
	// Everything runs in-process but the pods: each agent's kubemesos
	// executor is a child process, as on a Mesos agent.
	for _, kid := range children(pid) {
		if args := cmdline(kid); !isExecutor(args) {
			t.Errorf("kubemesos up has a child process %d %q that is not an executor; it should run everything else in-process", kid, args)
		}
	}
	if err := c.cmd.Process.Signal(syscallSIGTERM); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	select {
	case <-c.exited:
	case <-time.After(stopTimeout):
		t.Fatalf("kubemesos up did not exit within %s of SIGTERM:\n%s", stopTimeout, c.output())
	}
	t.Logf("stopped %s after SIGTERM", time.Since(began).Round(10*time.Millisecond))
	if c.exitErr != nil {
		t.Errorf("kubemesos up exited with %v after SIGTERM, want 0:\n%s\n%s", c.exitErr, c.output(), c.errput())
	}
	// Everything stops, in reverse start order.
	out, last := c.output(), -1
	for _, component := range []string{"kube-controller-manager", "kube-apiserver", "etcd", "mesos-sim master"} {
		i := strings.Index(out, "  "+component+" ")
		for i >= 0 && !strings.HasSuffix(strings.SplitN(out[i:], "\n", 2)[0], "stopped") {
			next := strings.Index(out[i+1:], "  "+component+" ")
			if next < 0 {
				i = -1
				break
			}
			i += 1 + next
		}
		if i < 0 {
			t.Errorf("no line saying %s stopped:\n%s", component, out)
		} else if i < last {
			t.Errorf("%s stopped out of order:\n%s", component, out)
		} else {
			last = i
		}
	}
	if left := processesOf(binary); len(left) > 0 {
		t.Errorf("processes of %s left after SIGTERM: %v", binary, left)
	}
}

// kubectl runs `kubemesos kubectl args...` with the cluster's data dir as
// default (no KUBECONFIG, no --kubeconfig).
func (c *cluster) kubectl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"kubectl"}, args...)...)
	cmd.Env = append(env(c.home), "KUBEMESOS_DATA_DIR="+c.dataDir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *cluster) mustKubectl(args ...string) string {
	c.t.Helper()
	out, err := c.kubectl(args...)
	if err != nil {
		c.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// eventually polls f until it returns "" or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, f func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := f()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, msg)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// getJSON decodes the JSON at url into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
