package podbench

import (
	"reflect"
	"strings"
	"testing"
)

func TestAPIWrites(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       float64
		wantErr    bool
	}{
		{"empty", "", 0, false},
		{"writes only", `# HELP apiserver_request_total x
# TYPE apiserver_request_total counter
apiserver_request_total{code="201",component="apiserver",resource="pods",verb="POST",version="v1"} 200
apiserver_request_total{code="200",component="apiserver",resource="pods",subresource="status",verb="PATCH",version="v1"} 150
apiserver_request_total{code="200",component="apiserver",resource="pods",verb="LIST",version="v1"} 99
apiserver_request_total{code="200",component="apiserver",resource="leases",verb="PUT",version="v1"} 10
apiserver_request_total{code="200",component="apiserver",resource="pods",verb="DELETE",version="v1"} 1
apiserver_request_total{code="200",component="apiserver",resource="x",verb="APPLY",version="v1"} 2.5
apiserver_request_total{code="0",component="apiserver",resource="pods",verb="WATCH",version="v1"} 3
apiserver_request_duration_seconds_count{verb="POST"} 1000
`, 363.5, false},
		{"escaped label and timestamp", `apiserver_request_total{a="x\"y,z",verb="POST"} 4 1700000000000
`, 4, false},
		{"bad value", "apiserver_request_total{verb=\"POST\"} many\n", 0, true},
		{"bad labels", "apiserver_request_total{verb=POST} 1\n", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := APIWrites(strings.NewReader(tc.text))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Errorf("APIWrites = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMesosCounters(t *testing.T) {
	calls, declined, err := MesosCounters(strings.NewReader(`{"master/messages_launch_tasks":10,
"master/messages_status_update_acknowledgement":20,"master/messages_decline_offers":3,
"master/messages_register_framework":1,"master/messages_status_update":20,"master/offers_declined":7,
"master/offers_sent":40}`))
	if err != nil {
		t.Fatal(err)
	}
	if calls != 34 || declined != 7 {
		t.Errorf("calls, declined = %v, %v; want 34, 7", calls, declined)
	}
	if _, _, err := MesosCounters(strings.NewReader("<html>")); err == nil {
		t.Error("no error for a snapshot that is not JSON")
	}
}

func TestCountersSub(t *testing.T) {
	got := Counters{APIWrites: 10, MesosCalls: 5, OffersDeclined: 3, WritesByRequest: map[string]float64{"POST pods": 6, "PUT nodes/status": 4, "DELETE pods": 1}}.
		Sub(Counters{APIWrites: 4, MesosCalls: 1, OffersDeclined: 3, WritesByRequest: map[string]float64{"POST pods": 2, "DELETE pods": 1}})
	want := Counters{APIWrites: 6, MesosCalls: 4, WritesByRequest: map[string]float64{"POST pods": 4, "PUT nodes/status": 4}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Sub = %+v, want %+v", got, want)
	}
}

func TestAPIWritesByRequest(t *testing.T) {
	got, err := APIWritesByRequest(strings.NewReader(`apiserver_request_total{resource="pods",verb="POST"} 200
apiserver_request_total{code="409",resource="pods",verb="POST"} 1
apiserver_request_total{resource="pods",subresource="binding",verb="POST"} 200
apiserver_request_total{resource="nodes",subresource="status",verb="PUT"} 30
apiserver_request_total{resource="nodes",verb="GET"} 99
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"POST pods": 201, "POST pods/binding": 200, "PUT nodes/status": 30}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("APIWritesByRequest = %v, want %v", got, want)
	}
}
