package agent

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// unmountUnder detaches every mount point at or below dir, deepest first,
// as Mesos' containerizer does when it cleans up a container: an executor
// that mounts into its sandbox (tmpfs volumes of pods) and dies without
// unmounting must not pin the sandbox. It returns the mount points it
// detached.
func unmountUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	points, err := mountPointsUnder(bufio.NewScanner(f), filepath.Clean(dir))
	if err != nil {
		return nil, err
	}
	var done []string
	for _, p := range points {
		if err := unix.Unmount(p, unix.MNT_DETACH); err == nil {
			done = append(done, p)
		}
	}
	return done, nil
}

// mountPointsUnder lists the mount points of a mountinfo table at or below
// dir, deepest first.
func mountPointsUnder(sc *bufio.Scanner, dir string) ([]string, error) {
	var points []string
	for sc.Scan() {
		// id parent major:minor root mountpoint options ...
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		p := unescapeMountinfo(fields[4])
		if p == dir || strings.HasPrefix(p, dir+"/") {
			points = append(points, p)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	return points, nil
}

// unescapeMountinfo undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
