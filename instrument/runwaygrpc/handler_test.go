package runwaygrpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otel-runway/runway/instrument"
	"github.com/otel-runway/runway/instrument/internal/contract"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

const (
	unaryMethod  = "grpc.testing.TestService/UnaryCall"
	emptyMethod  = "grpc.testing.TestService/EmptyCall"
	duplexMethod = "grpc.testing.TestService/FullDuplexCall"
	modeKey      = "x-test-mode" // metadata key selecting what UnaryCall does
)

// testService is the interop TestService with a UnaryCall that holds,
// panics or fails as the request asks, and a FullDuplexCall that echoes
// until the client closes.
type testService struct {
	testpb.UnimplementedTestServiceServer
	entered chan struct{} // one value per RPC that starts holding
	release chan struct{} // closed to let held RPCs return
}

func newTestService() *testService {
	return &testService{entered: make(chan struct{}, 64), release: make(chan struct{})}
}

func (s *testService) EmptyCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	return &testpb.Empty{}, nil
}

func (s *testService) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if st := req.GetResponseStatus(); st != nil && st.GetCode() != 0 {
		return nil, status.Error(codes.Code(st.GetCode()), st.GetMessage())
	}
	md, _ := metadata.FromIncomingContext(ctx)
	switch mode := md.Get(modeKey); {
	case len(mode) == 0:
	case mode[0] == "hold":
		s.entered <- struct{}{}
		select {
		case <-s.release:
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	case mode[0] == "panic":
		panic("handler panic")
	}
	return &testpb.SimpleResponse{}, nil
}

func (s *testService) FullDuplexCall(stream testpb.TestService_FullDuplexCallServer) error {
	s.entered <- struct{}{}
	for {
		if _, err := stream.Recv(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// recoverUnary turns a handler panic into an INTERNAL error, as recovery
// interceptors do.
func recoverUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = status.Errorf(codes.Internal, "panic: %v", p)
		}
	}()
	return next(ctx, req)
}

type grpcFixture struct {
	svc    *testService
	conn   *grpc.ClientConn
	client testpb.TestServiceClient
}

// startGRPC serves the test service on a loopback port with a stats
// handler built from opts on mp, and returns a client.
// The client carries the same stats handler, which must ignore it.
func startGRPC(t *testing.T, mp metric.MeterProvider, opts []Option, serverOpts ...grpc.ServerOption) *grpcFixture {
	t.Helper()
	sh, err := NewServerHandler(append([]Option{WithMeterProvider(mp)}, opts...)...)
	if err != nil {
		t.Fatalf("NewServerHandler: %v", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(append([]grpc.ServerOption{grpc.StatsHandler(sh), grpc.UnaryInterceptor(recoverUnary)}, serverOpts...)...)
	svc := newTestService()
	testpb.RegisterTestServiceServer(srv, svc)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithStatsHandler(sh))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &grpcFixture{svc: svc, conn: conn, client: testpb.NewTestServiceClient(conn)}
}

func withMode(ctx context.Context, mode string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, modeKey, mode)
}

func rpcAttrs(method, code string) []attribute.KeyValue {
	return []attribute.KeyValue{rpcSystemKey.String("grpc"), rpcMethodKey.String(method), rpcStatusCodeKey.String(code)}
}

// streamsInFlight reads runway.streams.in_flight through the manual reader.
func (m *manual) streamsInFlight(t testing.TB) int64 {
	t.Helper()
	v, _ := sumValue(m.collect(t), streamsInFlightName)
	return v
}

