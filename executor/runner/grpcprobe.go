package runner

import (
	"context"
	"fmt"
	"net"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// grpcCheck is the kubelet's gRPC probe: a Check call of the standard
// health service (grpc.health.v1.Health) on the pod's IP and the probe's
// port, without TLS, for the probe's service ("" asks about the server).
// It passes for SERVING; the errors carry the kubelet's messages.
func (r *instanceRun) grpcCheck(ctx context.Context, h *corev1.GRPCAction) error {
	addr := net.JoinHostPort(r.c.pod.cfg.HostIP, strconv.Itoa(int(h.Port)))
	service := ""
	if h.Service != nil {
		service = *h.Service
	}
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUserAgent("kube-probe/kubemesos"))
	if err != nil {
		return fmt.Errorf("failed to connect service %q: %w", addr, err)
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service}, grpc.WaitForReady(false))
	if err != nil {
		switch status.Code(err) {
		case codes.Unimplemented:
			return fmt.Errorf("this server does not implement the grpc health protocol (grpc.health.v1.Health): %s", status.Convert(err).Message())
		case codes.DeadlineExceeded:
			return fmt.Errorf("timeout: health rpc did not complete within the probe's timeout: %w", err)
		case codes.Unavailable:
			return fmt.Errorf("timeout: failed to connect service %q: %w", addr, err)
		}
		return fmt.Errorf("error: health rpc probe failed: %w", err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("service unhealthy (responded with %q)", resp.GetStatus().String())
	}
	return nil
}
