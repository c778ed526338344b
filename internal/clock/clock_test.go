package clock

import (
	"testing"
	"time"
)

func TestFakeRunsTimersInOrder(t *testing.T) {
	c := NewFake(time.Unix(0, 0))
	var got []string
	c.AfterFunc(2*time.Second, func() { got = append(got, "b") })
	c.AfterFunc(time.Second, func() {
		got = append(got, "a")
		c.AfterFunc(500*time.Millisecond, func() { got = append(got, "a2") })
	})
	stopped := c.AfterFunc(1500*time.Millisecond, func() { got = append(got, "never") })
	if !stopped.Stop() {
		t.Fatal("Stop of a pending timer reported false")
	}
	c.Step(1900 * time.Millisecond)
	if want := []string{"a", "a2"}; !equal(got, want) {
		t.Fatalf("after 1.9s got %v, want %v", got, want)
	}
	c.Step(100 * time.Millisecond)
	if want := []string{"a", "a2", "b"}; !equal(got, want) {
		t.Fatalf("after 2s got %v, want %v", got, want)
	}
	if c.Now() != time.Unix(2, 0) {
		t.Fatalf("now = %v", c.Now())
	}
	if c.Pending() != 0 {
		t.Fatalf("pending = %d", c.Pending())
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestFakeStepNeverGoesBack: a timer's function that steps the clock
// further leaves it there when the outer step ends (it used to set the
// clock back to the end of the outer step, which made a podbench test
// that steps from two goroutines fail now and then).
func TestFakeStepNeverGoesBack(t *testing.T) {
	start := time.Unix(0, 0)
	c := NewFake(start)
	c.AfterFunc(time.Second, func() { c.Step(10 * time.Second) })
	c.Step(time.Second)
	if got := c.Now().Sub(start); got != 11*time.Second {
		t.Fatalf("clock at %v after the steps, want 11s", got)
	}
}
