package master

import (
	"errors"
	"fmt"
	"strings"
)

// ValidateRole checks a role name as Mesos does (src/common/roles.cpp): "*"
// or one or more '/'-separated components, none empty, ".", "..", "*", none
// starting with '-', none holding whitespace or DEL.
func ValidateRole(role string) error {
	if role == "*" {
		return nil
	}
	if role == "" {
		return errors.New("role name cannot be empty")
	}
	if strings.HasPrefix(role, "/") || strings.HasSuffix(role, "/") {
		return fmt.Errorf("role %q cannot start or end with '/'", role)
	}
	for _, part := range strings.Split(role, "/") {
		switch {
		case part == "":
			return fmt.Errorf("role %q has an empty path component", role)
		case part == "." || part == "..":
			return fmt.Errorf("role %q cannot use %q as a path component", role, part)
		case part == "*":
			return fmt.Errorf("role %q cannot use '*' as a path component", role)
		case strings.HasPrefix(part, "-"):
			return fmt.Errorf("role %q has a component starting with '-'", role)
		}
		if i := strings.IndexAny(part, "\x09\x0a\x0b\x0c\x0d\x20\x7f"); i >= 0 {
			return fmt.Errorf("role %q contains an invalid character %q", role, part[i])
		}
	}
	return nil
}
