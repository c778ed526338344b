package wire

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gogo/protobuf/proto"
)

// Media types understood by the Mesos v1 HTTP APIs.
const (
	MediaTypeJSON     = "application/json"
	MediaTypeProtobuf = "application/x-protobuf"
)

// MaxBodyBytes bounds the size of a request body (Mesos has no explicit limit;
// this keeps a bad client from exhausting memory).
const MaxBodyBytes = 64 << 20

// Message is a generated Mesos protobuf message (gogo), which also carries
// ffjson JSON methods.
type Message interface {
	proto.Message
}

// Codec encodes and decodes one media type.
type Codec struct {
	MediaType string
}

// JSON and Protobuf are the two codecs of the v1 API.
var (
	JSON     = Codec{MediaType: MediaTypeJSON}
	Protobuf = Codec{MediaType: MediaTypeProtobuf}
)

// IsJSON reports whether the codec is the JSON one.
func (c Codec) IsJSON() bool { return c.MediaType == MediaTypeJSON }

// Marshal encodes m.
func (c Codec) Marshal(m Message) ([]byte, error) {
	if c.IsJSON() {
		return json.Marshal(m)
	}
	return proto.Marshal(m)
}

// Unmarshal decodes b into m. It never panics on malformed input.
func (c Codec) Unmarshal(b []byte, m Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed %s body: %v", c.name(), r)
		}
	}()
	if c.IsJSON() {
		if !json.Valid(b) {
			return errors.New("body is not valid JSON")
		}
		return json.Unmarshal(b, m)
	}
	return proto.Unmarshal(b, m)
}

func (c Codec) name() string {
	if c.IsJSON() {
		return "JSON"
	}
	return "protobuf"
}

// Error is an HTTP error answer: a status code and a plain-text body, as
// Mesos sends them.
type Error struct {
	Code    int
	Message string
	// Header holds extra response headers (Allow, WWW-Authenticate, Location).
	Header http.Header
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Code, http.StatusText(e.Code), e.Message)
}

// Errorf builds an *Error.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Write sends the error to w.
func (e *Error) Write(w http.ResponseWriter) {
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(e.Code)
	_, _ = io.WriteString(w, e.Message)
}

// AsError converts any error into an *Error (500 unless it already is one).
func AsError(err error) *Error {
	var we *Error
	if errors.As(err, &we) {
		return we
	}
	return Errorf(http.StatusInternalServerError, "%v", err)
}

// RequirePOST answers 405 for anything but POST.
func RequirePOST(r *http.Request) *Error {
	if r.Method == http.MethodPost {
		return nil
	}
	e := Errorf(http.StatusMethodNotAllowed, "Expecting one of { 'POST' }, but received '%s'", r.Method)
	e.Header = http.Header{"Allow": {"POST"}}
	return e
}

// RequestCodec picks the codec from the request's Content-Type, which must be
// exactly one of the two media types: absent is 400, anything else 415.
func RequestCodec(r *http.Request) (Codec, *Error) {
	ct := r.Header.Get("Content-Type")
	switch ct {
	case "":
		return Codec{}, Errorf(http.StatusBadRequest, "Expecting 'Content-Type' to be present")
	case MediaTypeJSON:
		return JSON, nil
	case MediaTypeProtobuf:
		return Protobuf, nil
	}
	return Codec{}, Errorf(http.StatusUnsupportedMediaType,
		"Expecting 'Content-Type' of %s or %s, got '%s'", MediaTypeJSON, MediaTypeProtobuf, ct)
}

// ReadCall reads the request body and decodes it into m with the request's
// codec, answering 400 with Mesos' wording when the body does not parse.
func ReadCall(r *http.Request, c Codec, m Message, what string) *Error {
	_, err := ReadCallBody(r, c, m, what)
	return err
}

// ReadCallBody is ReadCall that also returns the body it decoded.
func ReadCallBody(r *http.Request, c Codec, m Message, what string) ([]byte, *Error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, Errorf(http.StatusBadRequest, "Failed to read body: %v", err)
	}
	if len(body) > MaxBodyBytes {
		return nil, Errorf(http.StatusRequestEntityTooLarge, "Request body exceeds %d bytes", MaxBodyBytes)
	}
	return body, decodeCall(body, c, m, what)
}

func decodeCall(body []byte, c Codec, m Message, what string) *Error {
	if err := c.Unmarshal(body, m); err != nil {
		if c.IsJSON() {
			return Errorf(http.StatusBadRequest, "Failed to convert JSON into %s protobuf: %v", what, err)
		}
		return Errorf(http.StatusBadRequest, "Failed to parse body into %s protobuf: %v", what, err)
	}
	return nil
}

// ResponseCodec picks the codec for a response from the Accept header: JSON
// when acceptable (an absent header or */* accepts it), else protobuf, else
// 406, as Mesos' scheduler endpoint does.
func ResponseCodec(r *http.Request) (Codec, *Error) {
	accept := r.Header.Values("Accept")
	if len(accept) == 0 {
		return JSON, nil
	}
	if accepts(accept, MediaTypeJSON) {
		return JSON, nil
	}
	if accepts(accept, MediaTypeProtobuf) {
		return Protobuf, nil
	}
	return Codec{}, Errorf(http.StatusNotAcceptable, "Expecting 'Accept' to allow '%s' or '%s'", MediaTypeJSON, MediaTypeProtobuf)
}

// accepts reports whether the Accept header values admit mediaType with a
// non-zero quality, honouring type/* and */* wildcards.
func accepts(values []string, mediaType string) bool {
	typ, _, _ := strings.Cut(mediaType, "/")
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			mt, params, err := mime.ParseMediaType(part)
			if err != nil {
				continue
			}
			if q, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(q, 64); err != nil || f <= 0 {
					continue
				}
			}
			if mt == mediaType || mt == "*/*" || mt == typ+"/*" {
				return true
			}
		}
	}
	return false
}

// WriteMessage answers 200 with m encoded by c and an exact Content-Type, as
// mesos-go requires.
func WriteMessage(w http.ResponseWriter, c Codec, m Message) {
	b, err := c.Marshal(m)
	if err != nil {
		Errorf(http.StatusInternalServerError, "failed to encode response: %v", err).Write(w)
		return
	}
	w.Header().Set("Content-Type", c.MediaType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// TypePresent reports whether a decoded call's body sets its "type" field,
// field number typeField of the message (2 in scheduler::Call). mesos-go's
// generated types cannot tell an absent type from an explicit UNKNOWN, and
// Mesos answers the first with 400 and the second with 501.
func TypePresent(body []byte, c Codec, typeField uint64) bool {
	if c.IsJSON() {
		var fields map[string]json.RawMessage
		if json.Unmarshal(body, &fields) != nil {
			return false
		}
		_, ok := fields["type"]
		return ok
	}
	for i := 0; i < len(body); {
		key, n := binary.Uvarint(body[i:])
		if n <= 0 {
			return false
		}
		i += n
		field, wireType := key>>3, key&7
		if field == typeField && wireType == 0 {
			return true
		}
		switch wireType {
		case 0: // varint
			_, n := binary.Uvarint(body[i:])
			if n <= 0 {
				return false
			}
			i += n
		case 1: // 64-bit
			i += 8
		case 2: // length-delimited
			l, n := binary.Uvarint(body[i:])
			if n <= 0 || l > uint64(len(body)) {
				return false
			}
			i += n + int(l)
		case 5: // 32-bit
			i += 4
		default:
			return false
		}
	}
	return false
}
