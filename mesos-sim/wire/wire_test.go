package wire

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

func TestRecordRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	for _, rec := range []string{"a", "hello world", strings.Repeat("x", 70000)} {
		if err := WriteRecord(w, []byte(rec)); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	if !strings.HasPrefix(buf.String(), "1\na11\nhello world70000\n") {
		t.Fatalf("framing %q", buf.String()[:30])
	}
	r := NewRecordReader(&buf)
	for _, want := range []int{1, 11, 70000} {
		rec, err := r.Next()
		if err != nil || len(rec) != want {
			t.Fatalf("record of %d bytes: got %d, %v", want, len(rec), err)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("end: %v, want EOF", err)
	}
}

func TestRecordReaderErrors(t *testing.T) {
	for in, want := range map[string]string{
		"5\nabc":      "unexpected EOF",
		"x\n":         "invalid length",
		"\nabc":       "empty record length",
		"0\n":         "zero-length",
		"12":          "unexpected EOF",
		"99999999\nx": "size limit",
	} {
		_, err := NewRecordReader(strings.NewReader(in)).Next()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

func FuzzRecordIO(f *testing.F) {
	f.Add([]byte("3\nabc2\nde"))
	f.Add([]byte("0\n"))
	f.Add([]byte("18446744073709551616\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewRecordReader(bytes.NewReader(data))
		total := 0
		for i := 0; i < 1000; i++ {
			rec, err := r.Next()
			if err != nil {
				return
			}
			if len(rec) == 0 || len(rec) > MaxRecordBytes {
				t.Fatalf("record of %d bytes accepted", len(rec))
			}
			total += len(rec)
			if total > len(data) {
				t.Fatalf("read %d bytes of records from %d bytes of input", total, len(data))
			}
		}
	})
}

func TestRequestCodec(t *testing.T) {
	for ct, want := range map[string]int{
		"":                                0,
		"application/json":                200,
		"application/x-protobuf":          200,
		"application/json; charset=utf-8": 415,
		"text/plain":                      415,
	} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		_, err := RequestCodec(r)
		switch {
		case want == 200 && err != nil:
			t.Errorf("%q: %v", ct, err)
		case want == 0 && (err == nil || err.Code != 400):
			t.Errorf("%q: %v, want 400", ct, err)
		case want == 415 && (err == nil || err.Code != 415):
			t.Errorf("%q: %v, want 415", ct, err)
		}
	}
}

func TestResponseCodec(t *testing.T) {
	for _, c := range []struct {
		accept []string
		want   string
	}{
		{nil, MediaTypeJSON},
		{[]string{"*/*"}, MediaTypeJSON},
		{[]string{"application/*"}, MediaTypeJSON},
		{[]string{"application/x-protobuf"}, MediaTypeProtobuf},
		{[]string{"application/json;q=0, application/x-protobuf"}, MediaTypeProtobuf},
		{[]string{"text/html", "application/x-protobuf;q=0.5"}, MediaTypeProtobuf},
		{[]string{"foo"}, ""},
		{[]string{"application/json;q=0"}, ""},
	} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		for _, a := range c.accept {
			r.Header.Add("Accept", a)
		}
		codec, err := ResponseCodec(r)
		if c.want == "" {
			if err == nil || err.Code != http.StatusNotAcceptable {
				t.Errorf("Accept %v: %v, want 406", c.accept, err)
			}
			continue
		}
		if err != nil || codec.MediaType != c.want {
			t.Errorf("Accept %v: %v %v, want %s", c.accept, codec, err, c.want)
		}
	}
}

func TestCodecRejectsGarbage(t *testing.T) {
	for _, c := range []Codec{JSON, Protobuf} {
		var call scheduler.Call
		if err := c.Unmarshal([]byte("\xff\xff\xff garbage {"), &call); err == nil {
			t.Errorf("%s decoded garbage", c.MediaType)
		}
	}
}

// TestStreamSplitsLargeEvents checks that an event over the frame limit is
// split by Split and every record stays below the limit.
func TestStreamSplitsLargeEvents(t *testing.T) {
	offers := make([]mesos.Offer, 4000)
	for i := range offers {
		offers[i] = mesos.Offer{ID: mesos.OfferID{Value: strings.Repeat("o", 1000)}, Hostname: strings.Repeat("h", 200)}
	}
	s := NewStream(JSON)
	s.Split = func(m Message) []Message {
		ev := m.(*scheduler.Event)
		o := ev.Offers.Offers
		if len(o) < 2 {
			return nil
		}
		h := len(o) / 2
		return []Message{
			&scheduler.Event{Type: scheduler.Event_OFFERS, Offers: &scheduler.Event_Offers{Offers: o[:h]}},
			&scheduler.Event{Type: scheduler.Event_OFFERS, Offers: &scheduler.Event_Offers{Offers: o[h:]}},
		}
	}
	rec := httptest.NewRecorder()
	if err := s.Send(&scheduler.Event{Type: scheduler.Event_OFFERS, Offers: &scheduler.Event_Offers{Offers: offers}}); err != nil {
		t.Fatal(err)
	}
	s.Close(&scheduler.Event{Type: scheduler.Event_ERROR, Error: &scheduler.Event_Error{Message: "bye"}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Serve(ctx, rec, nil); err != nil {
		t.Fatal(err)
	}
	r := NewRecordReader(rec.Body)
	total, records := 0, 0
	var last scheduler.Event
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > MaxFrameBytes {
			t.Fatalf("record of %d bytes over the limit", len(b))
		}
		last = scheduler.Event{}
		if err := JSON.Unmarshal(b, &last); err != nil {
			t.Fatal(err)
		}
		total += len(last.GetOffers().GetOffers())
		records++
	}
	if total != len(offers) || records < 3 || last.Type != scheduler.Event_ERROR {
		t.Fatalf("got %d offers in %d records (last %s), want all %d split over several records then the ERROR", total, records, last.Type, len(offers))
	}
	if err := s.Send(&scheduler.Event{}); err != ErrStreamClosed {
		t.Fatalf("Send after close: %v", err)
	}
}

func TestTypePresent(t *testing.T) {
	cases := []struct {
		name  string
		codec Codec
		body  []byte
		want  bool
	}{
		{"json with type", JSON, []byte(`{"type":"UNKNOWN","framework_id":{"value":"f"}}`), true},
		{"json without type", JSON, []byte(`{"framework_id":{"value":"f"}}`), false},
		{"json garbage", JSON, []byte(`{"type"`), false},
		{"protobuf with type after a message field", Protobuf, []byte{0x0a, 0x03, 0x0a, 0x01, 'f', 0x10, 0x00}, true},
		{"protobuf without type", Protobuf, []byte{0x0a, 0x03, 0x0a, 0x01, 'f'}, false},
		{"protobuf type inside a nested message only", Protobuf, []byte{0x0a, 0x02, 0x10, 0x00}, false},
		{"protobuf truncated", Protobuf, []byte{0x0a, 0x09, 0x01}, false},
	}
	for _, c := range cases {
		if got := TypePresent(c.body, c.codec, 2); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
