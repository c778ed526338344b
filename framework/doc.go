// Package framework runs kubemesos as a Mesos framework: it subscribes to
// the master (re-subscribing with back-off and keeping its framework ID,
// persisted in the Kubernetes API), keeps the offers in an offer.Pool that
// the MesosOffers scheduler plugin reads and claims through Offers, launches
// pods in batched ACCEPTs, turns agents into virtual Nodes with leases, and
// turns task status updates into pod status. The decisions come from the
// deterministic packages beneath it (offer, podtask, node, status); this
// package is the thin I/O loop around them: the Mesos caller, client-go
// informers and writes, timers and metrics.
package framework
