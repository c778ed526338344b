package master

import (
	"crypto/subtle"
	"fmt"
	"net/http"

	"github.com/gogo/protobuf/proto"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

// StreamIDHeader carries the id of a framework's current subscription.
const StreamIDHeader = "Mesos-Stream-Id"

// schedulerRealm is the HTTP authentication realm of the scheduler API.
const schedulerRealm = "mesos-master-scheduler"

// serveScheduler is POST /api/v1/scheduler. The checks run in the order Apache
// Mesos runs them (src/master/http.cpp, Master::Http::scheduler), so that a
// request that is wrong in several ways gets the same answer.
func (m *Master) serveScheduler(w http.ResponseWriter, r *http.Request) {
	principal, herr := m.authenticate(r)
	if herr == nil {
		herr = wire.RequirePOST(r)
	}
	var codec wire.Codec
	if herr == nil {
		codec, herr = wire.RequestCodec(r)
	}
	call := &scheduler.Call{}
	var body []byte
	if herr == nil {
		body, herr = wire.ReadCallBody(r, codec, call, "scheduler::Call")
	}
	if herr == nil {
		herr = validateCall(call, wire.TypePresent(body, codec, schedulerCallTypeField))
	}
	if herr != nil {
		m.countCall(call, false)
		herr.Write(w)
		return
	}
	if call.Type == scheduler.Call_SUBSCRIBE {
		m.countCall(call, true)
		m.subscribe(w, r, call, principal)
		return
	}

	m.mu.Lock()
	fw, herr := m.callingFramework(r, call, principal)
	if herr != nil {
		m.mu.Unlock()
		m.countCall(call, false)
		herr.Write(w)
		return
	}
	code, herr := m.dispatch(fw, call)
	m.mu.Unlock()
	m.countCall(call, herr == nil)
	if herr != nil {
		herr.Write(w)
		return
	}
	w.WriteHeader(code)
}

// authenticate checks HTTP basic credentials when the master has any.
func (m *Master) authenticate(r *http.Request) (string, *wire.Error) {
	if m.cfg.Credentials == nil {
		return "", nil
	}
	user, pass, ok := r.BasicAuth()
	if ok {
		if secret, known := m.cfg.Credentials[user]; known && subtle.ConstantTimeCompare([]byte(secret), []byte(pass)) == 1 {
			return user, nil
		}
	}
	e := wire.Errorf(http.StatusUnauthorized, "")
	e.Header = http.Header{"Www-Authenticate": {fmt.Sprintf("Basic realm=%q", schedulerRealm)}}
	return "", e
}

// callingFramework finds the framework a non-SUBSCRIBE call comes from and
// checks that it may make calls on this stream. The caller holds m.mu.
func (m *Master) callingFramework(r *http.Request, call *scheduler.Call, principal string) (*framework, *wire.Error) {
	id := call.GetFrameworkID().GetValue()
	fw := m.frameworks[id]
	if fw == nil {
		return nil, wire.Errorf(http.StatusBadRequest, "Framework cannot be found")
	}
	if principal != "" && fw.principal != principal {
		return nil, wire.Errorf(http.StatusBadRequest,
			"Authenticated principal '%s' does not match principal '%s' set in `FrameworkInfo`", principal, fw.principal)
	}
	if !fw.connected {
		return nil, wire.Errorf(http.StatusForbidden, "Framework is not subscribed")
	}
	streamID := r.Header.Get(StreamIDHeader)
	if streamID == "" {
		return nil, wire.Errorf(http.StatusBadRequest, "All non-subscribe calls should include the '%s' header", StreamIDHeader)
	}
	if streamID != fw.streamID {
		return nil, wire.Errorf(http.StatusBadRequest,
			"The stream ID '%s' included in this request didn't match the stream ID currently associated with framework ID %s",
			streamID, id)
	}
	return fw, nil
}

// schedulerCallTypeField is the field number of scheduler::Call.type.
const schedulerCallTypeField = 2

// validateCall is Mesos' scheduler::call::validate. typePresent says
// whether the body set the call's type: an explicit UNKNOWN is valid here
// and answered 501 by dispatch, as Mesos does.
func validateCall(call *scheduler.Call, typePresent bool) *wire.Error {
	bad := func(format string, args ...any) *wire.Error {
		return wire.Errorf(http.StatusBadRequest, "Failed to validate scheduler::Call: "+format, args...)
	}
	if call.Type == scheduler.Call_UNKNOWN && !typePresent {
		return bad("Expecting 'type' to be present")
	}
	if call.Type == scheduler.Call_SUBSCRIBE {
		sub := call.GetSubscribe()
		if sub == nil {
			return bad("Expecting 'subscribe' to be present")
		}
		if sub.FrameworkInfo == nil {
			return bad("Expecting 'subscribe.framework_info' to be present")
		}
		if call.FrameworkID != nil && sub.FrameworkInfo.GetID().GetValue() != call.FrameworkID.GetValue() {
			return bad("'framework_id' differs from 'subscribe.framework_info.id'")
		}
		return nil
	}
	if call.FrameworkID == nil || call.FrameworkID.Value == "" {
		return bad("Expecting 'framework_id' to be present")
	}
	var missing string
	switch call.Type {
	case scheduler.Call_ACCEPT:
		if call.Accept == nil {
			missing = "accept"
		}
	case scheduler.Call_DECLINE:
		if call.Decline == nil {
			missing = "decline"
		}
	case scheduler.Call_ACCEPT_INVERSE_OFFERS:
		if call.AcceptInverseOffers == nil {
			missing = "accept_inverse_offers"
		}
	case scheduler.Call_DECLINE_INVERSE_OFFERS:
		if call.DeclineInverseOffers == nil {
			missing = "decline_inverse_offers"
		}
	case scheduler.Call_KILL:
		if call.Kill == nil {
			missing = "kill"
		}
	case scheduler.Call_SHUTDOWN:
		if call.Shutdown == nil {
			missing = "shutdown"
		}
	case scheduler.Call_ACKNOWLEDGE:
		ack := call.Acknowledge
		if ack == nil {
			missing = "acknowledge"
			break
		}
		if len(ack.UUID) != 16 {
			return bad("Not a valid UUID: %q", ack.UUID)
		}
	case scheduler.Call_ACKNOWLEDGE_OPERATION_STATUS:
		ack := call.AcknowledgeOperationStatus
		if ack == nil {
			missing = "acknowledge_operation_status"
			break
		}
		if len(ack.UUID) != 16 {
			return bad("Not a valid UUID: %q", ack.UUID)
		}
		if ack.AgentID == nil {
			return bad("Expecting 'agent_id' to be present")
		}
	case scheduler.Call_RECONCILE:
		if call.Reconcile == nil {
			missing = "reconcile"
		}
	case scheduler.Call_RECONCILE_OPERATIONS:
		if call.ReconcileOperations == nil {
			missing = "reconcile_operations"
		}
	case scheduler.Call_MESSAGE:
		if call.Message == nil {
			missing = "message"
		}
	case scheduler.Call_REQUEST:
		if call.Request == nil {
			missing = "request"
		}
	case scheduler.Call_UPDATE_FRAMEWORK:
		if call.UpdateFramework == nil {
			missing = "update_framework"
		}
	case scheduler.Call_TEARDOWN, scheduler.Call_REVIVE, scheduler.Call_SUPPRESS, scheduler.Call_UNKNOWN:
	default:
		if _, known := scheduler.Call_Type_name[int32(call.Type)]; !known {
			return bad("Unknown call type %d", call.Type)
		}
	}
	if missing != "" {
		return bad("Expecting '%s' to be present", missing)
	}
	return nil
}

// dispatch carries out a validated call from a subscribed framework and
// returns the success status code. The caller holds m.mu.
func (m *Master) dispatch(fw *framework, call *scheduler.Call) (int, *wire.Error) {
	switch call.Type {
	case scheduler.Call_TEARDOWN:
		m.log.Info("framework asked for teardown", "framework_id", fw.id)
		m.removeFramework(fw, "Framework teardown")
	case scheduler.Call_ACCEPT:
		m.accept(fw, call.Accept)
	case scheduler.Call_DECLINE:
		m.decline(fw, call.Decline.OfferIDs, call.Decline.Filters)
	case scheduler.Call_ACCEPT_INVERSE_OFFERS, scheduler.Call_DECLINE_INVERSE_OFFERS:
		// mesos-sim has no maintenance schedule, so there are no inverse
		// offers to accept or decline; Mesos ignores unknown ones too.
	case scheduler.Call_REVIVE:
		return m.revive(fw, call.Revive.GetRoles())
	case scheduler.Call_SUPPRESS:
		return m.suppress(fw, call.Suppress.GetRoles())
	case scheduler.Call_KILL:
		m.kill(fw, call.Kill)
	case scheduler.Call_SHUTDOWN:
		m.shutdownExecutor(fw, call.Shutdown.AgentID.Value, call.Shutdown.ExecutorID.Value)
	case scheduler.Call_ACKNOWLEDGE:
		m.acknowledge(fw, call.Acknowledge)
	case scheduler.Call_ACKNOWLEDGE_OPERATION_STATUS:
		// Operations never get feedback ids accepted here (see accept), so
		// there is nothing to acknowledge.
	case scheduler.Call_RECONCILE:
		m.reconcile(fw, call.Reconcile.Tasks)
	case scheduler.Call_RECONCILE_OPERATIONS:
		// No operation has feedback; an implicit or explicit reconciliation
		// of operations has nothing to report.
	case scheduler.Call_MESSAGE:
		m.frameworkMessage(fw, call.Message)
	case scheduler.Call_REQUEST:
		// The hierarchical allocator ignores resource requests.
	case scheduler.Call_UPDATE_FRAMEWORK:
		if herr := m.updateFramework(fw, call.UpdateFramework); herr != nil {
			return 0, herr
		}
		return http.StatusOK, nil
	default:
		return 0, wire.Errorf(http.StatusNotImplemented, "Call type %s is not implemented", call.Type)
	}
	return http.StatusAccepted, nil
}

// cloneCall keeps a private copy of a message that outlives the request.
func clone[T proto.Message](m T) T { return proto.Clone(m).(T) }
