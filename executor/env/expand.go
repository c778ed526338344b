package env

import (
	"strings"
	"unicode/utf8"
)

// Expand replaces $(VAR) in s with VAR's value from env ("KEY=value"
// entries; a later entry for the same name wins) as Kubernetes does: $$
// escapes a $, unknown references and an unterminated $( stay as written.
func Expand(s string, env []string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	return ExpandFunc(s, keepUnknown(Map(env)))
}

// ExpandAll expands every element of list (a container's command or args)
// against env as Expand does; it returns nil for a nil list.
func ExpandAll(list, env []string) []string {
	if list == nil {
		return nil
	}
	mapping := keepUnknown(Map(env))
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = ExpandFunc(s, mapping)
	}
	return out
}

// keepUnknown is Kubernetes' mapping: a variable's value, or the reference
// as written for an unknown variable.
func keepUnknown(values map[string]string) func(string) string {
	return func(name string) string {
		if v, ok := values[name]; ok {
			return v
		}
		return "$(" + name + ")"
	}
}

// Map turns "KEY=value" entries into a map; a later entry for the same name
// wins, and an entry without "=" is a name with an empty value.
func Map(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// ExpandFunc is the expansion Kubernetes applies to env values, command,
// args and subPathExpr (third_party/forked/golang/expansion): each $(NAME)
// is replaced with mapping(NAME); $$ becomes $; a $ followed by anything
// else, or a $( with no closing parenthesis, is kept as written.
func ExpandFunc(s string, mapping func(name string) string) string {
	var b strings.Builder
	checkpoint := 0
	for cursor := 0; cursor < len(s); cursor++ {
		if s[cursor] != '$' || cursor+1 >= len(s) {
			continue
		}
		b.WriteString(s[checkpoint:cursor])
		read, isVar, advance := readVariable(s[cursor+1:])
		if isVar {
			b.WriteString(mapping(read))
		} else {
			b.WriteString(read)
		}
		cursor += advance
		checkpoint = cursor + 1
	}
	return b.String() + s[checkpoint:]
}

// readVariable reads what follows a $: the name of a $(NAME) reference
// (isVar), or the text to copy as is. advance is the number of bytes of
// input consumed.
func readVariable(input string) (read string, isVar bool, advance int) {
	r, size := utf8.DecodeRuneInString(input)
	switch r {
	case '$':
		return input[:size], false, size
	case '(':
		if i := strings.IndexByte(input[1:], ')'); i >= 0 {
			return input[1 : i+1], true, i + 2
		}
		return "$(", false, 1
	default:
		return "$" + string(r), false, size
	}
}
