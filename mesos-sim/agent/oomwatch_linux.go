package agent

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	memcg "github.com/kubemesos/kubemesos/internal/cgroup"
)

// The OOM watch tells the agent as soon as the kernel OOM-kills a process
// of a container, whichever it is, as Mesos' memory isolator listens for
// OOM events: on cgroup v1 an eventfd registered for memory.oom_control
// through cgroup.event_control (one per container, read by a goroutine
// parked in the runtime's poller), each event confirmed by the oom_kill
// count of memory.oom_control; on cgroup v2 one inotify instance per agent
// watching each container's memory.events for modifications, whose
// oom_kill count then tells an OOM kill from the file's other events
// (high, max).

// oomWatch is one container's watch. stop ends it; it is safe to call more
// than once.
type oomWatch struct {
	stopOnce sync.Once
	stopFn   func()
}

func (w *oomWatch) stop() {
	if w != nil {
		w.stopOnce.Do(w.stopFn)
	}
}

// oomWatcher holds what the watches of one agent share: the v2 inotify
// instance, made on first use.
type oomWatcher struct {
	mu      sync.Mutex
	inotify *inotify
	closed  bool
}

// watch calls onOOM (at most once, on the watch's goroutine: v2's is
// shared, in the order of the files' events) when the group's processes
// hit its memory limit.
func (ow *oomWatcher) watch(g *memcg.Group, onOOM func()) (*oomWatch, error) {
	if g.V2() {
		return ow.watchV2(g, onOOM)
	}
	return watchV1(g, onOOM)
}

// watchV1 registers an eventfd for the group's OOM notifications.
func watchV1(g *memcg.Group, onOOM func()) (*oomWatch, error) {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("oom watch: eventfd: %w", err)
	}
	control, err := unix.Open(filepath.Join(g.Dir(), "memory.oom_control"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = unix.Close(efd)
		return nil, fmt.Errorf("oom watch: %w", err)
	}
	// The kernel keeps what it needs of memory.oom_control once the event
	// is registered.
	err = os.WriteFile(filepath.Join(g.Dir(), "cgroup.event_control"), []byte(strconv.Itoa(efd)+" "+strconv.Itoa(control)), 0)
	_ = unix.Close(control)
	if err != nil {
		_ = unix.Close(efd)
		return nil, fmt.Errorf("oom watch: register for OOM events of %s: %w", g.Dir(), err)
	}
	// A non-blocking descriptor: reads park in the runtime's poller, and
	// Close wakes them.
	f := os.NewFile(uintptr(efd), "oom-eventfd")
	w := &oomWatch{stopFn: func() { _ = f.Close() }}
	go func() {
		var buf [8]byte
		for {
			if _, err := f.Read(buf[:]); err != nil {
				return // stopped
			}
			if oomKilledV1(g.Dir()) {
				onOOM()
				return
			}
		}
	}()
	return w, nil
}

// oomKillWait bounds how long a v1 OOM event waits for the kill it
// announces to show in oom_kill (the kernel notifies, then picks and kills
// a victim).
const oomKillWait = 2 * time.Second

// oomKilledV1 reports whether an OOM event of a v1 group is an OOM kill
// in it: its oom_kill count rises within oomKillWait. An event without one
// is another group's (an ancestor's OOM notifies its descendants) or an
// OOM that reclaim ended. Kernels before 4.13 have no such count: there the
// event itself is the breach, as for Mesos.
func oomKilledV1(dir string) bool {
	deadline := time.Now().Add(oomKillWait)
	for {
		b, err := os.ReadFile(filepath.Join(dir, "memory.oom_control"))
		if err != nil {
			return false // the group is gone
		}
		if n, ok := oomKillCount(b); !ok || n > 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// oomKillCount is the oom_kill count of memory.oom_control's text; false
// if it has none.
func oomKillCount(oomControl []byte) (int64, bool) {
	for _, line := range strings.Split(string(oomControl), "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return n, true
			}
		}
	}
	return 0, false
}

// watchV2 watches the group's memory.events.
func (ow *oomWatcher) watchV2(g *memcg.Group, onOOM func()) (*oomWatch, error) {
	ow.mu.Lock()
	defer ow.mu.Unlock()
	if ow.closed {
		return nil, errors.New("oom watch: the agent stopped")
	}
	if ow.inotify == nil {
		in, err := newInotify()
		if err != nil {
			return nil, err
		}
		ow.inotify = in
	}
	in := ow.inotify
	var once sync.Once
	remove, err := in.add(filepath.Join(g.Dir(), "memory.events"), func() {
		if g.OOMKilled(false) {
			once.Do(onOOM)
		}
	})
	if err != nil {
		return nil, err
	}
	return &oomWatch{stopFn: remove}, nil
}

// close ends the shared inotify instance (the agent's end).
func (ow *oomWatcher) close() {
	ow.mu.Lock()
	defer ow.mu.Unlock()
	ow.closed = true
	if ow.inotify != nil {
		ow.inotify.close()
	}
}

// inotify is one inotify instance and the goroutine reading its events.
type inotify struct {
	fd int // the raw descriptor, for (rm_)watch calls (f.Fd would make it blocking)
	f  *os.File

	mu   sync.Mutex
	byWD map[int32]*inotifyEntry
}

// inotifyEntry is one watch (an entry, not the descriptor, identifies it:
// the kernel may hand a removed watch's descriptor to a new one).
type inotifyEntry struct{ changed func() }

func newInotify() (*inotify, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("oom watch: inotify: %w", err)
	}
	in := &inotify{fd: fd, f: os.NewFile(uintptr(fd), "inotify"), byWD: map[int32]*inotifyEntry{}}
	go in.loop()
	return in, nil
}

// add watches path for modifications; changed runs on the reading
// goroutine.
func (in *inotify) add(path string, changed func()) (func(), error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	wd, err := unix.InotifyAddWatch(in.fd, path, unix.IN_MODIFY)
	if err != nil {
		return nil, fmt.Errorf("oom watch: watch %s: %w", path, err)
	}
	e := &inotifyEntry{changed: changed}
	in.byWD[int32(wd)] = e
	remove := func() {
		in.mu.Lock()
		defer in.mu.Unlock()
		if in.byWD[int32(wd)] == e {
			delete(in.byWD, int32(wd))
			_, _ = unix.InotifyRmWatch(in.fd, uint32(wd))
		}
	}
	return remove, nil
}

func (in *inotify) close() { _ = in.f.Close() }

func (in *inotify) loop() {
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := in.f.Read(buf)
		if err != nil {
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			wd := int32(binary.NativeEndian.Uint32(buf[off:]))
			mask := binary.NativeEndian.Uint32(buf[off+4:])
			nameLen := int(binary.NativeEndian.Uint32(buf[off+12:]))
			off += unix.SizeofInotifyEvent + nameLen
			in.mu.Lock()
			e := in.byWD[wd]
			if mask&unix.IN_IGNORED != 0 {
				delete(in.byWD, wd) // the file is gone
			}
			in.mu.Unlock()
			if e != nil && mask&unix.IN_MODIFY != 0 {
				e.changed()
			}
		}
	}
}