func TestGRPCUnaryInFlight(t *testing.T) {
	const n = 5
	m := newManual(t)
	f := startGRPC(t, m.provider, nil)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.client.UnaryCall(withMode(t.Context(), "hold"), &testpb.SimpleRequest{})
			errs <- err
		}()
	}
	for range n {
		<-f.svc.entered
	}
	if got := m.inFlight(t); got != n {
		t.Errorf("in flight with %d RPCs held = %d, want %d (the client side must not count)", n, got, n)
	}
	if got := m.streamsInFlight(t); got != 0 {
		t.Errorf("streams in flight = %d, want 0", got)
	}
	close(f.svc.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("RPC: %v", err)
		}
	}
	waitFor(t, "in flight to return to 0", func() bool { return m.inFlight(t) == 0 })
	rm := m.collect(t)
	if v, ok := sumValue(rm, requestsName, rpcAttrs(unaryMethod, "OK")...); !ok || v != n {
		t.Errorf("runway.requests{UnaryCall,OK} = %d (present %v), want %d", v, ok, n)
	}
	if pts := sumPoints(rm, requestsName); pts != 1 {
		t.Errorf("runway.requests has %d points, want 1", pts)
	}
	dp, ok := histPoint(rm, durationName, rpcSystemKey.String("grpc"), rpcMethodKey.String(unaryMethod))
	if !ok || dp.Count != n {
		t.Errorf("duration count = %d (present %v), want %d", dp.Count, ok, n)
	}
	if ok && dp.Sum <= 0 {
		t.Errorf("duration sum = %v, want > 0", dp.Sum)
	}
}

func TestGRPCCancelledAndDeadlineExceeded(t *testing.T) {
	for _, tc := range []struct {
		name string
		call func(ctx context.Context, client testpb.TestServiceClient, entered <-chan struct{}) error
		// codes the server may record: when the client's deadline
		// passes, the client resets the stream, usually before the
		// server's own copy of the deadline fires.
		codes []string
	}{
		{"cancelled", func(ctx context.Context, client testpb.TestServiceClient, entered <-chan struct{}) error {
			ctx, cancel := context.WithCancel(ctx)
			go func() { <-entered; cancel() }()
			_, err := client.UnaryCall(withMode(ctx, "hold"), &testpb.SimpleRequest{})
			return err
		}, []string{"CANCELLED"}},
		{"deadline exceeded", func(ctx context.Context, client testpb.TestServiceClient, entered <-chan struct{}) error {
			ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancel()
			_, err := client.UnaryCall(withMode(ctx, "hold"), &testpb.SimpleRequest{})
			return err
		}, []string{"DEADLINE_EXCEEDED", "CANCELLED"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManual(t)
			f := startGRPC(t, m.provider, nil)
			if err := tc.call(t.Context(), f.client, f.svc.entered); err == nil {
				t.Fatal("the RPC succeeded")
			}
			waitFor(t, "the RPC to be counted", func() bool {
				return len(rpcCounts(m.collect(t))) > 0
			})
			rm := m.collect(t)
			var n int64
			for _, code := range tc.codes {
				v, _ := sumValue(rm, requestsName, rpcAttrs(unaryMethod, code)...)
				n += v
			}
			if n != 1 || sumPoints(rm, requestsName) != 1 {
				t.Errorf("runway.requests{UnaryCall} with a code in %v = %d, want exactly 1 point of 1", tc.codes, n)
			}
			if got := m.inFlight(t); got != 0 {
				t.Errorf("in flight = %d, want 0", got)
			}
		})
	}
}

func TestGRPCStatusCodes(t *testing.T) {
	m := newManual(t)
	f := startGRPC(t, m.provider, nil)
	for _, tc := range []struct {
		name string
		code codes.Code
		want string
	}{
		{"not found", codes.NotFound, "NOT_FOUND"},
		{"invalid argument", codes.InvalidArgument, "INVALID_ARGUMENT"},
		{"resource exhausted", codes.ResourceExhausted, "RESOURCE_EXHAUSTED"},
		{"unauthenticated", codes.Unauthenticated, "UNAUTHENTICATED"},
		{"deadline exceeded by the handler", codes.DeadlineExceeded, "DEADLINE_EXCEEDED"},
		{"unimplemented by the handler", codes.Unimplemented, "UNIMPLEMENTED"},
		{"code outside the table", codes.Code(99), "UNKNOWN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.client.UnaryCall(t.Context(), &testpb.SimpleRequest{
				ResponseStatus: &testpb.EchoStatus{Code: int32(tc.code), Message: "x"},
			})
			if status.Code(err) != tc.code {
				t.Fatalf("RPC error %v, want code %v", err, tc.code)
			}
			waitFor(t, "the RPC to be counted", func() bool {
				v, _ := sumValue(m.collect(t), requestsName, rpcAttrs(unaryMethod, tc.want)...)
				return v == 1
			})
		})
	}
	if got := m.inFlight(t); got != 0 {
		t.Errorf("in flight = %d, want 0", got)
	}
}

