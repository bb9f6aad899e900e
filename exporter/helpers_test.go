package exporter

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	"google.golang.org/grpc"
)

// otelErrors receives what OpenTelemetry components send to otel.Handle,
// for the test that installed a hook with hookOtelErrors.
var otelErrors atomic.Pointer[func(error)]

func TestMain(m *testing.M) {
	// Tests set the variables they need with setEnv: start from none.
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "OTEL_") || strings.HasPrefix(name, "RUNWAY_") {
			os.Unsetenv(name)
		}
	}
	otel.SetLogger(funcr.New(func(prefix, args string) {
		if h := otelErrors.Load(); h != nil {
			(*h)(fmt.Errorf("otel log: %s %s", prefix, args))
		}
	}, funcr.Options{Verbosity: 1})) // errors and warnings
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		if h := otelErrors.Load(); h != nil {
			(*h)(err)
		}
	}))
	os.Exit(m.Run())
}

// hookOtelErrors sends otel.Handle errors, and the errors and warnings
// that OpenTelemetry components log, to fn until the test ends. Tests
// that use it must not run in parallel.
func hookOtelErrors(t *testing.T, fn func(error)) {
	t.Helper()
	otelErrors.Store(&fn)
	t.Cleanup(func() { otelErrors.Store(nil) })
}

// setEnv sets environment variables until the test ends (an empty value
// is "not configured"). It returns noEnv, so it can stand in a list of
// options. Tests that use it must not run in parallel.
func setEnv(t testing.TB, vars map[string]string) Option {
	t.Helper()
	for k, v := range vars {
		t.Setenv(k, v)
	}
	return noEnv
}

// noEnv is an option that does nothing: TestMain has cleared the OTEL_*
// and RUNWAY_* variables, so a test that sets none runs without them.
var noEnv Option = optionFunc(func(*config) {})

// scrape GETs url and parses the Prometheus text format.
func scrape(t testing.TB, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: status %d", url, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape %s: parse: %v", url, err)
	}
	return families
}

// labels returns the labels of m as a map.
func labels(m *dto.Metric) map[string]string {
	out := make(map[string]string, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// findSeries returns the series of family name whose labels include want.
func findSeries(t testing.TB, families map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	t.Helper()
	mf, ok := families[name]
	if !ok {
		t.Fatalf("no family %q in scrape (have %v)", name, familyNames(families))
	}
next:
	for _, m := range mf.GetMetric() {
		got := labels(m)
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		return m
	}
	t.Fatalf("family %q has no series with labels %v", name, want)
	return nil
}

func familyNames(families map[string]*dto.MetricFamily) []string {
	names := make([]string, 0, len(families))
	for n := range families {
		names = append(names, n)
	}
	return names
}

// freeAddr returns a loopback address that nothing listens on right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// eventually polls cond every 10 ms until it holds or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// receiver is an OTLP/gRPC metrics collector that keeps what it receives.
type receiver struct {
	colmetricpb.UnimplementedMetricsServiceServer
	server *grpc.Server
	addr   string

	mu       sync.Mutex
	requests []*colmetricpb.ExportMetricsServiceRequest
}

// startReceiver serves the OTLP metrics service on addr ("127.0.0.1:0" for
// any free port) until the test ends.
func startReceiver(t testing.TB, addr string, opts ...grpc.ServerOption) *receiver {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("receiver: %v", err)
	}
	r := &receiver{server: grpc.NewServer(opts...), addr: ln.Addr().String()}
	colmetricpb.RegisterMetricsServiceServer(r.server, r)
	go func() { _ = r.server.Serve(ln) }()
	t.Cleanup(r.server.Stop)
	return r
}

func (r *receiver) Export(_ context.Context, req *colmetricpb.ExportMetricsServiceRequest) (*colmetricpb.ExportMetricsServiceResponse, error) {
	r.mu.Lock()
	r.requests = append(r.requests, req)
	r.mu.Unlock()
	return &colmetricpb.ExportMetricsServiceResponse{}, nil
}

// exports returns the number of export requests received.
func (r *receiver) exports() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.requests)
}

// lastSum returns the last received value of the Int64 sum named name.
func (r *receiver) lastSum(name string) (int64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.requests) - 1; i >= 0; i-- {
		for _, rm := range r.requests[i].GetResourceMetrics() {
			for _, sm := range rm.GetScopeMetrics() {
				for _, m := range sm.GetMetrics() {
					if m.GetName() == name && len(m.GetSum().GetDataPoints()) > 0 {
						return m.GetSum().GetDataPoints()[0].GetAsInt(), true
					}
				}
			}
		}
	}
	return 0, false
}

// resourceAttr returns the value of a string resource attribute of the
// first received request.
func (r *receiver) resourceAttr(key string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, req := range r.requests {
		for _, rm := range req.GetResourceMetrics() {
			for _, kv := range rm.GetResource().GetAttributes() {
				if kv.GetKey() == key {
					return kv.GetValue().GetStringValue()
				}
			}
		}
	}
	return ""
}

// The OTLP variables that the code reaches by suffix (see otlpChecks).
const (
	envOTLPHeaders                  = envOTLP + "HEADERS"
	envOTLPMetricsHeaders           = envOTLPMetrics + "HEADERS"
	envOTLPCompression              = envOTLP + "COMPRESSION"
	envOTLPMetricsCompression       = envOTLPMetrics + "COMPRESSION"
	envOTLPTimeout                  = envOTLP + "TIMEOUT"
	envOTLPMetricsTimeout           = envOTLPMetrics + "TIMEOUT"
	envOTLPInsecure                 = envOTLP + "INSECURE"
	envOTLPMetricsInsecure          = envOTLPMetrics + "INSECURE"
	envOTLPCertificate              = envOTLP + "CERTIFICATE"
	envOTLPMetricsCertificate       = envOTLPMetrics + "CERTIFICATE"
	envOTLPClientCertificate        = envOTLP + "CLIENT_CERTIFICATE"
	envOTLPMetricsClientCertificate = envOTLPMetrics + "CLIENT_CERTIFICATE"
	envOTLPClientKey                = envOTLP + "CLIENT_KEY"
	envOTLPMetricsClientKey         = envOTLPMetrics + "CLIENT_KEY"
	envTemporalityPreference        = envOTLPMetrics + "TEMPORALITY_PREFERENCE"
	envHistogramAggregation         = envOTLPMetrics + "DEFAULT_HISTOGRAM_AGGREGATION"
)

// stallMeter measures how late this process's goroutines run while it is
// on: a goroutine sleeps 5 ms at a time and keeps the longest overshoot.
// Timing assertions add it to their bound, so a busy machine (which delays
// every goroutine, the exporter's and the test's alike) does not fail them,
// while an exporter that waits for its own reasons still does.
type stallMeter struct {
	stop    chan struct{}
	done    chan struct{}
	longest atomic.Int64
}

func startStallMeter(t testing.TB) *stallMeter {
	m := &stallMeter{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		const tick = 5 * time.Millisecond
		for {
			t0 := time.Now()
			select {
			case <-m.stop:
				return
			case <-time.After(tick):
			}
			if late := time.Since(t0) - tick; late > time.Duration(m.longest.Load()) {
				m.longest.Store(int64(late))
			}
		}
	}()
	t.Cleanup(func() { m.Stop() })
	return m
}

// Longest returns the longest stall seen so far.
func (m *stallMeter) Longest() time.Duration { return time.Duration(m.longest.Load()) }

// Stop ends the measurement; it is safe to call twice.
func (m *stallMeter) Stop() {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	<-m.done
}
