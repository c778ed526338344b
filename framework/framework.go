package framework

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/kubemesos/kubemesos/framework/inventory"
	"github.com/kubemesos/kubemesos/framework/node"
	"github.com/kubemesos/kubemesos/framework/offer"
	"github.com/kubemesos/kubemesos/framework/podtask"
	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

// ErrNotSubscribed is returned for calls made while no subscription is up.
var ErrNotSubscribed = errors.New("not subscribed to the Mesos master")

// uidIndex indexes the pod informer by pod UID.
const uidIndex = "uid"

// Framework is a running kubemesos framework. Build it with New, run it with
// Run; Offers is what the MesosOffers plugin uses.
type Framework struct {
	cfg    Config
	kube   kubernetes.Interface
	log    *slog.Logger
	clock  clock.WithTickerAndDelayedExecution
	taint  *corev1.Taint
	exec   podtask.ExecutorConfig
	resolv podtask.Resolver

	pool    *offer.Pool
	inv     *inventory.Inventory
	namer   *node.Namer
	metrics *metrics

	factory informers.SharedInformerFactory
	// rootCAs watches the root CA ConfigMaps for kubeResolver (nil with
	// another Resolver).
	rootCAs    informers.SharedInformerFactory
	podLister  corelisters.PodLister
	podIndex   cache.Indexer
	nodeLister corelisters.NodeLister

	activationMu sync.Mutex
	activation   activation

	// restoring holds the pods whose Ready condition is being written back
	// (see readiness.go).
	restoreMu sync.Mutex
	restoring map[types.UID]bool

	// caller is the current subscription's caller (nil while not
	// subscribed), frameworkID the ID the master gave.
	callMu      sync.RWMutex
	caller      calls.Caller
	frameworkID string

	ready     chan struct{}
	readyOnce sync.Once

	batchMu sync.Mutex
	batches map[string][]*launchReq // by node
	// waiting holds, by node, launches whose claims wait for the remainder
	// of the agent's last ACCEPT to be offered again.
	waiting map[string][]*launchReq

	tasksMu sync.Mutex
	tasks   map[types.UID]*task

	demandMu sync.Mutex
	demand   offer.Demand
	// pending are our pods that wait for a node, with their Mesos roles.
	pending map[types.UID]pendingPod

	nodes *nodeSync

	// executors are the ExecutorInfos our executors were launched with,
	// by agent ID: by this process, or by an earlier one (from the
	// master's operator API state).
	execMu    sync.Mutex
	executors map[string]mesos.ExecutorInfo
	// agentsKnown is closed once the operator API's state is in (or it
	// was refused, or agentsWait passed): launches wait for it, so that
	// they go into the executors an earlier framework process started.
	agentsKnown     chan struct{}
	agentsKnownOnce sync.Once

	// lastReconcile is when reconcile last ran (periodic reconciliation).
	reconcileMu   sync.Mutex
	lastReconcile time.Time

	// versionsSeen are the executor protocol versions ("major.minor")
	// other than ours seen in status payloads, each logged once.
	versionsSeen sync.Map

	// bindWaits are the status writes waiting, by pod, for the pod's
	// Binding to show in the informer (see awaitBound).
	bindMu    sync.Mutex
	bindWaits map[types.UID]chan struct{}

	// statusSlots bounds the pod status requests in flight (see
	// maxStatusRequests).
	statusSlots chan struct{}
	// applying are the task updates being written (see onUpdate).
	applying inflight

	// ips caches agents' host names resolved to IPs ("" if they do not).
	ipMu sync.Mutex
	ips  map[string]string
}

// task is what the framework knows of one pod's task.
type task struct {
	agentID, node string
	// namespace and name are the pod's, when known: a pod missing from a
	// lagging informer cache is then looked up in the API server before
	// its task is taken for one without a pod.
	namespace, name string
	state           mesos.TaskState
	seq             uint64
	directory       string
	logs            map[string][]string
	killSent        bool
	// launchedHere: this process sent the LAUNCH (the scheduler that asked
	// for it writes the Binding).
	launchedHere bool
}

