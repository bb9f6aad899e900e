package instrument_test

import (
	"context"
	"fmt"
	"net"

	"github.com/otel-runway/runway/instrument"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/test/bufconn"
)

func ExampleNewGRPCStatsHandler() {
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())

	sh, err := instrument.NewGRPCStatsHandler(instrument.WithMeterProvider(provider))
	if err != nil {
		panic(err)
	}
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
		if m.Name != instrument.RequestsName {
			continue
		}
		for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
			method, _ := dp.Attributes.Value(instrument.RPCMethodKey)
			code, _ := dp.Attributes.Value(instrument.RPCStatusCodeKey)
			fmt.Printf("%s %s %s %d\n", m.Name, method.AsString(), code.AsString(), dp.Value)
		}
	}
	// Output:
	// runway.requests grpc.health.v1.Health/Check OK 1
}
