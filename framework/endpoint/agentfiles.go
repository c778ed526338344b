package endpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// readChunk is how much one /files/read asks for; agents may answer less
// (Mesos and mesos-sim cap an answer at 64 KiB).
const readChunk = 1 << 20

// errAgent marks a failure to reach an agent or a reply it should not have
// given; the kubelet API answers it with 502.
var errAgent = errors.New("agent files API failed")

// agentFile is one file read through an agent's /files/read API:
// GET /files/read?path=F&offset=N&length=M answers {"data": "...", "offset": N};
// offset -1 answers the file's size.
type agentFile struct {
	client   *http.Client
	agentURL string
	path     string
}

// size is the file's current size.
func (f agentFile) size(ctx context.Context) (int64, error) {
	_, off, err := f.read(ctx, -1, 0)
	return off, err
}

// read returns up to length bytes from offset (fewer at the end of the file
// or when the agent caps its answer) and the offset the agent answered: the
// one asked for, or the file's size when offset is -1 (past the end, Mesos
// answers the offset asked for; older mesos-sim agents the size).
func (f agentFile) read(ctx context.Context, offset, length int64) ([]byte, int64, error) {
	q := url.Values{"path": {f.path}, "offset": {strconv.FormatInt(offset, 10)}}
	if offset >= 0 {
		q.Set("length", strconv.FormatInt(length, 10))
	}
	u := strings.TrimSuffix(f.agentURL, "/") + "/files/read?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: agent %s: %w", errAgent, f.agentURL, err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		return nil, 0, fmt.Errorf("%w: agent %s is unreachable: %w", errAgent, f.agentURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8*readChunk))
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		return nil, 0, fmt.Errorf("%w: agent %s: reading %s: %w", errAgent, f.agentURL, f.path, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, 0, fmt.Errorf("log file %s not found on agent %s: %w", f.path, f.agentURL, ErrNotFound)
	case resp.StatusCode != http.StatusOK:
		return nil, 0, fmt.Errorf("%w: agent %s answered %s for %s: %s", errAgent, f.agentURL, resp.Status, f.path, strings.TrimSpace(string(body)))
	}
	var reply struct {
		Data   string `json:"data"`
		Offset int64  `json:"offset"`
	}
	if err := json.Unmarshal(body, &reply); err != nil {
		return nil, 0, fmt.Errorf("%w: agent %s: undecodable /files/read answer: %w", errAgent, f.agentURL, err)
	}
	return trimSplitRune([]byte(reply.Data)), reply.Offset, nil
}

// trimSplitRune drops the replacement characters that end data when data
// has something before them. The files API answers bytes as a JSON string,
// so a multi-byte character cut by the end of an answer comes back as
// U+FFFD (3 bytes for its 1 to 3 bytes read); dropping it makes the next
// read, from the offset after what is kept, get the whole character. Offsets
// are counted in the bytes returned, so invalid UTF-8 inside a log can still
// shift them: the API cannot carry it.
func trimSplitRune(data []byte) []byte {
	kept := data
	for range utf8.UTFMax - 1 {
		r, n := utf8.DecodeLastRune(kept)
		if r != utf8.RuneError || n != 3 || len(kept) == n {
			break
		}
		kept = kept[:len(kept)-n]
	}
	return kept
}

// shrank reports whether the file is now shorter than pos (truncated or
// replaced at the same path); an error reading its size says no, and the
// next read reports it.
func (f agentFile) shrank(ctx context.Context, pos int64) bool {
	_, size, err := f.read(ctx, -1, 0)
	return err == nil && size < pos
}