// Option adjusts a Framework built by New (tests inject a clock).
type Option func(*Framework)

// WithClock makes the framework read time from c.
func WithClock(c clock.WithTickerAndDelayedExecution) Option {
	return func(f *Framework) { f.clock = c }
}

// WithResolver replaces the client-go Resolver of pod payloads.
func WithResolver(r podtask.Resolver) Option { return func(f *Framework) { f.resolv = r } }

// New validates cfg and builds a framework that uses kube for the
// Kubernetes API. It starts nothing: call Run.
func New(cfg Config, kube kubernetes.Interface, log *slog.Logger, opts ...Option) (*Framework, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if kube == nil {
		return nil, errors.New("framework: a Kubernetes client is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	taint, _ := ParseTaint(cfg.NodeTaint)
	f := &Framework{
		cfg:     cfg,
		kube:    kube,
		log:     log.With("component", "framework"),
		clock:   clock.RealClock{},
		taint:   taint,
		exec:    podtask.ExecutorConfig{ID: offer.ExecutorID, URI: cfg.ExecutorURI, Command: cfg.ExecutorCommand},
		resolv:  kubeResolver{kube: kube},
		namer:   node.NewNamer(),
		inv:     inventory.New(),
		metrics: newMetrics(),
		ready:   make(chan struct{}),

		agentsKnown: make(chan struct{}),
		batches:     map[string][]*launchReq{},
		waiting:     map[string][]*launchReq{},
		tasks:       map[types.UID]*task{},
		pending:     map[types.UID]pendingPod{},
		ips:         map[string]string{},

		bindWaits:   map[types.UID]chan struct{}{},
		statusSlots: make(chan struct{}, maxStatusRequests),

		executors: map[string]mesos.ExecutorInfo{},
		restoring: map[types.UID]bool{},
	}
	f.pool = offer.NewPool(cfg.OfferHold, f.namer.Name)
	f.pool.SetHoldWaiting(cfg.OfferHoldWaiting)
	f.pool.SetHoldBacklog(cfg.OfferHoldBacklog)
	f.pool.SetDeclineRefuse(cfg.DeclineRefuse)
	for _, o := range opts {
		o(f)
	}
	f.nodes = newNodeSync(f)
	if r, ok := f.resolv.(kubeResolver); ok {
		f.rootCAs = informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", rootCAName).String()
		}))
		cms := f.rootCAs.Core().V1().ConfigMaps()
		r.rootCA, r.rootCASynced = cms.Lister(), cms.Informer().HasSynced
		f.resolv = r
	}
	f.factory = informers.NewSharedInformerFactory(kube, 0)
	podInformer := f.factory.Core().V1().Pods()
	if err := podInformer.Informer().AddIndexers(cache.Indexers{uidIndex: func(obj any) ([]string, error) {
		if p, ok := obj.(*corev1.Pod); ok {
			return []string{string(p.UID)}, nil
		}
		return nil, nil
	}, nodeIndex: func(obj any) ([]string, error) {
		if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
			return []string{p.Spec.NodeName}, nil
		}
		return nil, nil
	}}); err != nil {
		return nil, fmt.Errorf("framework: pod index: %w", err)
	}
	if _, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { f.podChanged(nil, obj) },
		UpdateFunc: f.podChanged,
		DeleteFunc: f.podDeleted,
	}); err != nil {
		return nil, fmt.Errorf("framework: pod handler: %w", err)
	}
	f.podLister = podInformer.Lister()
	f.podIndex = podInformer.Informer().GetIndexer()
	nodeInformer := f.factory.Core().V1().Nodes()
	if _, err := nodeInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(old, cur any) {
			o, _ := old.(*corev1.Node)
			if n, ok := cur.(*corev1.Node); ok && o != nil {
				f.nodeObserved(o, n)
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("framework: node handler: %w", err)
	}
	f.nodeLister = nodeInformer.Lister()
	return f, nil
}

// Offers is what the MesosOffers plugin needs of the framework.
func (f *Framework) Offers() mesosoffers.Offers { return offersAPI{f} }

