package framework

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestConfigDefaultsAndValidation(t *testing.T) {
	cfg, err := Config{MesosURL: "http://m:5050/"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MesosURL != "http://m:5050" || cfg.Roles[0] != "*" || cfg.FailoverTimeout != 168*time.Hour ||
		cfg.OfferHold != DefaultOfferHold || cfg.DeclineRefuse != DefaultDeclineRefuse || cfg.SchedulerName != "default-scheduler" ||
		cfg.Namespace != "kube-system" || cfg.ExecutorCommand != "./kubemesos executor" || cfg.KubeletPort != 10250 {
		t.Errorf("defaults: %+v", cfg)
	}
	for _, bad := range []Config{
		{},
		{MesosURL: "m:5050"},
		{MesosURL: "ftp://m"},
		{MesosURL: "http://m", Roles: []string{"web", "web"}},
		{MesosURL: "http://m", Roles: []string{""}},
		{MesosURL: "http://m", OfferHold: -time.Second},
		{MesosURL: "http://m", NodeTaint: "key"},
		{MesosURL: "http://m", NodeTaint: "key=v:Sometimes"},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("config %+v accepted", bad)
		}
	}
	if _, err := New(Config{MesosURL: "http://m"}, nil, nil); err == nil {
		t.Error("New without a client accepted")
	}
	taint, err := ParseTaint("kubemesos.io/mesos=yes:NoSchedule")
	if err != nil || taint.Key != "kubemesos.io/mesos" || taint.Value != "yes" || taint.Effect != corev1.TaintEffectNoSchedule {
		t.Errorf("taint %+v, %v", taint, err)
	}
}

func TestLogLocation(t *testing.T) {
	kube := fake.NewClientset(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "u"}})
	f, err := New(Config{MesosURL: "http://m"}, kube, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.factory.Start(ctx.Done())
	defer func() {
		cancel()
		f.factory.Shutdown()
	}()
	f.factory.WaitForCacheSync(ctx.Done())

	if _, _, err := f.LogLocation("ns", "p", "main", false); !errors.Is(err, ErrNoLogs) {
		t.Fatalf("no status yet: %v", err)
	}
	ip := "10.0.0.7"
	f.pool.Add(time.Now(), mesos.Offer{
		ID: mesos.OfferID{Value: "o"}, AgentID: mesos.AgentID{Value: "a1"}, Hostname: "h",
		URL: &mesos.URL{Scheme: "http", Address: mesos.Address{IP: &ip, Port: 5051}},
	})
	f.tasks["u"] = &task{agentID: "a1", directory: "/work/sandbox/pod/", logs: map[string][]string{"main": {"logs/main.1.log", "logs/main.2.log"}}}
	for _, tc := range []struct {
		container string
		previous  bool
		path      string
		err       error
	}{
		{"main", false, "/work/sandbox/pod/logs/main.2.log", nil},
		{"main", true, "/work/sandbox/pod/logs/main.1.log", nil},
		{"other", false, "", ErrNoLogs},
	} {
		url, path, err := f.LogLocation("ns", "p", tc.container, tc.previous)
		if !errors.Is(err, tc.err) || path != tc.path || (err == nil && url != "http://10.0.0.7:5051") {
			t.Errorf("%+v: %q %q %v", tc, url, path, err)
		}
	}
	if _, _, err := f.LogLocation("ns", "nope", "main", false); err == nil {
		t.Error("unknown pod has logs")
	}

	// A pod whose task this process knows from reconciliation only (no
	// status data yet): its files are where the executor's layout puts
	// them, in our executor's latest run.
	restarted := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "old", UID: "u2"},
		Status:     corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "main", RestartCount: 2}}},
	}
	if err := f.podIndex.Add(restarted); err != nil {
		t.Fatal(err)
	}
	f.tasks["u2"] = &task{agentID: "a1"}
	f.setFrameworkID("fw1")
	for _, tc := range []struct {
		container string
		previous  bool
		path      string
		err       error
	}{
		{"main", false, "/frameworks/fw1/executors/kubemesos/runs/latest/pods/ns_old_u2/logs/main/2.log", nil},
		{"main", true, "/frameworks/fw1/executors/kubemesos/runs/latest/pods/ns_old_u2/logs/main/1.log", nil},
		{"sidecar", false, "", ErrNoLogs},
	} {
		url, path, err := f.LogLocation("ns", "old", tc.container, tc.previous)
		if !errors.Is(err, tc.err) || path != tc.path || (err == nil && url != "http://10.0.0.7:5051") {
			t.Errorf("derived %+v: %q %q %v", tc, url, path, err)
		}
	}
}

// TestRestartIsAFailover stops a subscribed framework and starts another
// on the same Kubernetes API: it re-subscribes with the persisted framework
// ID, and an unsupported pod of ours fails with the reason before any
// launch.
func TestRestartIsAFailover(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cluster := startMesosSim(ctx, t, 1)
	kube := fake.NewClientset()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	start := func() (*Framework, func()) {
		f, err := New(Config{MesosURL: cluster.URL}, kube, log)
		if err != nil {
			t.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- f.Run(runCtx) }()
		select {
		case <-f.Ready():
		case err := <-done:
			t.Fatalf("run: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("no subscription")
		}
		return f, func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		}
	}
	first, stop := start()
	id := first.FrameworkID()
	stop()
	second, stop := start()
	defer stop()
	if second.FrameworkID() != id || id == "" {
		t.Fatalf("framework ID after restart %q, before %q", second.FrameworkID(), id)
	}

	pvc := testPod("pvc", "pvc")
	pvc.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}}}}
	if _, err := kube.CoreV1().Pods("default").Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "unsupported pod failed", nil, 0, func() bool {
		p, err := kube.CoreV1().Pods("default").Get(ctx, "pvc", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodFailed && p.Status.Reason == "Unsupported" &&
			strings.Contains(p.Status.Message, "persistentVolumeClaim")
	})
}

func TestAddFlags(t *testing.T) {
	var cfg Config
	fs := pflag.NewFlagSet("framework", pflag.ContinueOnError)
	cfg.AddFlags(fs)
	if err := fs.Parse([]string{"--mesos-master=http://m:5050", "--roles=web,batch", "--offer-hold=3s", "--node-taint=k:NoSchedule"}); err != nil {
		t.Fatal(err)
	}
	got, err := cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if got.MesosURL != "http://m:5050" || len(got.Roles) != 2 || got.Roles[0] != "web" || got.OfferHold != 3*time.Second ||
		got.DeclineRefuse != DefaultDeclineRefuse || got.NodeTaint != "k:NoSchedule" || got.FailoverTimeout != DefaultFailoverTimeout {
		t.Errorf("config from flags: %+v", got)
	}
}
