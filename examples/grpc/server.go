package main

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/otel-runway/runway/exporter"
	"github.com/otel-runway/runway/instrument/runwaygrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

type serverConfig struct {
	addr        string // gRPC listen address
	metricsAddr string // Prometheus /metrics listen address
	workers     int
}

// server is the example's gRPC server and its metrics listener.
type server struct {
	grpc       *grpc.Server
	exp        *exporter.Exporter
	addr       string // bound gRPC address
	metricsURL string
	served     chan error
}

// startServer serves the Work service (and gRPC health) with runway's
// stats handler, and its metrics on a separate Prometheus listener.
func startServer(ctx context.Context, cfg serverConfig) (*server, error) {
	exp, err := exporter.New(ctx, exporter.WithPrometheus(), exporter.WithMetricsAddr(cfg.metricsAddr),
		exporter.WithServiceName("runway-grpc-example"))
	if err != nil {
		return nil, err
	}
	sh, err := runwaygrpc.NewServerHandler(
		runwaygrpc.WithMeterProvider(exp.MeterProvider()),
		// The methods the server has: the Work service and health.
		runwaygrpc.WithServices(&workServiceDesc, &healthpb.Health_ServiceDesc),
	)
	if err != nil {
		return nil, errors.Join(err, exp.Shutdown(ctx))
	}
	lis, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return nil, errors.Join(err, exp.Shutdown(ctx))
	}
	gs := grpc.NewServer(grpc.StatsHandler(sh))
	gs.RegisterService(&workServiceDesc, newWorkServer(cfg.workers))
	healthpb.RegisterHealthServer(gs, health.NewServer())
	s := &server{
		grpc: gs, exp: exp, addr: lis.Addr().String(),
		metricsURL: fmt.Sprintf("http://%s%s", exp.MetricsAddr(), exporter.MetricsPath),
		served:     make(chan error, 1),
	}
	go func() { s.served <- gs.Serve(lis) }()
	return s, nil
}

// shutdown lets RPCs in flight finish (streams are cut when ctx ends),
// then flushes and stops the exporter.
func (s *server) shutdown(ctx context.Context) error {
	stopped := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-ctx.Done():
		s.grpc.Stop()
	}
	return s.exp.Shutdown(ctx)
}
