package inventory

import (
	"strings"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/master"
)

func ports(role string, ranges ...mesos.Value_Range) mesos.Resource {
	r := mesos.Resource{Name: "ports", Type: mesos.RANGES.Enum(), Ranges: &mesos.Value_Ranges{Range: ranges}}
	if role != "" {
		r.Reservations = []mesos.Resource_ReservationInfo{{Type: mesos.Resource_ReservationInfo_STATIC.Enum(), Role: &role}}
	}
	return r
}

func opAgent(id string, rs ...mesos.Resource) master.Response_GetAgents_Agent {
	return master.Response_GetAgents_Agent{AgentInfo: mesos.AgentInfo{ID: &mesos.AgentID{Value: id}, Hostname: "host-" + id}, Active: true, TotalResources: rs}
}

func subscribed(agents ...master.Response_GetAgents_Agent) *master.Event {
	return &master.Event{Type: master.Event_SUBSCRIBED, Subscribed: &master.Event_Subscribed{
		GetState: &master.Response_GetState{GetAgents: &master.Response_GetAgents{Agents: agents}},
	}}
}

func TestApply(t *testing.T) {
	inv := New()
	if got := inv.Apply(subscribed(opAgent("a1"), opAgent("a2"), opAgent(""))); len(got) != 2 || inv.Len() != 2 {
		t.Fatalf("SUBSCRIBED added %v, inventory has %d; want the 2 agents with IDs", got, inv.Len())
	}
	added := inv.Apply(&master.Event{Type: master.Event_AGENT_ADDED, AgentAdded: &master.Event_AgentAdded{Agent: opAgent("a3")}})
	if len(added) != 1 || added[0].ID != "a3" || added[0].Hostname != "host-a3" {
		t.Fatalf("AGENT_ADDED added %+v", added)
	}
	inv.Apply(&master.Event{Type: master.Event_AGENT_REMOVED, AgentRemoved: &master.Event_AgentRemoved{AgentID: mesos.AgentID{Value: "a1"}}})
	if _, ok := inv.Agent("a1"); ok || inv.Len() != 2 {
		t.Fatalf("a1 still known after AGENT_REMOVED (%d agents)", inv.Len())
	}
	// Malformed events change nothing and do not panic.
	inv.Apply(&master.Event{Type: master.Event_AGENT_REMOVED})
	inv.Apply(&master.Event{Type: master.Event_AGENT_ADDED})
	inv.Apply(&master.Event{Type: master.Event_TASK_ADDED})
	if inv.Len() != 2 {
		t.Fatalf("malformed events changed the inventory: %d agents", inv.Len())
	}
	// A new SUBSCRIBED replaces the set.
	inv.Apply(subscribed(opAgent("a9")))
	if _, ok := inv.Agent("a9"); !ok || inv.Len() != 1 {
		t.Fatalf("after a second SUBSCRIBED: %d agents", inv.Len())
	}
}

func TestNoAgentHasPorts(t *testing.T) {
	inv := New()
	if why := inv.NoAgentHasPorts("*", []uint32{80}); why != "" {
		t.Fatalf("unsynced inventory decided: %s", why)
	}
	inv.Apply(subscribed())
	if why := inv.NoAgentHasPorts("*", []uint32{80}); why != "" {
		t.Fatalf("inventory with no agent decided: %s", why)
	}
	inv.Apply(subscribed(
		opAgent("a1", ports("", mesos.Value_Range{Begin: 31000, End: 32000})),
		opAgent("a2", ports("", mesos.Value_Range{Begin: 8000, End: 8100}), ports("web", mesos.Value_Range{Begin: 443, End: 443})),
		opAgent("a3", ports("web", mesos.Value_Range{Begin: 80, End: 80})),
	))
	for _, c := range []struct {
		role  string
		ports []uint32
		want  string // "" or a part of the explanation
	}{
		{"*", nil, ""},
		{"*", []uint32{31500}, ""},
		{"*", []uint32{31500, 31501}, ""},
		{"*", []uint32{8080}, ""},
		{"*", []uint32{99}, `host port 99 is in no registered Mesos agent's ports resource for role "*" (3 agents; the agents' ports are 31000-32000, 8000-8100)`},
		{"*", []uint32{80}, "host port 80 is in no"},                      // reserved to web
		{"web", []uint32{80}, ""},                                         // reserved to web
		{"web/frontend", []uint32{443}, ""},                               // reserved to an ancestor
		{"webby", []uint32{80}, `host port 80 is in no`},                  // not a descendant
		{"*", []uint32{31500, 8080}, "no single one of the 3 registered"}, // each exists, never together
		{"*", []uint32{31500, 99, 98}, "host ports 99, 98 are in no"},
	} {
		why := inv.NoAgentHasPorts(c.role, c.ports)
		if (c.want == "") != (why == "") || !strings.Contains(why, c.want) {
			t.Errorf("NoAgentHasPorts(%q, %v) = %q, want %q", c.role, c.ports, why, c.want)
		}
	}
	inv.Unsynced()
	if why := inv.NoAgentHasPorts("*", []uint32{99}); why != "" {
		t.Fatalf("unsynced inventory decided: %s", why)
	}
}

// FuzzApply feeds operator API events decoded from arbitrary bytes (the
// stream's frames, as the network gives them) to an inventory: nothing
// panics, and whatever it holds it can still answer.
func FuzzApply(f *testing.F) {
	for _, ev := range []*master.Event{
		subscribed(opAgent("a1", ports("", mesos.Value_Range{Begin: 1, End: 10}))),
		{Type: master.Event_AGENT_ADDED, AgentAdded: &master.Event_AgentAdded{Agent: opAgent("a2", ports("r", mesos.Value_Range{Begin: 5, End: 3}))}},
		{Type: master.Event_AGENT_REMOVED, AgentRemoved: &master.Event_AgentRemoved{AgentID: mesos.AgentID{Value: "a1"}}},
		{Type: master.Event_HEARTBEAT},
	} {
		b, err := ev.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		var ev master.Event
		if err := ev.Unmarshal(frame); err != nil {
			return
		}
		inv := New()
		inv.Apply(subscribed())
		added := inv.Apply(&ev)
		if inv.Len() < len(added) && ev.GetType() != master.Event_SUBSCRIBED {
			t.Fatalf("added %d agents, holds %d", len(added), inv.Len())
		}
		_ = inv.NoAgentHasPorts("*", []uint32{5, 80})
		_ = inv.NoAgentHasPorts("r/x", []uint32{7})
	})
}