func TestGRPCPanicWithRecoveryDoesNotLeak(t *testing.T) {
	m := newManual(t)
	f := startGRPC(t, m.provider, nil)
	for range 3 {
		_, err := f.client.UnaryCall(withMode(t.Context(), "panic"), &testpb.SimpleRequest{})
		if status.Code(err) != codes.Internal {
			t.Fatalf("RPC error %v, want INTERNAL from the recovery interceptor", err)
		}
	}
	waitFor(t, "the RPCs to be counted", func() bool {
		v, _ := sumValue(m.collect(t), requestsName, rpcAttrs(unaryMethod, "INTERNAL")...)
		return v == 3
	})
	if got := m.inFlight(t); got != 0 {
		t.Errorf("in flight after panics = %d, want 0", got)
	}
}

func TestGRPCStreams(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		opts                      []Option
		wantRequests, wantStreams int64
	}{
		{"kept out of the requests in flight", nil, 0, 1},
		{"as requests", []Option{WithoutStreams()}, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManual(t)
			f := startGRPC(t, m.provider, tc.opts)
			stream, err := f.client.FullDuplexCall(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			<-f.svc.entered
			rm := m.collect(t)
			if v, _ := sumValue(rm, inFlightName); v != tc.wantRequests {
				t.Errorf("requests in flight with a stream open = %d, want %d", v, tc.wantRequests)
			}
			if v, _ := sumValue(rm, streamsInFlightName); v != tc.wantStreams {
				t.Errorf("streams in flight with a stream open = %d, want %d", v, tc.wantStreams)
			}
			if err := stream.CloseSend(); err != nil {
				t.Fatal(err)
			}
			if _, err := stream.Recv(); err != io.EOF {
				t.Fatalf("stream end: %v", err)
			}
			waitFor(t, "the stream to be counted", func() bool {
				v, _ := sumValue(m.collect(t), requestsName, rpcAttrs(duplexMethod, "OK")...)
				return v == 1
			})
			rm = m.collect(t)
			for _, name := range []string{inFlightName, streamsInFlightName} {
				if v, _ := sumValue(rm, name); v != 0 {
					t.Errorf("%s after the stream = %d, want 0", name, v)
				}
			}
			sm, ok := findMetric(rm, streamsInFlightName)
			if tc.wantStreams == 0 {
				if ok {
					t.Errorf("%s created with WithoutStreams", streamsInFlightName)
				}
			} else if sm.Unit != "{stream}" || sm.Description != contract.StreamsInFlightDescription {
				t.Errorf("%s unit %q description %q", streamsInFlightName, sm.Unit, sm.Description)
			}
		})
	}
}

// unknownHandler serves every method the server does not have.
func unknownHandler(any, grpc.ServerStream) error {
	return status.Error(codes.NotFound, "proxied nowhere")
}

