package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
)

func start(t *testing.T, workers int) (*server, *grpc.ClientConn) {
	t.Helper()
	s, err := startServer(t.Context(), serverConfig{addr: "127.0.0.1:0", metricsAddr: "127.0.0.1:0", workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.shutdown(ctx)
	})
	conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return s, conn
}

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// value returns the sample of family name whose labels include labels
// (name, value pairs), or -1.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	for _, m := range fams[name].GetMetric() {
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.GetLabel() {
				found = found || (lp.GetName() == labels[i] && lp.GetValue() == labels[i+1])
			}
			match = match && found
		}
		if !match {
			continue
		}
		if m.Gauge != nil {
			return m.GetGauge().GetValue()
		}
		return m.GetCounter().GetValue()
	}
	return -1
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestQueuedRPCsAreInFlight holds more RPCs than the server has workers:
// those working and those queued are all in flight; the stream is not.
func TestQueuedRPCsAreInFlight(t *testing.T) {
	s, conn := start(t, 2)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn.Invoke(ctx, doMethod, durationpb.New(time.Minute), new(emptypb.Empty))
		}()
	}
	watch, err := conn.NewStream(ctx, &workServiceDesc.Streams[0], watchMethod)
	if err != nil {
		t.Fatal(err)
	}
	if err := watch.SendMsg(&emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	if err := watch.RecvMsg(new(emptypb.Empty)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "5 RPCs in flight", func() bool {
		return value(scrape(t, s.metricsURL), "runway_requests_in_flight") == 5
	})
	if v := value(scrape(t, s.metricsURL), "runway_streams_in_flight"); v != 1 {
		t.Errorf("runway_streams_in_flight = %v, want 1 (the Watch stream)", v)
	}
	cancel()
	wg.Wait()
	waitFor(t, "the RPCs to end", func() bool {
		fams := scrape(t, s.metricsURL)
		return value(fams, "runway_requests_in_flight") == 0 && value(fams, "runway_streams_in_flight") == 0 &&
			value(fams, "runway_requests_total", "rpc_method", "runway.example.v1.Work/Do", "rpc_response_status_code", "CANCELLED") == 5
	})
}

func TestStatusAndUnknownMethods(t *testing.T) {
	s, conn := start(t, 2)
	for _, tc := range []struct {
		name   string
		call   func(ctx context.Context) error
		method string // rpc_method label
		want   codes.Code
		code   string // its rpc_response_status_code label
	}{
		{"ok", func(ctx context.Context) error {
			return conn.Invoke(ctx, doMethod, durationpb.New(time.Millisecond), new(emptypb.Empty))
		}, "runway.example.v1.Work/Do", codes.OK, "OK"},
		{"invalid argument", func(ctx context.Context) error {
			return conn.Invoke(ctx, doMethod, durationpb.New(time.Hour), new(emptypb.Empty))
		}, "runway.example.v1.Work/Do", codes.InvalidArgument, "INVALID_ARGUMENT"},
		{"health", func(ctx context.Context) error {
			_, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
			return err
		}, "grpc.health.v1.Health/Check", codes.OK, "OK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(t.Context()); status.Code(err) != tc.want {
				t.Fatalf("RPC returned %v, want code %v", err, tc.want)
			}
			waitFor(t, "the RPC on a scrape", func() bool {
				return value(scrape(t, s.metricsURL), "runway_requests_total", "rpc_method", tc.method, "rpc_response_status_code", tc.code) == 1
			})
		})
	}
	// A method the server does not have is answered UNIMPLEMENTED by gRPC
	// and never becomes a series.
	if err := conn.Invoke(t.Context(), "/evil.Service/Random", &emptypb.Empty{}, new(emptypb.Empty)); status.Code(err) != codes.Unimplemented {
		t.Fatalf("unknown method: %v", err)
	}
	for _, m := range scrape(t, s.metricsURL)["runway_requests_total"].GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == "rpc_method" && strings.Contains(lp.GetValue(), "evil") {
				t.Errorf("a series for an unknown method: %v", m)
			}
		}
	}
}

// TestSweep runs a short sweep against a server with 2 workers: the
// server's count of OK RPCs matches the client's, and the table is written.
func TestSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("sweeps a gRPC server for several seconds: full suite only")
	}
	s, _ := start(t, 2)
	var out bytes.Buffer
	levels, err := sweep(t.Context(), sweepConfig{
		target: s.addr, metricsURL: s.metricsURL, levels: []int{1, 2, 4},
		step: 500 * time.Millisecond, work: 20 * time.Millisecond,
	}, &out)
	if err != nil {
		t.Fatal(err)
	}
	var total int
	for _, l := range levels {
		total += l.rpcs
		if l.rpcs == 0 {
			t.Errorf("level %d made no RPC", l.concurrency)
		}
	}
	waitFor(t, "the server to count every RPC", func() bool {
		v := value(scrape(t, s.metricsURL), "runway_requests_total", "rpc_method", "runway.example.v1.Work/Do", "rpc_response_status_code", "OK")
		return int(v) >= total
	})
	if !strings.Contains(out.String(), "server in-flight") {
		t.Errorf("no table:\n%s", out.String())
	}
	t.Logf("\n%s", out.String())
}

func TestSaturation(t *testing.T) {
	ms := time.Millisecond
	type point struct {
		p95 time.Duration
		rps float64
	}
	for _, tc := range []struct {
		name   string
		points []point
		want   int
		wantOK bool
	}{
		{"latency knee after 4", []point{{20 * ms, 50}, {21 * ms, 95}, {22 * ms, 180}, {45 * ms, 350}}, 4, true},
		{"throughput flat after 2", []point{{20 * ms, 50}, {21 * ms, 95}, {38 * ms, 100}}, 2, true},
		{"still scaling", []point{{20 * ms, 50}, {21 * ms, 95}, {22 * ms, 180}}, 0, false},
		{"one level", []point{{20 * ms, 50}}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var levels []level
			for i, p := range tc.points {
				levels = append(levels, level{concurrency: 1 << i, p95: p.p95, rps: p.rps})
			}
			got, ok := saturation(levels)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("saturation = %d, %v; want %d, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
