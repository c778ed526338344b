package volume

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubemesos/kubemesos/executor/env"
)

// The limits of the kubelet's atomic writer.
const (
	maxPathLength     = 4096
	maxFileNameLength = 255
)

// validateName checks that a volume name can be a directory name.
func validateName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return errors.New("invalid volume name")
	}
	return nil
}

// validatePath checks a file path of a configMap, secret, downwardAPI or
// projected volume as the kubelet's atomic writer does: relative, no ".."
// element, not starting with "..", within the length limits.
func validatePath(p string) error {
	if p == "" {
		return errors.New("invalid path: must not be empty")
	}
	if path.IsAbs(p) {
		return fmt.Errorf("invalid path: must be relative path: %s", p)
	}
	if len(p) > maxPathLength {
		return fmt.Errorf("invalid path: must be less than or equal to %d characters", maxPathLength)
	}
	items := strings.Split(p, "/")
	for _, item := range items {
		if item == ".." {
			return fmt.Errorf("invalid path: must not contain '..': %s", p)
		}
		if len(item) > maxFileNameLength {
			return fmt.Errorf("invalid path: filenames must be less than or equal to %d characters", maxFileNameLength)
		}
	}
	if strings.HasPrefix(items[0], "..") && len(items[0]) > 2 {
		return fmt.Errorf("invalid path: must not start with '..': %s", p)
	}
	return nil
}

// expandSubPath expands a subPathExpr as a kubelet does: every $(VAR) must
// name a variable of the container with a non-empty value.
func expandSubPath(expr string, values map[string]string) (string, error) {
	var missing []string
	out := env.ExpandFunc(expr, func(name string) string {
		v, ok := values[name]
		if !ok || v == "" {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		sort.Strings(missing)
		return "", fmt.Errorf("missing value for %s", strings.Join(slices.Compact(missing), ", "))
	}
	return out, nil
}

// resolveSubPath returns the host path of subPath in the volume at root,
// with symbolic links resolved, creating it as a directory (with the mode
// of root) if it does not exist. It refuses an absolute subPath, one with a
// ".." element and one that resolves outside root.
func resolveSubPath(root, subPath string) (string, error) {
	if filepath.IsAbs(subPath) {
		return "", errors.New("must not be an absolute path")
	}
	for _, part := range strings.Split(filepath.ToSlash(subPath), "/") {
		if part == ".." {
			return "", errors.New("must not contain '..'")
		}
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fmt.Errorf("volume path: %w", err)
	}
	full := filepath.Join(root, subPath)
	if _, err := os.Lstat(full); errors.Is(err, os.ErrNotExist) {
		// Check that what exists of the path stays in the volume before
		// creating the rest.
		existing := full
		for {
			existing = filepath.Dir(existing)
			if _, err := os.Lstat(existing); err == nil {
				break
			}
		}
		if err := within(realRoot, existing); err != nil {
			return "", err
		}
		info, err := os.Stat(realRoot)
		if err != nil {
			return "", err
		}
		if err := os.MkdirAll(full, info.Mode().Perm()); err != nil {
			return "", fmt.Errorf("create subPath directory: %w", err)
		}
	}
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		return "", err
	}
	if err := within(realRoot, real); err != nil {
		return "", err
	}
	return real, nil
}

// within checks that p, once its symbolic links are resolved, is realRoot
// or under it.
func within(realRoot, p string) error {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(realRoot, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		return fmt.Errorf("resolves to %s, outside the volume", real)
	}
	return nil
}

// typeName is the API name (the JSON field) of the volume source set in
// src, such as "persistentVolumeClaim".
func typeName(src *corev1.VolumeSource) string {
	v := reflect.ValueOf(src).Elem()
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			return name
		}
	}
	return "(none)"
}
