package endpoint

import (
	"bytes"
	"context"
	"fmt"
	"unicode/utf8"
)

// tailBlock is how much tailStart reads at a time, backwards from the end:
// the most an agent answers at once (16 pages in Mesos and mesos-sim).
const tailBlock = 64 << 10

// tailStart is the offset where the last n lines of the file's first size
// bytes begin (0 when it has n lines or fewer), found as the kubelet does:
// counting newlines in blocks read backwards from the end, so that only
// the tail is read. A last line without its newline comes on top of the n.
//
// Blocks are cut at line starts: each block keeps what follows its first
// newline and leaves the rest to the block before it, so no multi-byte
// character is ever split between two reads (the files API carries data
// as JSON text, where a split character would come back as U+FFFD).
func tailStart(ctx context.Context, f agentFile, size, n int64) (int64, error) {
	if n < 0 {
		return 0, nil
	}
	var (
		right   = size
		block   = int64(tailBlock)
		count   int64
		segment []byte // the earliest block kept, from segStart to right
		start   = size
	)
	for right > 0 && count <= n {
		left := max(0, right-block)
		data, _, err := f.read(ctx, left, right-left)
		if err != nil {
			return 0, err
		}
		if int64(len(data)) < right-left {
			// The agent answers less at once: read smaller blocks.
			if len(data) == 0 {
				return 0, fmt.Errorf("%w: agent %s answered no data for %s at offset %d of %d", errAgent, f.agentURL, f.path, left, size)
			}
			block = int64(len(data))
			continue
		}
		skip, rawSkip := 0, int64(0)
		if left > 0 {
			skip, rawSkip = lineStartIn(data)
			if rawSkip >= right-left {
				skip, rawSkip = 0, 0 // nothing to cut: keep the whole block
			}
		}
		segment, start = data[skip:], left+rawSkip
		count += int64(bytes.Count(segment, []byte{'\n'}))
		right = start
	}
	for ; count > n; count-- {
		i := bytes.IndexByte(segment, '\n') + 1
		segment = segment[i:]
		start += int64(i)
	}
	return start, nil
}

// lineStartIn finds where a block read from the middle of a file can be cut
// safely: after its first newline, if that leaves something, else after the
// replacement characters that stand for the continuation bytes of a
// character begun before the block. It returns the index in data and the
// number of file bytes before it (each such replacement character, 3 bytes
// in data, is one byte of the file).
func lineStartIn(data []byte) (int, int64) {
	lead := 0
	for lead < utf8.UTFMax-1 {
		r, size := utf8.DecodeRune(data[3*lead:])
		if r != utf8.RuneError || size != 3 {
			break
		}
		lead++
	}
	if i := bytes.IndexByte(data, '\n'); i >= 0 && i+1 < len(data) {
		return i + 1, int64(i + 1 - 2*lead)
	}
	return 3 * lead, int64(lead)
}