func TestGRPCMethodsAreBounded(t *testing.T) {
	// invoke calls method; whether it fails does not matter here.
	invoke := func(t *testing.T, conn *grpc.ClientConn, method string) {
		_ = conn.Invoke(t.Context(), method, &testpb.Empty{}, &testpb.Empty{})
	}
	for _, tc := range []struct {
		name       string
		opts       []Option
		serverOpts []grpc.ServerOption
		// calls are made to these methods after one EmptyCall.
		calls []string
		want  map[string]int64 // rpc.method → count, every code
	}{
		{
			name:  "learned: methods the server lacks are not dispatched, not counted",
			calls: []string{"/evil.Service/A", "/evil.Service/B", "/grpc.testing.TestService/Nope"},
			want:  map[string]int64{emptyMethod: 1},
		},
		{
			name:       "unknown service handler with the services given",
			opts:       []Option{WithServices(&testpb.TestService_ServiceDesc)},
			serverOpts: []grpc.ServerOption{grpc.UnknownServiceHandler(unknownHandler)},
			calls:      []string{"/evil.Service/A", "/evil.Service/B"},
			want:       map[string]int64{emptyMethod: 1, "_OTHER": 2},
		},
		{
			name:       "unknown service handler with the methods given",
			opts:       []Option{WithMethods("/" + emptyMethod)},
			serverOpts: []grpc.ServerOption{grpc.UnknownServiceHandler(unknownHandler)},
			calls:      []string{"/evil.Service/A", "/" + unaryMethod},
			want:       map[string]int64{emptyMethod: 1, "_OTHER": 2},
		},
		{
			name:       "unknown service handler, learning bounded",
			opts:       []Option{WithMaxMethods(2)},
			serverOpts: []grpc.ServerOption{grpc.UnknownServiceHandler(unknownHandler)},
			calls:      []string{"/evil.Service/A", "/evil.Service/B", "/evil.Service/C", "/evil.Service/A"},
			want:       map[string]int64{emptyMethod: 1, "evil.Service/A": 2, "_OTHER": 2},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManual(t)
			f := startGRPC(t, m.provider, tc.opts, tc.serverOpts...)
			if _, err := f.client.EmptyCall(t.Context(), &testpb.Empty{}); err != nil {
				t.Fatal(err)
			}
			for _, c := range tc.calls {
				invoke(t, f.conn, c)
			}
			var total int64
			for _, n := range tc.want {
				total += n
			}
			var got map[string]int64
			waitFor(t, "every dispatched RPC to be counted", func() bool {
				got = rpcCounts(m.collect(t))
				var sum int64
				for _, n := range got {
					sum += n
				}
				return sum >= total
			})
			if !maps.Equal(got, tc.want) {
				t.Errorf("runway.requests by rpc.method = %v, want %v", got, tc.want)
			}
			if v := m.inFlight(t); v != 0 {
				t.Errorf("in flight = %d, want 0", v)
			}
		})
	}
}

func TestGRPCInvalidOptions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []Option
		option string
		detail string
	}{
		{"nil provider", []Option{WithMeterProvider(nil)}, "WithMeterProvider", "nil"},
		{"no buckets", []Option{WithDurationBuckets()}, "WithDurationBuckets", "no boundaries"},
		{"method without slash", []Option{WithMethods("/a.B/C", "a.B/C")}, "WithMethods", "entry 1"},
		{"method without method name", []Option{WithMethods("/a.B/")}, "WithMethods", "entry 0"},
		{"method without service", []Option{WithMethods("//C")}, "WithMethods", "entry 0"},
		{"nil service", []Option{WithServices(&testpb.TestService_ServiceDesc, nil)}, "WithServices", "entry 1"},
		{"zero max methods", []Option{WithMaxMethods(0)}, "WithMaxMethods", "0"},
		{"unknown conventions", []Option{WithConventions("semconv")}, "WithConventions", `"semconv"`},
		{"max methods with a fixed list", []Option{WithMethods("/a.B/C"), WithMaxMethods(10)}, "WithMaxMethods", "WithMethods"},
		{"max methods with services", []Option{WithMaxMethods(10), WithServices(&testpb.TestService_ServiceDesc)}, "WithMaxMethods", "WithServices"},
		{"buckets without a histogram", []Option{WithConventions(instrument.ConventionsOTelActive), WithDurationBuckets(1)}, "WithDurationBuckets", "otel-active"},
		{"every bad option", []Option{WithMeterProvider(nil), WithMaxMethods(0), WithConventions("x")}, "WithMeterProvider", "WithConventions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := NewServerHandler(tc.opts...)
			if err == nil {
				t.Fatal("no error")
			}
			if h != nil {
				t.Error("a handler was returned with the error")
			}
			if !errors.Is(err, instrument.ErrInvalidOption) {
				t.Errorf("error %v does not wrap ErrInvalidOption", err)
			}
			if !strings.Contains(err.Error(), tc.option) || !strings.Contains(err.Error(), tc.detail) {
				t.Errorf("error %q does not name %s and %q", err, tc.option, tc.detail)
			}
		})
	}
}

