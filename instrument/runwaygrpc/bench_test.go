package runwaygrpc

import (
	"context"
	"github.com/otel-runway/runway/instrument"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// BenchmarkGRPCStatsHandler drives the stats handler the way a gRPC server
// does for one unary RPC (TagRPC, Begin, End), beside doing nothing: the
// handler's own cost per RPC, with a real SDK MeterProvider.
func BenchmarkGRPCStatsHandler(b *testing.B) {
	for _, conv := range []instrument.Conventions{instrument.ConventionsRunway, instrument.ConventionsOTel} {
		b.Run("conventions="+string(conv), func(b *testing.B) { benchStatsHandler(b, conv) })
	}
}

func benchStatsHandler(b *testing.B, conv instrument.Conventions) {
	m := newManual(b)
	sh, err := NewServerHandler(WithMeterProvider(m.provider), WithConventions(conv))
	if err != nil {
		b.Fatal(err)
	}
	info := &stats.RPCTagInfo{FullMethodName: "/" + unaryMethod}
	begin := &stats.Begin{BeginTime: time.Now()}
	end := &stats.End{BeginTime: begin.BeginTime, EndTime: begin.BeginTime.Add(time.Millisecond)}
	endErr := &stats.End{BeginTime: begin.BeginTime, EndTime: end.EndTime, Error: status.Error(5, "not found")}
	ctx := context.Background()
	rpc := func(end *stats.End) {
		c := sh.TagRPC(ctx, info)
		sh.HandleRPC(c, begin)
		sh.HandleRPC(c, end)
	}
	b.Run("ok", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rpc(end)
		}
	})
	b.Run("error", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rpc(endErr)
		}
	})
	b.Run("ok_parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				rpc(end)
			}
		})
	})
}

// BenchmarkGRPCUnary makes real unary RPCs over an in-memory connection
// (bufconn) to a server without a stats handler, with one that does
// nothing (what gRPC itself spends on stats events), and with runway's.
func BenchmarkGRPCUnary(b *testing.B) {
	for _, name := range []string{"bare", "noop_stats_handler", "runway"} {
		b.Run(name, func(b *testing.B) {
			var opts []grpc.ServerOption
			switch name {
			case "noop_stats_handler":
				opts = append(opts, grpc.StatsHandler(noopStatsHandler{}))
			case "runway":
				sh, err := NewServerHandler(WithMeterProvider(newManual(b).provider))
				if err != nil {
					b.Fatal(err)
				}
				opts = append(opts, grpc.StatsHandler(sh))
			}
			client := bufconnClient(b, opts...)
			ctx := context.Background()
			req := &testpb.Empty{}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := client.EmptyCall(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func bufconnClient(b *testing.B, opts ...grpc.ServerOption) testpb.TestServiceClient {
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(opts...)
	testpb.RegisterTestServiceServer(srv, newTestService())
	go srv.Serve(lis)
	b.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return testpb.NewTestServiceClient(conn)
}

// noopStatsHandler is a stats.Handler that does nothing.
type noopStatsHandler struct{}

func (noopStatsHandler) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (noopStatsHandler) HandleRPC(context.Context, stats.RPCStats)                       {}
func (noopStatsHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (noopStatsHandler) HandleConn(context.Context, stats.ConnStats) {}
