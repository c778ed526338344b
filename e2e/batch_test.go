package e2e

import (
	"context"
	"fmt"
	"os/user"
	"sync"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpsched"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

// batchFramework is a second Mesos framework, written on mesos-go's
// httpsched client as any other framework would be: it subscribes with one
// role and keeps accepting every offer, launching command tasks of
// batchTaskCPUs each that sleep for batchTaskDuration, so that it always
// wants more than it has and gives back cpus as its tasks end.
type batchFramework struct {
	t      *testing.T
	role   string
	caller calls.Caller
	cancel context.CancelFunc
	done   chan struct{}

	mu          sync.Mutex
	frameworkID string
	live        map[string]bool // task IDs that have not ended
	launched    int
	err         error
}

const (
	batchTaskCPUs     = 1.0
	batchTaskMemMiB   = 32.0
	batchTaskDuration = "2"
)

// startBatchFramework subscribes a batch framework in role to the master at
// mesosURL; it runs until the test ends.
func startBatchFramework(t *testing.T, mesosURL, role string) *batchFramework {
	t.Helper()
	cli := httpcli.New(
		httpcli.Endpoint(mesosURL+"/api/v1/scheduler"),
		httpcli.Codec(codecs.ByMediaType[codecs.MediaTypeProtobuf]),
		httpcli.Do(httpcli.With(httpcli.Timeout(20*time.Second))),
	)
	ctx, cancel := context.WithCancel(context.Background())
	b := &batchFramework{t: t, role: role, caller: httpsched.NewCaller(cli), cancel: cancel, done: make(chan struct{}), live: map[string]bool{}}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	info := &mesos.FrameworkInfo{
		User:         u.Username,
		Name:         "e2e-batch",
		Roles:        []string{role},
		Capabilities: []mesos.FrameworkInfo_Capability{{Type: mesos.FrameworkInfo_Capability_MULTI_ROLE}},
	}
	resp, err := b.caller.Call(ctx, calls.Subscribe(info))
	if err != nil {
		cancel()
		t.Fatalf("batch framework: subscribe: %v", err)
	}
	go func() {
		defer close(b.done)
		defer resp.Close()
		for {
			var ev scheduler.Event
			if err := resp.Decode(&ev); err != nil {
				if ctx.Err() == nil {
					b.fail(fmt.Errorf("event stream: %w", err))
				}
				return
			}
			b.handle(ctx, &ev)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-b.done
	})
	return b
}

// teardown ends the framework and its tasks, and waits until the master
// has no task of it left.
func (b *batchFramework) teardown(t *testing.T, mesosURL string) {
	t.Helper()
	b.call(context.Background(), &scheduler.Call{Type: scheduler.Call_TEARDOWN})
	b.cancel()
	<-b.done
	eventually(t, time.Minute, func() string {
		if n := roleCPUs(t, mesosURL)[b.role]; n > 0 {
			return fmt.Sprintf("the torn down batch framework still uses %v cpus", n)
		}
		return ""
	})
}

func (b *batchFramework) fail(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil {
		b.err = err
	}
}

// check reports the first error of the framework's event loop or calls.
func (b *batchFramework) check() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// launches is how many tasks the framework launched so far.
func (b *batchFramework) launches() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.launched
}

func (b *batchFramework) call(ctx context.Context, c *scheduler.Call) {
	b.mu.Lock()
	c.FrameworkID = &mesos.FrameworkID{Value: b.frameworkID}
	b.mu.Unlock()
	resp, err := b.caller.Call(ctx, c)
	if resp != nil {
		resp.Close()
	}
	if err != nil && ctx.Err() == nil {
		b.fail(fmt.Errorf("%s: %w", c.GetType(), err))
	}
}

func (b *batchFramework) handle(ctx context.Context, ev *scheduler.Event) {
	switch ev.GetType() {
	case scheduler.Event_SUBSCRIBED:
		b.mu.Lock()
		b.frameworkID = ev.GetSubscribed().GetFrameworkID().GetValue()
		b.mu.Unlock()
	case scheduler.Event_OFFERS:
		for _, o := range ev.GetOffers().GetOffers() {
			b.offered(ctx, o)
		}
	case scheduler.Event_UPDATE:
		st := ev.GetUpdate().GetStatus()
		b.mu.Lock()
		switch st.GetState() {
		case mesos.TASK_STAGING, mesos.TASK_STARTING, mesos.TASK_RUNNING:
		default:
			delete(b.live, st.TaskID.Value)
		}
		b.mu.Unlock()
		if len(st.GetUUID()) > 0 {
			b.call(ctx, calls.Acknowledge(st.GetAgentID().GetValue(), st.TaskID.Value, st.GetUUID()))
		}
	case scheduler.Event_ERROR:
		b.fail(fmt.Errorf("ERROR event: %s", ev.GetError().GetMessage()))
	}
}

// offered launches as many tasks as the offer holds; what is left goes back
// with no refuse filter, so the master may offer it again at once.
func (b *batchFramework) offered(ctx context.Context, o mesos.Offer) {
	var cpus, mem float64
	for _, r := range o.Resources {
		switch r.GetName() {
		case "cpus":
			cpus += r.GetScalar().GetValue()
		case "mem":
			mem += r.GetScalar().GetValue()
		}
	}
	var tasks []mesos.TaskInfo
	shell := true
	cmd := "sleep " + batchTaskDuration
	for cpus >= batchTaskCPUs-1e-9 && mem >= batchTaskMemMiB {
		cpus -= batchTaskCPUs
		mem -= batchTaskMemMiB
		b.mu.Lock()
		b.launched++
		id := fmt.Sprintf("batch-%d", b.launched)
		b.live[id] = true
		b.mu.Unlock()
		tasks = append(tasks, mesos.TaskInfo{
			Name:    id,
			TaskID:  mesos.TaskID{Value: id},
			AgentID: o.AgentID,
			Resources: []mesos.Resource{
				b.scalar("cpus", batchTaskCPUs),
				b.scalar("mem", batchTaskMemMiB),
			},
			Command: &mesos.CommandInfo{Shell: &shell, Value: &cmd},
		})
	}
	if len(tasks) == 0 {
		b.call(ctx, calls.Decline(o.ID).With(calls.RefuseSeconds(time.Second)))
		return
	}
	b.call(ctx, calls.Accept(calls.OfferOperations{calls.OpLaunch(tasks...)}.WithOffers(o.ID)).With(calls.RefuseSeconds(0)))
}

func (b *batchFramework) scalar(name string, v float64) mesos.Resource {
	role := b.role
	return mesos.Resource{
		Name:           name,
		Type:           mesos.SCALAR.Enum(),
		Scalar:         &mesos.Value_Scalar{Value: v},
		AllocationInfo: &mesos.Resource_AllocationInfo{Role: &role},
	}
}