// TestHTTPAndGRPCInFlightAddUp serves HTTP and gRPC from one process on
// one MeterProvider and reads a real Prometheus scrape: one
// runway_requests_in_flight total, and both kinds of series in
// runway_requests_total.
func TestHTTPAndGRPCInFlightAddUp(t *testing.T) {
	s := newScraped(t)
	f := startGRPC(t, s.provider, nil)

	httpEntered := make(chan struct{}, 2)
	httpRelease := make(chan struct{})
	h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpEntered <- struct{}{}
		<-httpRelease
	}), instrument.WithMeterProvider(s.provider))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := srv.Client().Get(srv.URL + "/work")
			if err == nil {
				resp.Body.Close()
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.client.UnaryCall(withMode(t.Context(), "hold"), &testpb.SimpleRequest{})
		}()
	}
	for range 2 {
		<-httpEntered
		<-f.svc.entered
	}
	fams := s.scrape(t)
	if v, ok := promValue(fams, "runway_requests_in_flight"); !ok || v != 4 {
		t.Errorf("runway_requests_in_flight = %v (present %v), want 4 (2 HTTP + 2 gRPC)", v, ok)
	}
	if n := len(fams["runway_requests_in_flight"].GetMetric()); n != 1 {
		t.Errorf("runway_requests_in_flight has %d series, want 1", n)
	}
	close(httpRelease)
	close(f.svc.release)
	wg.Wait()

	waitFor(t, "every request to be counted", func() bool {
		fams = s.scrape(t)
		g, _ := promValue(fams, "runway_requests_total", "rpc_method", unaryMethod)
		h, _ := promValue(fams, "runway_requests_total", "http_request_method", "GET")
		return g == 2 && h == 2
	})
	if v, _ := promValue(fams, "runway_requests_in_flight"); v != 0 {
		t.Errorf("runway_requests_in_flight after = %v, want 0", v)
	}
	if _, ok := promValue(fams, "runway_requests_total",
		"rpc_system_name", "grpc", "rpc_method", unaryMethod, "rpc_response_status_code", "OK"); !ok {
		t.Errorf("no runway_requests_total series with the RPC labels: %v", fams["runway_requests_total"])
	}
	hist := fams["runway_request_duration_seconds"]
	found := false
	for _, mm := range hist.GetMetric() {
		if hasLabels(mm, []string{"rpc_method", unaryMethod}) && mm.GetHistogram().GetSampleCount() == 2 {
			found = true
		}
	}
	if !found {
		t.Errorf("no runway_request_duration_seconds series for %s with 2 samples", unaryMethod)
	}
}

// rpcCounts sums runway.requests by rpc.method, over every status code.
func rpcCounts(rm metricdata.ResourceMetrics) map[string]int64 {
	got := map[string]int64{}
	sm, ok := findMetric(rm, requestsName)
	if !ok {
		return got
	}
	for _, dp := range sm.Data.(metricdata.Sum[int64]).DataPoints {
		if v, ok := dp.Attributes.Value(rpcMethodKey); ok {
			got[v.AsString()] += dp.Value
		}
	}
	return got
}

// floatSum returns the value of the Float64 sum named name (no
// attributes).
func floatSum(t *testing.T, m *manual, name string) float64 {
	t.Helper()
	mm, ok := findMetric(m.collect(t), name)
	if !ok {
		t.Fatalf("%s not reported", name)
	}
	var v float64
	for _, dp := range mm.Data.(metricdata.Sum[float64]).DataPoints {
		v += dp.Value
	}
	return v
}

