package podbench

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// TestCreateRetriesServerTimeouts: a create the API server answers with a
// timeout is sent again; one that landed anyway (AlreadyExists on the retry)
// counts as created; other errors end the creation at once.
func TestCreateRetriesServerTimeouts(t *testing.T) {
	pods := schema.GroupResource{Resource: "pods"}
	cases := []struct {
		name    string
		answers []error // the API server's answers to successive creates; nil: create it
		wantErr bool
		sent    int
	}{
		{"timeout then created", []error{apierrors.NewTimeoutError("request did not complete", 0), nil}, false, 2},
		{"server timeout, landed anyway", []error{apierrors.NewServerTimeout(pods, "create", 0), apierrors.NewAlreadyExists(pods, "p")}, false, 2},
		{"too many requests then created", []error{apierrors.NewTooManyRequests("slow down", 1), nil}, false, 2},
		{"already exists at first is an error", []error{apierrors.NewAlreadyExists(pods, "p")}, true, 1},
		{"forbidden is not retried", []error{apierrors.NewForbidden(pods, "p", errors.New("no"))}, true, 1},
		{"timeouts to the end", []error{apierrors.NewTimeoutError("x", 0), apierrors.NewTimeoutError("x", 0), apierrors.NewTimeoutError("x", 0), apierrors.NewTimeoutError("x", 0), apierrors.NewTimeoutError("x", 0)}, true, createAttempts},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kube := fake.NewClientset()
			sent := 0
			kube.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
				sent++
				if sent > len(tc.answers) {
					t.Fatalf("create sent %d times, answers for %d", sent, len(tc.answers))
				}
				if err := tc.answers[sent-1]; err != nil {
					return true, nil, err
				}
				return false, nil, nil
			})
			err := Create(context.Background(), Creation{Client: kube, Pods: []*corev1.Pod{Pod("default", "p", "", "r")}, Clients: 1})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if sent != tc.sent {
				t.Errorf("create sent %d times, want %d", sent, tc.sent)
			}
			if !tc.wantErr && tc.answers[len(tc.answers)-1] == nil {
				if _, err := kube.CoreV1().Pods("default").Get(context.Background(), "p", metav1.GetOptions{}); err != nil {
					t.Errorf("pod not created: %v", err)
				}
			}
		})
	}
}
