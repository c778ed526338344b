package volume

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// dataDirName is the symbolic link to the current version of a volume's
// files, as in the kubelet's atomic writer.
const (
	dataDirName    = "..data"
	newDataDirName = "..data_tmp"
)

// writeAtomic writes files into dir the way the kubelet's atomic writer
// does, so that a reader never sees a half-written volume:
//
//	dir/..2026_11_25_13_25_45.123456789/<files>   this version's files
//	dir/..data -> ..2026_11_25_13_25_45.123456789 switched by a rename
//	dir/<top-level name> -> ..data/<top-level name>
//
// Writing again replaces the version as a whole, removes the links of
// files no longer present and the previous version's directory.
func writeAtomic(dir string, files payload) error {
	tsDir, err := os.MkdirTemp(dir, time.Now().UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	if err := os.Chmod(tsDir, 0o755); err != nil {
		return err
	}
	if err := writeFiles(tsDir, files); err != nil {
		return errors.Join(err, os.RemoveAll(tsDir))
	}
	oldTsName, _ := os.Readlink(filepath.Join(dir, dataDirName))

	newLink := filepath.Join(dir, newDataDirName)
	if err := os.Remove(newLink); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Symlink(filepath.Base(tsDir), newLink); err != nil {
		return fmt.Errorf("link data directory: %w", err)
	}
	if err := os.Rename(newLink, filepath.Join(dir, dataDirName)); err != nil {
		return fmt.Errorf("switch data directory: %w", err)
	}

	top := make(map[string]bool)
	for p := range files {
		first, _, _ := strings.Cut(p, "/")
		top[first] = true
	}
	for name := range top {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join(dataDirName, name), link); err != nil {
			return fmt.Errorf("link %s: %w", name, err)
		}
	}
	if err := removeStaleLinks(dir, top); err != nil {
		return err
	}
	if oldTsName != "" && oldTsName != filepath.Base(tsDir) {
		if err := os.RemoveAll(filepath.Join(dir, oldTsName)); err != nil {
			return fmt.Errorf("remove previous data directory: %w", err)
		}
	}
	return nil
}

// writeFiles writes every file under base with its mode, regardless of
// the umask, creating directories 0755.
func writeFiles(base string, files payload) error {
	for p, f := range files {
		full := filepath.Join(base, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, f.data, f.mode); err != nil {
			return err
		}
		if err := os.Chmod(full, f.mode); err != nil {
			return err
		}
	}
	return nil
}

// removeStaleLinks removes the user-visible links of dir that are not in
// keep (files of an earlier version).
func removeStaleLinks(dir string, keep map[string]bool) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "..") || keep[name] || e.Type()&fs.ModeSymlink == 0 {
			continue
		}
		target, err := os.Readlink(filepath.Join(dir, name))
		if err != nil || !strings.HasPrefix(target, dataDirName+string(filepath.Separator)) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}
