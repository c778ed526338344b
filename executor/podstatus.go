package executor

import (
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubemesos/kubemesos/executor/protocol"
)

// statusData is TaskStatus.data: the pod's status with its sequence number,
// directory and log files.
func statusData(st *corev1.PodStatus, seq uint64, dir string) ([]byte, error) {
	if st == nil {
		st = &corev1.PodStatus{}
	}
	return protocol.EncodePodStatus(st, &protocol.PodStatus{Sequence: seq, Directory: dir, Logs: logFiles(dir)})
}

// logFiles lists <dir>/logs/<container>/ for every container, each list
// oldest first (by modification time, then name), as paths relative to dir.
func logFiles(dir string) map[string]*protocol.LogFiles {
	root := filepath.Join(dir, protocol.LogsDir)
	containers, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	logs := make(map[string]*protocol.LogFiles, len(containers))
	for _, c := range containers {
		if !c.IsDir() {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(root, c.Name()))
		if err != nil {
			continue
		}
		type file struct {
			name  string
			mtime time.Time
		}
		var files []file
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			info, err := e.Info()
			if err != nil {
				continue
			}
			files = append(files, file{e.Name(), info.ModTime()})
		}
		if len(files) == 0 {
			continue
		}
		sort.Slice(files, func(i, j int) bool {
			if !files[i].mtime.Equal(files[j].mtime) {
				return files[i].mtime.Before(files[j].mtime)
			}
			return files[i].name < files[j].name
		})
		lf := &protocol.LogFiles{Paths: make([]string, len(files))}
		for i, f := range files {
			lf.Paths[i] = path.Join(protocol.LogsDir, c.Name(), f.name)
		}
		logs[c.Name()] = lf
	}
	return logs
}