// TestGRPCUnaryInFlightTime holds unary RPCs and checks that they accrue
// in runway.requests.in_flight_time, so that its rate is the average of
// runway.requests.in_flight: while n RPCs are held between two instants
// the counter grows by at least n times the time between them, and in
// all by no more than n times the time the client spent calling.
func TestGRPCUnaryInFlightTime(t *testing.T) {
	const n = 3
	m := newManual(t)
	f := startGRPC(t, m.provider, nil)
	var wg sync.WaitGroup
	callStart := time.Now()
	for range n {
		wg.Go(func() {
			f.client.UnaryCall(withMode(t.Context(), "hold"), &testpb.SimpleRequest{})
		})
	}
	for range n {
		<-f.svc.entered
	}
	// The collections read their clock between these readings: heldFrom
	// after the first, heldTo before the second, so the held span is a
	// lower bound of the span between the two collections.
	v0 := floatSum(t, m, inFlightTimeName)
	heldFrom := time.Now()
	time.Sleep(20 * time.Millisecond) // some time in flight to measure
	heldTo := time.Now()
	v1 := floatSum(t, m, inFlightTimeName)
	close(f.svc.release)
	wg.Wait()
	callTime := time.Since(callStart)
	waitFor(t, "in flight to return to 0", func() bool { return m.inFlight(t) == 0 })
	final := floatSum(t, m, inFlightTimeName)
	// One tick (16.4 µs) of rounding per RPC end and start.
	const tick = 2 * 16.384e-6
	if min := n * heldTo.Sub(heldFrom).Seconds(); v1-v0 < min-n*tick {
		t.Errorf("in_flight_time grew by %.6f s while %d RPCs were held %.6f s: want at least %.6f", v1-v0, n, heldTo.Sub(heldFrom).Seconds(), min)
	}
	if max := n * callTime.Seconds(); final > max+n*tick {
		t.Errorf("in_flight_time = %.6f s, more than %d RPCs × %.6f s the client spent calling", final, n, callTime.Seconds())
	}
	if again := floatSum(t, m, inFlightTimeName); again != final {
		t.Errorf("in_flight_time moved from %v to %v with nothing in flight", final, again)
	}
}

// TestServerHandlerClose checks that a closed handler's series are no
// longer reported.
func TestServerHandlerClose(t *testing.T) {
	m := newManual(t)
	sh, err := NewServerHandler(WithMeterProvider(m.provider))
	if err != nil {
		t.Fatal(err)
	}
	ctx := sh.TagRPC(context.Background(), &stats.RPCTagInfo{FullMethodName: "/" + unaryMethod})
	now := time.Now()
	sh.HandleRPC(ctx, &stats.Begin{BeginTime: now})
	sh.HandleRPC(ctx, &stats.End{BeginTime: now, EndTime: now.Add(time.Millisecond)})
	if v, _ := sumValue(m.collect(t), requestsName, rpcAttrs(unaryMethod, "OK")...); v != 1 {
		t.Fatalf("before Close: runway.requests = %d, want 1", v)
	}
	if err := sh.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sh.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	rm := m.collect(t)
	for _, name := range []string{requestsName, inFlightName, inFlightTimeName, streamsInFlightName} {
		if mm, ok := findMetric(rm, name); ok {
			if s, ok := mm.Data.(metricdata.Sum[int64]); ok && len(s.DataPoints) > 0 {
				t.Errorf("%s still reported after Close", name)
			}
			if s, ok := mm.Data.(metricdata.Sum[float64]); ok && len(s.DataPoints) > 0 {
				t.Errorf("%s still reported after Close", name)
			}
		}
	}
}