// DefaultRole is the Mesos role of pods with no kubemesos.io/role
// annotation: the first of Config.Roles. The MesosOffers plugin's
// Args.DefaultRole should be set to it.
func (f *Framework) DefaultRole() string { return f.cfg.Roles[0] }

// Ready is closed once the framework first subscribed and its pod cache
// synced.
func (f *Framework) Ready() <-chan struct{} { return f.ready }

// FrameworkID is the framework ID of the current (or last) subscription.
func (f *Framework) FrameworkID() string {
	f.callMu.RLock()
	defer f.callMu.RUnlock()
	return f.frameworkID
}

// Run runs the framework until ctx ends: informers, the subscription loop,
// the periodic work (declines, waiting launches, reconciliation), the node
// writer (nodes and leases) and the operator API follower (agents).
func (f *Framework) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	f.factory.Start(ctx.Done())
	defer f.factory.Shutdown()
	if f.rootCAs != nil {
		// Not waited for: until it syncs, the resolver reads them.
		f.rootCAs.Start(ctx.Done())
		defer f.rootCAs.Shutdown()
	}
	// Before the Shutdowns, which wait for the informers to end: Run may
	// return an error before ctx ends.
	defer cancel()
	for typ, ok := range f.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("framework: cache of %v did not sync", typ)
		}
	}
	if err := f.nodes.loadExisting(ctx); err != nil {
		return err
	}
	id, err := f.loadFrameworkID(ctx)
	if err != nil {
		return err
	}
	f.callMu.Lock()
	f.frameworkID = id
	f.callMu.Unlock()

	var wg sync.WaitGroup
	if f.cfg.IgnoreOperatorAPI {
		f.markAgentsKnown()
	} else {
		f.clock.AfterFunc(agentsWait, f.markAgentsKnown)
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := inventory.Source{URL: f.cfg.MesosURL, Principal: f.cfg.Principal, Secret: f.cfg.Secret}
			inventory.Follow(ctx, src, f.inv, inventory.Handler{
				Added:    f.agentRegistered,
				Executor: f.executorRunning,
				Synced: func() {
					f.markAgentsKnown()
					f.recheckWaiting()
				},
				Refused: f.markAgentsKnown,
			}, f.log.With("component", "inventory"))
		}()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		f.periodic(ctx)
	}()
	go func() {
		defer wg.Done()
		f.nodes.run(ctx)
	}()
	err = f.subscribeLoop(ctx)
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// periodic runs the timed decisions: expired offers, waiting launches,
// suppress/revive, reconciliation. (Node and lease writes have a loop of
// their own, nodeSync.run, so that thousands of them never hold these up.)
func (f *Framework) periodic(ctx context.Context) {
	tick := f.clock.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C():
		}
		now := f.clock.Now()
		f.demandMu.Lock()
		waiting := f.waitingNeedsLocked()
		f.demandMu.Unlock()
		for _, d := range f.pool.Expired(now, waiting) {
			f.decline(ctx, d)
		}
		f.flushWaiting(ctx, now, f.waitingNodes())
		f.activateWaiting(now)
		f.updateDemand(ctx)
		if f.reconcileDue(now) {
			f.reconcile(ctx)
		}
	}
}

// reconcileDue reports whether the periodic reconciliation is due (only
// while subscribed: every subscription reconciles at once).
func (f *Framework) reconcileDue(now time.Time) bool {
	f.callMu.RLock()
	subscribed := f.caller != nil
	f.callMu.RUnlock()
	f.reconcileMu.Lock()
	defer f.reconcileMu.Unlock()
	return subscribed && now.Sub(f.lastReconcile) >= f.cfg.ReconcileInterval
}

func (f *Framework) decline(ctx context.Context, d offer.Decline) {
	call := calls.Decline(d.OfferIDs...).With(calls.RefuseSeconds(f.cfg.DeclineRefuse))
	if err := f.call(ctx, call); err != nil {
		f.log.Debug("decline failed", "agent_id", d.AgentID, "err", err)
		return
	}
	f.metrics.offers.WithLabelValues("declined").Add(float64(len(d.OfferIDs)))
}
