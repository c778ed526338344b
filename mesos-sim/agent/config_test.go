package agent

import (
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/resources"
)

func TestMesosDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		5 * time.Second:         "5secs",
		1500 * time.Millisecond: "1500ms",
		15 * time.Minute:        "15mins",
		2 * time.Hour:           "2hrs",
		48 * time.Hour:          "2days",
		14 * 24 * time.Hour:     "2weeks",
		3 * time.Microsecond:    "3us",
		7:                       "7ns",
		0:                       "0ns",
	} {
		if got := MesosDuration(d); got != want {
			t.Errorf("MesosDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	res := mesos.Resources{resources.NewCPUs(1).Resource}
	ok := Config{MasterURL: "http://127.0.0.1:5050", WorkDir: "/tmp/x", Resources: res}
	if c, err := ok.withDefaults(); err != nil || c.Listen != "127.0.0.1:0" || c.Hostname != "127.0.0.1" {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	for name, mutate := range map[string]func(*Config){
		"no master":    func(c *Config) { c.MasterURL = "" },
		"bad master":   func(c *Config) { c.MasterURL = "127.0.0.1:5050" },
		"no work dir":  func(c *Config) { c.WorkDir = "" },
		"no resources": func(c *Config) { c.Resources = nil },
		"not loopback": func(c *Config) { c.Listen = "0.0.0.0:5051" },
		"bad listen":   func(c *Config) { c.Listen = "nonsense" },
	} {
		c := ok
		mutate(&c)
		if _, err := c.withDefaults(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
