package behavior

import (
	"math/rand"
	"reflect"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func TestSameSeedSamePlan(t *testing.T) {
	c := &Config{Default: Behavior{Duration: time.Minute, FailureRate: 0.5, LaunchFailureRate: 0.2}}
	plans := func(seed int64) [][]Step {
		rng := rand.New(rand.NewSource(seed))
		var out [][]Step
		for range 200 {
			out = append(out, c.PlanLaunch(Task{Name: "t"}, rng))
		}
		return out
	}
	a, b := plans(99), plans(99)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave different plans")
	}
	if reflect.DeepEqual(a, plans(100)) {
		t.Error("seeds 99 and 100 gave the same 200 plans; the draws are not used")
	}
}

// Each launch draws exactly two numbers, whatever the behaviour, so one
// rule's settings never shift the outcomes of other tasks.
func TestPlanLaunchDrawsTwice(t *testing.T) {
	for _, b := range []Behavior{
		{},
		{LaunchFailureRate: 1},
		{Duration: time.Second, FailureRate: 0.5},
		{Duration: time.Second},
	} {
		c := &Config{Default: b}
		rng, ref := rand.New(rand.NewSource(5)), rand.New(rand.NewSource(5))
		c.PlanLaunch(Task{Labels: map[string]string{DefaultDurationLabel: "bad"}}, rng)
		c.PlanLaunch(Task{}, rng)
		for range 4 {
			ref.Float64()
		}
		if got, want := rng.Int63(), ref.Int63(); got != want {
			t.Errorf("%+v: PlanLaunch did not draw exactly two numbers", b)
		}
	}
}

func TestFailureRate(t *testing.T) {
	const n = 10000
	for _, tc := range []struct {
		name  string
		b     Behavior
		count func([]Step) bool
	}{
		{"failureRate 0.3", Behavior{Duration: time.Second, FailureRate: 0.3}, func(s []Step) bool {
			return len(s) == 3 && s[2].State == mesos.TASK_FAILED
		}},
		{"launchFailureRate 0.3", Behavior{LaunchFailureRate: 0.3}, func(s []Step) bool {
			return len(s) == 1 && s[0].State == mesos.TASK_FAILED
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Config{Default: tc.b}
			rng := rand.New(rand.NewSource(1))
			failed := 0
			for range n {
				if tc.count(c.PlanLaunch(Task{}, rng)) {
					failed++
				}
			}
			// 3 standard deviations are ±138; ±300 leaves room for any seed.
			if failed < 2700 || failed > 3300 {
				t.Errorf("%d of %d tasks failed, want 27%%–33%%", failed, n)
			}
		})
	}
}

func TestPlanLaunchCertainOutcomes(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	finish := &Config{Default: Behavior{Duration: time.Second}}
	fail := &Config{Default: Behavior{Duration: time.Second, FailureRate: 1}}
	noLaunch := &Config{Default: Behavior{LaunchFailureRate: 1, Duration: time.Second, StartingDelay: time.Second}}
	for range 100 {
		if s := finish.PlanLaunch(Task{}, rng); s[len(s)-1].State != mesos.TASK_FINISHED {
			t.Fatalf("failureRate 0 ended %v", s[len(s)-1].State)
		}
		s := fail.PlanLaunch(Task{}, rng)
		if end := s[len(s)-1]; end.State != mesos.TASK_FAILED || end.Reason != nil || end.Message != "Command exited with status 1" || end.Source != mesos.SOURCE_EXECUTOR {
			t.Fatalf("failureRate 1 ended %v, want TASK_FAILED from the executor, no reason, exit status 1", end)
		}
		s = noLaunch.PlanLaunch(Task{}, rng)
		if len(s) != 1 || s[0].State != mesos.TASK_FAILED || s[0].Reason == nil || *s[0].Reason != mesos.REASON_CONTAINER_LAUNCH_FAILED ||
			s[0].Source != mesos.SOURCE_AGENT || s[0].After != time.Second {
			t.Fatalf("launchFailureRate 1 planned %v, want one TASK_FAILED REASON_CONTAINER_LAUNCH_FAILED from the agent after startingDelay", s)
		}
	}
}

func TestNilConfigIsDefault(t *testing.T) {
	var c *Config
	rng := rand.New(rand.NewSource(1))
	want := Default().PlanLaunch(Task{}, rand.New(rand.NewSource(1)))
	if got := c.PlanLaunch(Task{}, rng); !reflect.DeepEqual(got, want) {
		t.Errorf("nil config planned %v, want %v", got, want)
	}
	wantLaunch := []Step{
		{State: mesos.TASK_STARTING, Source: mesos.SOURCE_EXECUTOR},
		{State: mesos.TASK_RUNNING, Source: mesos.SOURCE_EXECUTOR},
	}
	if !reflect.DeepEqual(want, wantLaunch) {
		t.Errorf("default plan = %v, want %v", want, wantLaunch)
	}
	if got := c.PlanKill(Task{}, false, -1); len(got) != 1 || got[0].State != mesos.TASK_KILLED || got[0].After != 0 {
		t.Errorf("nil config kill plan = %v, want TASK_KILLED at once", got)
	}
}

