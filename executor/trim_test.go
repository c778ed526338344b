package executor

import (
	"reflect"
	"strings"
	"testing"
)

func TestDroppableMappings(t *testing.T) {
	const smaps = `00400000-027b2000 r--p 00000000 fe:00 9979610                            /bin/kubemesos
Size:              36296 kB
Rss:               20000 kB
Anonymous:             0 kB
VmFlags: rd mr mw me dw sd
027b2000-06e07000 r-xp 023b2000 fe:00 9979610                            /bin/kubemesos
Anonymous:             0 kB
0bfc7000-0bfc8000 r--p 0bbc7000 fe:00 9979610                            /bin/kubemesos
Anonymous:             4 kB
0bfc8000-0c135000 rw-p 0bbc8000 fe:00 9979610                            /bin/kubemesos
Anonymous:           376 kB
0c135000-0c200000 rw-p 00000000 00:00 0
Anonymous:           100 kB
7f0000000000-7f0000001000 r-xp 00000000 fe:00 42                         /usr/lib/libc.so.6
Anonymous:             0 kB
`
	got, err := droppableMappings(strings.NewReader(smaps), "/bin/kubemesos")
	if err != nil {
		t.Fatal(err)
	}
	want := []mapping{{0x400000, 0x27b2000}, {0x27b2000, 0x6e07000}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("droppable %x, want %x (not the RELRO page with private pages, the writable data or other files)", got, want)
	}
}
