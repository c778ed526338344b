package master

import (
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

func heartbeatEvent() *scheduler.Event { return &scheduler.Event{Type: scheduler.Event_HEARTBEAT} }

func errorEvent(msg string) *scheduler.Event {
	return &scheduler.Event{Type: scheduler.Event_ERROR, Error: &scheduler.Event_Error{Message: msg}}
}

func rescindEvent(offerID string) *scheduler.Event {
	return &scheduler.Event{Type: scheduler.Event_RESCIND, Rescind: &scheduler.Event_Rescind{OfferID: mesos.OfferID{Value: offerID}}}
}

func updateEvent(status mesos.TaskStatus) *scheduler.Event {
	return &scheduler.Event{Type: scheduler.Event_UPDATE, Update: &scheduler.Event_Update{Status: status}}
}

func offersEvent(offers []mesos.Offer) *scheduler.Event {
	return &scheduler.Event{Type: scheduler.Event_OFFERS, Offers: &scheduler.Event_Offers{Offers: offers}}
}

// splitOffers cuts an OFFERS event in two halves so that no RecordIO record
// reaches mesos-go's 4 MiB limit; other events cannot be split.
func splitOffers(m wire.Message) []wire.Message {
	ev, ok := m.(*scheduler.Event)
	if !ok || ev.Type != scheduler.Event_OFFERS || len(ev.Offers.GetOffers()) < 2 {
		return nil
	}
	offers := ev.Offers.Offers
	half := len(offers) / 2
	return []wire.Message{offersEvent(offers[:half]), offersEvent(offers[half:])}
}

// sendEvent queues ev on the framework's stream if it is connected; events
// for a disconnected framework are dropped, as Mesos does.
func (m *Master) sendEvent(fw *framework, ev *scheduler.Event) {
	if fw == nil || fw.stream == nil {
		m.metrics.droppedMessages++
		return
	}
	if err := fw.stream.Send(ev); err != nil {
		m.metrics.droppedMessages++
	}
}

func (m *Master) sendOffers(fw *framework, offers []mesos.Offer) {
	m.sendEvent(fw, offersEvent(offers))
}
