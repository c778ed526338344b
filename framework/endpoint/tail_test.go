package endpoint

import "testing"

func TestTrimSplitRune(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"abc", "abc"},
		{"ab\uFFFD", "ab"},
		{"ab\uFFFD\uFFFD", "ab"},
		{"ab\uFFFD\uFFFD\uFFFD", "ab"},
		// Never everything: a lone replacement character is progress.
		{"\uFFFD", "\uFFFD"},
		{"\uFFFD\uFFFD", "\uFFFD"},
		{"é", "é"},
		{"", ""},
	} {
		if got := string(trimSplitRune([]byte(c.in))); got != c.want {
			t.Errorf("trimSplitRune(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestLineStartIn(t *testing.T) {
	for _, c := range []struct {
		in       string
		wantIdx  int
		wantFile int64
	}{
		{"abc\ndef", 4, 4},
		{"\ndef", 1, 1},
		// The only newline ends the block: keep the whole block.
		{"abc\n", 0, 0},
		{"abcdef", 0, 0},
		// Continuation bytes of a character cut at the block's start: one
		// replacement character (3 bytes) per file byte.
		{"\uFFFDbc\nd", 6, 4},
		{"\uFFFD\uFFFDbc", 6, 2},
		{"\uFFFD\uFFFD\uFFFD\uFFFDx", 9, 3},
	} {
		idx, file := lineStartIn([]byte(c.in))
		if idx != c.wantIdx || file != c.wantFile {
			t.Errorf("lineStartIn(%q) = %d, %d; want %d, %d", c.in, idx, file, c.wantIdx, c.wantFile)
		}
	}
}
