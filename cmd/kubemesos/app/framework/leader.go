package framework

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// LeaderElection configures how replicas of `kubemesos framework` choose
// the one that subscribes and schedules: a client-go leader election on a
// coordination.k8s.io Lease.
type LeaderElection struct {
	Enabled                                   bool
	Namespace, Name                           string
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// Defaults of LeaderElection (those of kube-scheduler).
const (
	DefaultLeaseName     = "kubemesos-framework"
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// lead blocks until this process holds the lease (or ctx ends), and
// returns a channel closed when it loses the lease. The lease is released
// when ctx ends, so that a standby takes over at once after a clean stop.
func lead(ctx context.Context, le LeaderElection, restConfig *rest.Config, log *slog.Logger) (lost <-chan struct{}, err error) {
	kube, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return nil, fmt.Errorf("leader election client: %w", err)
	}
	host, _ := os.Hostname()
	identity := host + "_" + rand.Text()
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, le.Namespace, le.Name,
		kube.CoreV1(), kube.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: identity})
	if err != nil {
		return nil, fmt.Errorf("leader election lock: %w", err)
	}
	started := make(chan struct{})
	stopped := make(chan struct{})
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   le.LeaseDuration,
		RenewDeadline:   le.RenewDeadline,
		RetryPeriod:     le.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            le.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) { close(started) },
			OnStoppedLeading: func() { close(stopped) },
			OnNewLeader: func(id string) {
				if id != identity {
					log.Info("another replica leads; standing by", "leader", id)
				}
			},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("leader election: %w", err)
	}
	log.Info("waiting for the leader lease", "lease", le.Namespace+"/"+le.Name, "identity", identity)
	go elector.Run(ctx)
	select {
	case <-started:
		log.Info("leading", "lease", le.Namespace+"/"+le.Name, "identity", identity)
		return stopped, nil
	case <-stopped:
		return nil, fmt.Errorf("leader election ended: %w", context.Cause(ctx))
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
