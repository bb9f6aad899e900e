package runwaygrpc_test

import (
	"context"
	"fmt"
	"net"

	"github.com/otel-runway/runway/instrument/runwaygrpc"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/test/bufconn"
)

func ExampleNewServerHandler() {
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())

	sh, err := runwaygrpc.NewServerHandler(runwaygrpc.WithMeterProvider(provider))
	if err != nil {
		panic(err)
	}
	defer sh.Close() // after the server has stopped
	srv := grpc.NewServer(grpc.StatsHandler(sh))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lis := bufconn.Listen(1 << 16) // in memory; a net.Listener in a real server
	go srv.Serve(lis)
	defer srv.Stop()

	conn, err := grpc.NewClient("passthrough:///example",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		panic(err)
	}
	srv.GracefulStop() // the RPC has ended on the server side too

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		panic(err)
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name != "runway.requests" {
			continue
		}
		for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
			method, _ := dp.Attributes.Value(attribute.Key("rpc.method"))
			code, _ := dp.Attributes.Value(attribute.Key("rpc.response.status_code"))
			fmt.Printf("%s %s %s %d\n", m.Name, method.AsString(), code.AsString(), dp.Value)
		}
	}
	// Output:
	// runway.requests grpc.health.v1.Health/Check OK 1
}
