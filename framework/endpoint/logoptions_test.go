package endpoint

import (
	"net/url"
	"testing"
	"time"
)

func TestParseLogOptions(t *testing.T) {
	since := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	def := logOptions{tailLines: -1, stdout: true, stderr: true}
	with := func(f func(*logOptions)) logOptions { o := def; f(&o); return o }
	for _, c := range []struct {
		query   string
		want    logOptions
		wantErr bool
	}{
		{"", def, false},
		// Booleans as Kubernetes reads them: only absent, 0 and false are false.
		{"follow=true&previous=1&timestamps=", with(func(o *logOptions) { o.follow, o.previous, o.timestamps = true, true, true }), false},
		{"follow=false&previous=0&timestamps=FALSE", def, false},
		{"tailLines=5", with(func(o *logOptions) { o.tailLines = 5 }), false},
		{"tailLines=", def, false},
		{"tail=7", with(func(o *logOptions) { o.tailLines = 7 }), false},
		{"tail=all&tailLines=3", def, false},
		{"limitBytes=10", with(func(o *logOptions) { o.limitBytes = 10 }), false},
		{"sinceSeconds=30", with(func(o *logOptions) { o.sinceSeconds = 30 }), false},
		{"sinceTime=2026-11-25T10:00:00Z", with(func(o *logOptions) { o.sinceTime = since }), false},
		{"sinceTime=null", def, false},
		{"stream=Stdout", with(func(o *logOptions) { o.stderr = false }), false},
		{"stream=Stderr", with(func(o *logOptions) { o.stdout = false }), false},
		{"stream=All&tailLines=1", with(func(o *logOptions) { o.tailLines = 1 }), false},
		{"tailLines=-1", def, true},
		{"tailLines=x", def, true},
		{"limitBytes=0", def, true},
		{"sinceSeconds=0", def, true},
		{"sinceSeconds=1&sinceTime=2026-11-25T10:00:00Z", def, true},
		{"sinceTime=2026-11-25", def, true},
		{"stream=stdout", def, true},
		{"stream=Stdout&tailLines=2", def, true},
	} {
		q, err := url.ParseQuery(c.query)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseLogOptions(q)
		if (err != nil) != c.wantErr {
			t.Errorf("%q: error %v, want error %v", c.query, err, c.wantErr)
			continue
		}
		if err == nil && (got.follow != c.want.follow || got.previous != c.want.previous || got.timestamps != c.want.timestamps ||
			got.tailLines != c.want.tailLines || got.limitBytes != c.want.limitBytes || got.sinceSeconds != c.want.sinceSeconds ||
			!got.sinceTime.Equal(c.want.sinceTime) || got.stdout != c.want.stdout || got.stderr != c.want.stderr) {
			t.Errorf("%q: %+v, want %+v", c.query, got, c.want)
		}
	}
	now := since.Add(time.Hour)
	if got := (logOptions{sinceSeconds: 60}).since(now); !got.Equal(now.Add(-time.Minute)) {
		t.Errorf("since with sinceSeconds: %v", got)
	}
	if got := (logOptions{sinceTime: since}).since(now); !got.Equal(since) {
		t.Errorf("since with sinceTime: %v", got)
	}
}
