package env

import "testing"

// The cases of Kubernetes' expansion spec (third_party/forked/golang/
// expansion/expand_test.go), reimplemented.
func TestExpand(t *testing.T) {
	env := []string{"VAR_A=A", "VAR_B=B", "VAR_C=C", "VAR_REF=$(VAR_A)", "VAR_EMPTY=", "NOEQ", "DUP=1", "DUP=2", "EQ=a=b"}
	tests := []struct {
		name, in, want string
	}{
		{"whole string", "$(VAR_A)", "A"},
		{"repeat", "$(VAR_A)-$(VAR_A)", "A-A"},
		{"beginning", "$(VAR_A)-1", "A-1"},
		{"middle", "___$(VAR_B)___", "___B___"},
		{"end", "___$(VAR_C)", "___C"},
		{"compound", "$(VAR_A)_$(VAR_B)_$(VAR_C)", "A_B_C"},
		{"values are not expanded again", "$(VAR_REF)", "$(VAR_A)"},
		{"empty value", "x$(VAR_EMPTY)y", "xy"},
		{"entry without =", "$(NOEQ)", ""},
		{"later entry wins", "$(DUP)", "2"},
		{"escaped operator", "$$(VAR_B)", "$(VAR_B)"},
		{"double escape", "$$$$(VAR_A)", "$$(VAR_A)"},
		{"escape then reference", "$$$(VAR_A)", "$A"},
		{"unknown reference kept", "$(VAR_DNE)", "$(VAR_DNE)"},
		{"empty reference", "$()", "$()"},
		{"incomplete reference", "$(VAR_A", "$(VAR_A"},
		{"reference spans to the first closer", "$(VAR_A$(VAR_B)", "$(VAR_A$(VAR_B)"},
		{"incomplete reference then escape", "$(VAR_A$$", "$(VAR_A$"},
		{"lone operator at end", "foo$", "foo$"},
		{"operator before other rune", "$VAR_A", "$VAR_A"},
		{"operator before multibyte rune", "$é$(VAR_A)", "$éA"},
		{"no operator", "plain text", "plain text"},
		{"empty input", "", ""},
		{"value containing =", "$(EQ)", "a=b"},
		{"nested parens", "$(VAR_A))", "A)"},
		{"reference with spaces is a name", "$( VAR_A )", "$( VAR_A )"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Expand(tt.in, env); got != tt.want {
				t.Errorf("Expand(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestExpandFuncCallsMappingWithNames(t *testing.T) {
	var names []string
	got := ExpandFunc("$(A)/$(B)/$$(C)", func(n string) string {
		names = append(names, n)
		return "<" + n + ">"
	})
	if got != "<A>/<B>/$(C)" {
		t.Errorf("got %q", got)
	}
	if len(names) != 2 || names[0] != "A" || names[1] != "B" {
		t.Errorf("mapping called with %q, want [A B]", names)
	}
}

func TestExpandAll(t *testing.T) {
	env := []string{"NAME=world", "PORT=80"}
	got := ExpandAll([]string{"echo", "hello $(NAME)", "--port=$(PORT)", "$$(NAME)", "$(UNSET)"}, env)
	want := []string{"echo", "hello world", "--port=80", "$(NAME)", "$(UNSET)"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("[%d] = %q, want %q", i, got[i], want[i])
		}
	}
	if ExpandAll(nil, env) != nil {
		t.Error("ExpandAll(nil) is not nil")
	}
}
