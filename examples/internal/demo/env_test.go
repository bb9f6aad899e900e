package demo

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	"google.golang.org/grpc"

	"github.com/otel-runway/runway/exporter"
)

// countingCollector is an OTLP/gRPC metrics receiver that counts exports.
type countingCollector struct {
	colmetricpb.UnimplementedMetricsServiceServer
	exports atomic.Int32
}

func (c *countingCollector) Export(context.Context, *colmetricpb.ExportMetricsServiceRequest) (*colmetricpb.ExportMetricsServiceResponse, error) {
	c.exports.Add(1)
	return &colmetricpb.ExportMetricsServiceResponse{}, nil
}

func startCollector(t *testing.T) (*countingCollector, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &countingCollector{}
	srv := grpc.NewServer()
	colmetricpb.RegisterMetricsServiceServer(srv, c)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return c, "http://" + ln.Addr().String()
}

// TestDemoExportersFromEnvironment: without -otlp-endpoint the demo has
// no rule of its own; the exporter decides from the environment as it
// does for any application, and a bad value fails with the exporter's
// message.
func TestDemoExportersFromEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name       string
		env        map[string]string
		prometheus bool
		pushes     bool
	}{
		{name: "default", prometheus: true},
		{name: "endpoint variable", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "COLLECTOR"}, prometheus: true, pushes: true},
		{name: "prometheus wins over the endpoint", env: map[string]string{"OTEL_METRICS_EXPORTER": "prometheus", "OTEL_EXPORTER_OTLP_ENDPOINT": "COLLECTOR"}, prometheus: true},
		{name: "otlp only, any case", env: map[string]string{"OTEL_METRICS_EXPORTER": "OTLP", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "COLLECTOR"}, pushes: true},
		{name: "none", env: map[string]string{"OTEL_METRICS_EXPORTER": "none"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			collector, endpoint := startCollector(t)
			for k, v := range tc.env {
				if v == "COLLECTOR" {
					v = endpoint
				}
				t.Setenv(k, v)
			}
			s, err := Start(context.Background(), Config{Interval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.Get(s.URL + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.StatusCode == http.StatusOK; got != tc.prometheus || (s.MetricsURL != "") != tc.prometheus {
				t.Errorf("GET /metrics: %d, MetricsURL %q; want Prometheus %v", resp.StatusCode, s.MetricsURL, tc.prometheus)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.Shutdown(ctx); err != nil { // flushes OTLP when it is on
				t.Fatal(err)
			}
			if got := collector.exports.Load() > 0; got != tc.pushes {
				t.Errorf("collector got %d exports; want pushes %v", collector.exports.Load(), tc.pushes)
			}
		})
	}

	t.Run("a bad value fails as in the library", func(t *testing.T) {
		t.Setenv("OTEL_METRICS_EXPORTER", "otlpp")
		_, libErr := exporter.New(context.Background())
		s, err := Start(context.Background(), Config{})
		if err == nil {
			_ = s.Shutdown(context.Background())
			t.Fatal("the demo accepted OTEL_METRICS_EXPORTER=otlpp")
		}
		if libErr == nil || err.Error() != libErr.Error() {
			t.Errorf("demo: %v\nlibrary: %v", err, libErr)
		}
		t.Logf("%v", err)
	})
}
