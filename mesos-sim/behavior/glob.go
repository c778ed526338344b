package behavior

import "unicode/utf8"

// globMatch reports whether s matches pattern, in which '*' matches any run
// of characters (including none and '/') and '?' matches exactly one
// character; every other character matches itself. Unlike path.Match it has
// no syntax errors and no special '/'. It runs in O(len(pattern)*len(s)).
func globMatch(pattern, s string) bool {
	px, sx := 0, 0
	// Where to resume after a mismatch: the last '*' and the next position
	// of s it would try to swallow.
	starPx, starSx := -1, 0
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				starPx, starSx = px, sx
				px++
				continue
			case '?':
				if sx < len(s) {
					_, w := utf8.DecodeRuneInString(s[sx:])
					px, sx = px+1, sx+w
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
					px, sx = px+1, sx+1
					continue
				}
			}
		}
		if starPx >= 0 && starSx < len(s) {
			// Let the last '*' swallow one more character and retry.
			_, w := utf8.DecodeRuneInString(s[starSx:])
			starSx += w
			px, sx = starPx+1, starSx
			continue
		}
		return false
	}
	return true
}
