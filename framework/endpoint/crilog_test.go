package endpoint

import (
	"testing"
	"time"
)

func TestParseRecord(t *testing.T) {
	ts := time.Date(2016, 10, 6, 0, 17, 9, 669794202, time.UTC)
	for _, c := range []struct {
		name string
		line string
		want logRecord
	}{
		{"full stdout line", "2016-10-06T00:17:09.669794202Z stdout F hello world\n",
			logRecord{timestamp: ts, stream: "stdout", text: []byte("hello world\n")}},
		{"stderr", "2016-10-06T00:17:09.669794202Z stderr F oops\n",
			logRecord{timestamp: ts, stream: "stderr", text: []byte("oops\n")}},
		{"partial line loses its newline", "2016-10-06T00:17:09.669794202Z stdout P part\n",
			logRecord{timestamp: ts, stream: "stdout", text: []byte("part")}},
		{"last line without newline", "2016-10-06T00:17:09.669794202Z stdout F tail",
			logRecord{timestamp: ts, stream: "stdout", text: []byte("tail")}},
		{"empty line", "2016-10-06T00:17:09.669794202Z stdout F \n",
			logRecord{timestamp: ts, stream: "stdout", text: []byte("\n")}},
		{"extra tags", "2016-10-06T00:17:09.669794202Z stdout P:x more\n",
			logRecord{timestamp: ts, stream: "stdout", text: []byte("more")}},
		{"variable-width timestamp with offset", "2016-10-06T02:17:09.5+02:00 stdout F a b  c\n",
			logRecord{timestamp: time.Date(2016, 10, 6, 0, 17, 9, 5e8, time.UTC), stream: "stdout", text: []byte("a b  c\n")}},
		{"no fields", "garbage\n", logRecord{stream: "stdout", text: []byte("garbage\n"), malformed: true}},
		{"bad timestamp", "yesterday stdout F x\n", logRecord{stream: "stdout", text: []byte("yesterday stdout F x\n"), malformed: true}},
		{"bad stream", "2016-10-06T00:17:09Z stdin F x\n", logRecord{stream: "stdout", text: []byte("2016-10-06T00:17:09Z stdin F x\n"), malformed: true}},
		{"no tag", "2016-10-06T00:17:09Z stdout F\n", logRecord{stream: "stdout", text: []byte("2016-10-06T00:17:09Z stdout F\n"), malformed: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := parseRecord([]byte(c.line))
			if !got.timestamp.Equal(c.want.timestamp) || got.stream != c.want.stream || string(got.text) != string(c.want.text) || got.malformed != c.want.malformed {
				t.Errorf("parseRecord(%q) = {%v %s %q malformed=%v}, want {%v %s %q malformed=%v}", c.line,
					got.timestamp, got.stream, got.text, got.malformed, c.want.timestamp, c.want.stream, c.want.text, c.want.malformed)
			}
		})
	}
}
