package wire

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// MaxRecordBytes bounds a record a RecordReader accepts (mesos-go's limit).
const MaxRecordBytes = 4 << 20

// ErrRecordTooLarge is returned for a record over MaxRecordBytes.
var ErrRecordTooLarge = errors.New("recordio: record exceeds the size limit")

// RecordReader reads RecordIO records: a decimal length, a line feed, and
// that many bytes. Framing is independent of how the bytes arrive.
type RecordReader struct {
	r   *bufio.Reader
	max int
}

// NewRecordReader reads records from r.
func NewRecordReader(r io.Reader) *RecordReader {
	return &RecordReader{r: bufio.NewReaderSize(r, 64<<10), max: MaxRecordBytes}
}

// Next returns the next record; io.EOF at a clean end of stream and
// io.ErrUnexpectedEOF inside a record.
func (rr *RecordReader) Next() ([]byte, error) {
	var n int
	digits := 0
	for {
		c, err := rr.r.ReadByte()
		if err != nil {
			if err == io.EOF && digits > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if c == '\n' {
			break
		}
		if c < '0' || c > '9' {
			return nil, fmt.Errorf("recordio: invalid length byte %q", c)
		}
		digits++
		n = n*10 + int(c-'0')
		if n > rr.max {
			return nil, ErrRecordTooLarge
		}
	}
	if digits == 0 {
		return nil, errors.New("recordio: empty record length")
	}
	if n == 0 {
		return nil, errors.New("recordio: zero-length record")
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(rr.r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}
