package executorbin

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// FilePrefix starts the name of an extracted executor; the rest of the name
// is the start of its SHA-256 (HashLen hex digits). LinkName is the symbolic
// link to the current one, the path that executors are started from: it
// stays the same across versions, as an executor's command must (a master
// refuses a launch whose ExecutorInfo differs from the running executor's).
const (
	FilePrefix = "kubemesos-executor-"
	HashLen    = 16
	LinkName   = "kubemesos-executor"
)

// ErrNotEmbedded is returned by Extract from a build without the slim
// executor.
var ErrNotEmbedded = errors.New("this kubemesos binary embeds no slim executor (build it with `make build`)")

// Image returns the embedded slim executor, or nil if this build has none.
// The slice is the binary's read-only data: do not modify it.
func Image() []byte {
	if len(image) == 0 {
		return nil
	}
	return image
}

// Embedded reports whether this build carries the slim executor.
func Embedded() bool { return len(image) > 0 }

var imageHash = sync.OnceValue(func() string { return sha256Hex(image) })

// SHA256 returns the hex SHA-256 of the embedded executor ("" without one).
func SHA256() string {
	if !Embedded() {
		return ""
	}
	return imageHash()
}

// Describe says in a few words which executor this binary runs on agents.
func Describe() string {
	if !Embedded() {
		return "this binary (no slim executor embedded)"
	}
	return fmt.Sprintf("slim, embedded (sha256:%s, %.1f MiB)", SHA256()[:HashLen], float64(len(image))/(1<<20))
}

// Executable returns the path that runs `executor` on this host: the
// embedded slim executor extracted into dir (dir/LinkName, see Extract), or,
// in a build without it, this binary itself.
func Executable(dir string) (string, error) {
	if !Embedded() {
		self, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("find the kubemesos binary to run as the executor: %w", err)
		}
		return self, nil
	}
	return Extract(dir)
}

// Extract writes the embedded slim executor into dir, once, and returns the
// absolute path of dir/LinkName, which points at it (see extract).
func Extract(dir string) (string, error) {
	if !Embedded() {
		return "", ErrNotEmbedded
	}
	return extract(dir, image, SHA256())
}

// extract writes content, whose hex SHA-256 is sum, to dir/FilePrefix<sum
// prefix> with mode 0755, unless a file of that name already holds it, and
// points the symbolic link dir/LinkName at it; it returns the link's path.
// The file and the link appear whole or not at all (written to a temporary
// name, synced, renamed), so concurrent extractors and a crash midway are
// harmless. Files of other contents (earlier versions) are removed: a
// running executor keeps its open file.
func extract(dir string, content []byte, sum string) (string, error) {
	dir, err := filepath.Abs(dir) // the path is run from agents' sandboxes
	if err != nil {
		return "", fmt.Errorf("slim executor directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("slim executor directory: %w", err)
	}
	name := FilePrefix + sum[:HashLen]
	if !holds(filepath.Join(dir, name), int64(len(content)), sum) {
		if err := writeFile(dir, name, content); err != nil {
			return "", err
		}
	}
	link := filepath.Join(dir, LinkName)
	if target, err := os.Readlink(link); err != nil || target != name {
		if err := symlink(dir, name, LinkName); err != nil {
			return "", err
		}
	}
	removeStale(dir, name)
	return link, nil
}

// writeFile writes content to dir/name with mode 0755 through a temporary
// file, synced and renamed.
func writeFile(dir, name string, content []byte) error {
	path := filepath.Join(dir, name)
	tmp, err := os.CreateTemp(dir, name+".tmp-*")
	if err != nil {
		return fmt.Errorf("extract the slim executor: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename: a no-op
	_, err = tmp.Write(content)
	if err == nil {
		err = tmp.Chmod(0o755)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("extract the slim executor to %s: %w", path, err)
	}
	return nil
}

// symlink makes dir/name a symbolic link to target (a name in dir), or
// replaces what is there, atomically: a link made under a temporary name
// is renamed over it.
func symlink(dir, target, name string) error {
	tmp, err := os.CreateTemp(dir, name+".tmp-*")
	if err != nil {
		return fmt.Errorf("link the slim executor: %w", err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpName) // after the rename: a no-op
	// The name CreateTemp reserved is taken over by the link.
	if err := os.Remove(tmpName); err != nil {
		return fmt.Errorf("link the slim executor: %w", err)
	}
	if err := os.Symlink(target, tmpName); err != nil {
		return fmt.Errorf("link the slim executor: %w", err)
	}
	if err := os.Rename(tmpName, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("link the slim executor as %s: %w", filepath.Join(dir, name), err)
	}
	return nil
}

// holds reports whether path is an executable regular file of size bytes
// whose hex SHA-256 is sum.
func holds(path string, size int64, sum string) bool {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != size || fi.Mode().Perm()&0o100 == 0 {
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false
	}
	return hex.EncodeToString(h.Sum(nil)) == sum
}

// removeStale removes the extracted executors in dir other than keep (best
// effort; temporary files of an extraction in progress are left alone).
func removeStale(dir, keep string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		n := e.Name()
		if n != keep && strings.HasPrefix(n, FilePrefix) && !strings.Contains(n, ".tmp-") {
			_ = os.Remove(filepath.Join(dir, n))
		}
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