func TestPlanKill(t *testing.T) {
	c := &Config{Default: Behavior{KillDelay: 5 * time.Second}}
	for _, tc := range []struct {
		name    string
		killing bool
		grace   time.Duration
		want    []Step
	}{
		{"no policy", false, -1, []Step{
			{After: 5 * time.Second, State: mesos.TASK_KILLED, Source: mesos.SOURCE_EXECUTOR, Message: "Command terminated with signal Terminated"},
		}},
		{"killing state", true, -1, []Step{
			{State: mesos.TASK_KILLING, Source: mesos.SOURCE_EXECUTOR},
			{After: 5 * time.Second, State: mesos.TASK_KILLED, Source: mesos.SOURCE_EXECUTOR, Message: "Command terminated with signal Terminated"},
		}},
		{"grace longer than delay", false, 10 * time.Second, []Step{
			{After: 5 * time.Second, State: mesos.TASK_KILLED, Source: mesos.SOURCE_EXECUTOR, Message: "Command terminated with signal Terminated"},
		}},
		{"grace equal to delay", false, 5 * time.Second, []Step{
			{After: 5 * time.Second, State: mesos.TASK_KILLED, Source: mesos.SOURCE_EXECUTOR, Message: "Command terminated with signal Terminated"},
		}},
		{"grace caps delay", true, 2 * time.Second, []Step{
			{State: mesos.TASK_KILLING, Source: mesos.SOURCE_EXECUTOR},
			{After: 2 * time.Second, State: mesos.TASK_KILLED, Source: mesos.SOURCE_EXECUTOR, Message: "Command terminated with signal Killed"},
		}},
		{"zero grace", false, 0, []Step{
			{State: mesos.TASK_KILLED, Source: mesos.SOURCE_EXECUTOR, Message: "Command terminated with signal Killed"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.PlanKill(Task{}, tc.killing, tc.grace); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("PlanKill = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRuleOrderAndMatch(t *testing.T) {
	c := &Config{
		Default: Behavior{StartingDelay: 1},
		Rules: []Rule{
			{Name: "labelled", Match: Match{Labels: map[string]string{"tier": "gold*"}}, Behavior: Behavior{StartingDelay: 2}},
			{Name: "rack", Match: Match{Attributes: map[string]string{"rack": "r?"}}, Behavior: Behavior{StartingDelay: 3}},
			{Name: "all-of", Match: Match{TaskName: "web-*", FrameworkName: "marathon", Role: "prod/*"}, Behavior: Behavior{StartingDelay: 4}},
			{Name: "any", Behavior: Behavior{StartingDelay: 5}},
		},
	}
	for _, tc := range []struct {
		task Task
		want int
	}{
		{Task{Labels: map[string]string{"tier": "golden"}, Attributes: map[string]string{"rack": "r1"}}, 0},
		{Task{Labels: map[string]string{"tier": "silver"}, Attributes: map[string]string{"rack": "r1"}}, 1},
		{Task{Attributes: map[string]string{"rack": "r10"}}, 3},
		{Task{Name: "web-1", FrameworkName: "marathon", Role: "prod/eu"}, 2},
		{Task{Name: "web-1", FrameworkName: "marathon", Role: "dev"}, 3},
		{Task{Name: "web-1", FrameworkName: "marathon2", Role: "prod/eu"}, 3},
		{Task{}, 3},
	} {
		if got := c.RuleFor(tc.task); got != tc.want {
			t.Errorf("RuleFor(%+v) = %d, want %d", tc.task, got, tc.want)
		}
		if got, want := c.BehaviorFor(tc.task), c.Rules[tc.want].Behavior; got != want {
			t.Errorf("BehaviorFor(%+v) = %+v, want %+v", tc.task, got, want)
		}
	}
	if got := (&Config{Default: Behavior{KillDelay: 7}}).BehaviorFor(Task{}); got.KillDelay != 7 {
		t.Errorf("without rules BehaviorFor = %+v, want the default", got)
	}
}

func TestMatchLabelMustBePresent(t *testing.T) {
	m := Match{Labels: map[string]string{"app": "*"}}
	if m.Matches(Task{}) {
		t.Error(`labels {app: "*"} matched a task without the label`)
	}
	if !m.Matches(Task{Labels: map[string]string{"app": ""}}) {
		t.Error(`labels {app: "*"} did not match app=""`)
	}
	if !(Match{}).Matches(Task{Name: "anything"}) {
		t.Error("the zero Match did not match")
	}
}

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "default/nginx", true},
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"abc", "ab", false},
		{"ab", "abc", false},
		{"a*", "a", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbd", false},
		{"*c", "cc", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
		{"?", "é", true},
		{"??", "é", false},
		{"*é", "xé", true},
		{"*?", "é", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"ns/*", "ns/pod-1", true},
		{"*/pod-?", "ns/pod-1", true},
		{"[a]", "[a]", true},
		{"[a]", "a", false},
		{`a\*`, `a\bc`, true},
	} {
		if got := globMatch(tc.pattern, tc.s); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestStepString(t *testing.T) {
	s := Step{After: 250 * time.Millisecond, State: mesos.TASK_FAILED, Reason: mesos.REASON_CONTAINER_LAUNCH_FAILED.Enum(), Message: `say "hi"`, Source: mesos.SOURCE_AGENT}
	const want = `+250ms TASK_FAILED SOURCE_AGENT REASON_CONTAINER_LAUNCH_FAILED "say \"hi\""`
	if got := s.String(); got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}