// TestSeriesBound finishes RPCs of 200 methods with each of the 17 codes
// (3,400 combinations): runway.requests stops at 1,999 series and one
// overflow series, and still counts every RPC.
func TestSeriesBound(t *testing.T) {
	m := newManual(t)
	sh, err := NewServerHandler(WithMeterProvider(m.provider), WithMaxMethods(5000))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sh.Close() })
	now := time.Now()
	total := 0
	for i := range 200 {
		info := &stats.RPCTagInfo{FullMethodName: fmt.Sprintf("/svc.S/M%d", i)}
		for code := range numGRPCCodes {
			ctx := sh.TagRPC(context.Background(), info)
			sh.HandleRPC(ctx, &stats.Begin{BeginTime: now})
			sh.HandleRPC(ctx, &stats.End{BeginTime: now, EndTime: now, Error: status.Error(codes.Code(code), "x")})
			total++
		}
	}
	mm, ok := findMetric(m.collect(t), requestsName)
	if !ok {
		t.Fatal("no runway.requests")
	}
	points := mm.Data.(metricdata.Sum[int64]).DataPoints
	if len(points) != 2000 {
		t.Errorf("runway.requests has %d series, want 2000", len(points))
	}
	var sum, overflow int64
	for _, dp := range points {
		sum += dp.Value
		if v, ok := dp.Attributes.Value("otel.metric.overflow"); ok && v.AsBool() {
			overflow = dp.Value
		}
	}
	if sum != int64(total) || overflow != int64(total-1999) {
		t.Errorf("sum %d, overflow %d; want %d and %d", sum, overflow, total, total-1999)
	}
}

// TestServerHandlerCloseStopsRecording closes a handler while an RPC is
// running, then lets it finish and sends more through the same server:
// the duration histograms stay at what was recorded before Close.
func TestServerHandlerCloseStopsRecording(t *testing.T) {
	m := newManual(t)
	sh, err := NewServerHandler(WithMeterProvider(m.provider), WithConventions("both"))
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.StatsHandler(sh))
	svc := newTestService()
	testpb.RegisterTestServiceServer(srv, svc)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	client := testpb.NewTestServiceClient(conn)
	ctx := t.Context()
	for range 2 {
		if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	held := make(chan error, 1)
	go func() {
		_, err := client.UnaryCall(withMode(ctx, "hold"), &testpb.SimpleRequest{})
		held <- err
	}()
	<-svc.entered
	counts := func() (runwayCount, otelCount uint64) {
		rm := m.collect(t)
		if dp, ok := histPoint(rm, durationName, rpcSystemKey.String("grpc"), rpcMethodKey.String(unaryMethod)); ok {
			runwayCount = dp.Count
		}
		if mm, ok := findMetric(rm, rpcDurationName); ok {
			for _, dp := range mm.Data.(metricdata.Histogram[float64]).DataPoints {
				otelCount += dp.Count
			}
		}
		return
	}
	if r, o := counts(); r != 2 || o != 2 {
		t.Fatalf("before Close: duration counts %d (runway), %d (otel), want 2 and 2", r, o)
	}
	if err := sh.Close(); err != nil {
		t.Fatal(err)
	}
	close(svc.release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if r, o := counts(); r != 2 || o != 2 {
		t.Errorf("after Close: duration counts %d (runway), %d (otel), want them to stay at 2: a closed handler records nothing", r, o)
	}
}

// TestGRPCWithoutInFlightTime: the gRPC handler has the HTTP middleware's
// opt-out of runway.requests.in_flight_time.
func TestGRPCWithoutInFlightTime(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
		want bool
	}{
		{"default", nil, true},
		{"off", []Option{WithoutInFlightTime()}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManual(t)
			f := startGRPC(t, m.provider, tc.opts)
			if _, err := f.client.UnaryCall(t.Context(), &testpb.SimpleRequest{}); err != nil {
				t.Fatal(err)
			}
			rm := m.collect(t)
			if _, ok := findMetric(rm, inFlightTimeName); ok != tc.want {
				t.Errorf("%s reported: %v, want %v", inFlightTimeName, ok, tc.want)
			}
			if v, _ := sumValue(rm, requestsName, rpcAttrs(unaryMethod, "OK")...); v != 1 {
				t.Errorf("runway.requests = %d, want 1", v)
			}
		})
	}
}
