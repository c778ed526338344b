package podbench

import (
	"strings"
	"testing"
)

func TestParseStatusMemory(t *testing.T) {
	for _, tc := range []struct {
		name      string
		text      string
		rss, peak int64
		wantErr   bool
	}{
		{"both", "Name:\tkubemesos\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nThreads:\t9\n", 1 << 20, 2 << 20, false},
		{"no rss", "Name:\tx\n", 0, 0, true},
		{"bad unit", "VmRSS:\t1 MB\n", 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rss, peak, err := parseStatusMemory(strings.NewReader(tc.text))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if rss != tc.rss || peak != tc.peak {
				t.Errorf("rss, peak = %d, %d; want %d, %d", rss, peak, tc.rss, tc.peak)
			}
		})
	}
}

func TestReadUsage(t *testing.T) {
	u, err := ReadUsage()
	if err != nil {
		t.Fatal(err)
	}
	if u.RSS <= 0 || u.PeakRSS < u.RSS {
		t.Errorf("RSS %d, peak %d: want 0 < RSS ≤ peak", u.RSS, u.PeakRSS)
	}
}
