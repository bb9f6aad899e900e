package exporter

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// newPrometheus builds an Exporter with Prometheus only and an empty
// environment, shut down when the test ends.
func newPrometheus(t *testing.T, opts ...Option) *Exporter {
	t.Helper()
	e, err := New(context.Background(), append([]Option{noEnv, WithPrometheus()}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = e.Shutdown(context.Background()) })
	return e
}

// serveMetrics serves e's metrics handler on a test server and returns the
// /metrics URL.
func serveMetrics(t *testing.T, e *Exporter) string {
	t.Helper()
	srv := httptest.NewServer(e.MetricsHandler())
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics"
}

// recordContract records, through e's MeterProvider, one value on
// instruments with the names, units and kinds of runway's metric contract.
func recordContract(t *testing.T, e *Exporter) {
	t.Helper()
	meter := e.MeterProvider().Meter("contract-test")
	inFlight, err := meter.Int64UpDownCounter("runway.requests.in_flight", metric.WithUnit("{request}"))
	if err != nil {
		t.Fatal(err)
	}
	byRoute, err := meter.Int64UpDownCounter("runway.requests.in_flight_by_route", metric.WithUnit("{request}"))
	if err != nil {
		t.Fatal(err)
	}
	requests, err := meter.Int64Counter("runway.requests", metric.WithUnit("{request}"))
	if err != nil {
		t.Fatal(err)
	}
	duration, err := meter.Float64Histogram("runway.request.duration", metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.1, 1))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	inFlight.Add(ctx, 3)
	byRoute.Add(ctx, 2, metric.WithAttributes(attribute.String("http.route", "inference")))
	requests.Add(ctx, 5, metric.WithAttributes(
		attribute.String("http.request.method", "GET"), attribute.Int("http.response.status_code", 200)))
	duration.Record(ctx, 0.05, metric.WithAttributes(attribute.String("http.request.method", "GET")))
}

func TestPrometheusNames(t *testing.T) {
	e := newPrometheus(t, WithServiceName("checkout"), WithServiceInstanceID("pod-1"))
	recordContract(t, e)
	families := scrape(t, serveMetrics(t, e))

	tests := []struct {
		name   string
		kind   dto.MetricType
		labels map[string]string
		value  func(*dto.Metric) float64
		want   float64
	}{
		{"runway_requests_in_flight", dto.MetricType_GAUGE, nil,
			func(m *dto.Metric) float64 { return m.GetGauge().GetValue() }, 3},
		{"runway_requests_in_flight_by_route", dto.MetricType_GAUGE, map[string]string{"http_route": "inference"},
			func(m *dto.Metric) float64 { return m.GetGauge().GetValue() }, 2},
		{"runway_requests_total", dto.MetricType_COUNTER,
			map[string]string{"http_request_method": "GET", "http_response_status_code": "200"},
			func(m *dto.Metric) float64 { return m.GetCounter().GetValue() }, 5},
		{"runway_request_duration_seconds", dto.MetricType_HISTOGRAM, map[string]string{"http_request_method": "GET"},
			func(m *dto.Metric) float64 { return float64(m.GetHistogram().GetSampleCount()) }, 1},
		{"target_info", dto.MetricType_GAUGE,
			map[string]string{"service_name": "checkout", "service_instance_id": "pod-1", "telemetry_sdk_language": "go"},
			func(m *dto.Metric) float64 { return m.GetGauge().GetValue() }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := families[tt.name].GetType(); got != tt.kind {
				t.Fatalf("type = %v, want %v", got, tt.kind)
			}
			m := findSeries(t, families, tt.name, tt.labels)
			if got := tt.value(m); got != tt.want {
				t.Errorf("value = %v, want %v", got, tt.want)
			}
			if tt.name != "target_info" && labels(m)["otel_scope_name"] != "contract-test" {
				t.Errorf("otel_scope_name = %q, want contract-test", labels(m)["otel_scope_name"])
			}
		})
	}
}

func TestPrometheusFromProcessEnv(t *testing.T) {
	// The SDK's resource code and the semconv version used here must agree,
	// or building the resource fails with a schema URL conflict.
	t.Setenv("OTEL_METRICS_EXPORTER", "prometheus")
	t.Setenv("OTEL_SERVICE_NAME", "from-env")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=staging,service.instance.id=pod-9")
	e, err := New(context.Background())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = e.Shutdown(context.Background()) })
	if e.MetricsHandler() == nil {
		t.Fatal("OTEL_METRICS_EXPORTER=prometheus: no metrics handler")
	}
	recordContract(t, e)
	families := scrape(t, serveMetrics(t, e))
	findSeries(t, families, "target_info", map[string]string{
		"service_name":                "from-env",
		"service_instance_id":         "pod-9",
		"deployment_environment_name": "staging",
	})
}

func TestPrometheusRegistry(t *testing.T) {
	t.Run("own collectors are served", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		custom := prometheus.NewCounter(prometheus.CounterOpts{Name: "app_jobs_total", Help: "Jobs."})
		reg.MustRegister(custom)
		custom.Add(4)
		e := newPrometheus(t, WithPrometheusRegistry(reg))
		recordContract(t, e)
		families := scrape(t, serveMetrics(t, e))
		if got := findSeries(t, families, "app_jobs_total", nil).GetCounter().GetValue(); got != 4 {
			t.Errorf("app_jobs_total = %v, want 4", got)
		}
		findSeries(t, families, "runway_requests_total", nil)
	})

	t.Run("never the default registerer", func(t *testing.T) {
		// Two exporters in one process: the second would fail on a shared
		// registry with a duplicate target_info.
		a, b := newPrometheus(t), newPrometheus(t)
		recordContract(t, a)
		recordContract(t, b)
		scrape(t, serveMetrics(t, a))
		scrape(t, serveMetrics(t, b))
		families, err := prometheus.DefaultGatherer.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range families {
			if strings.HasPrefix(mf.GetName(), "runway_") || mf.GetName() == "target_info" {
				t.Errorf("default registry has %s", mf.GetName())
			}
		}
	})

	t.Run("gather errors go to otel.Handle", func(t *testing.T) {
		var handled atomic.Int32
		hookOtelErrors(t, func(err error) {
			if strings.Contains(err.Error(), "serving metrics") {
				handled.Add(1)
			}
		})
		reg := prometheus.NewRegistry()
		reg.MustRegister(brokenCollector{})
		e := newPrometheus(t, WithPrometheusRegistry(reg))
		recordContract(t, e)
		families := scrape(t, serveMetrics(t, e)) // status 200: what could be gathered
		findSeries(t, families, "runway_requests_total", nil)
		if handled.Load() == 0 {
			t.Error("gather error not sent to otel.Handle")
		}
	})
}

// brokenCollector fails on every collection.
type brokenCollector struct{}

var brokenDesc = prometheus.NewDesc("broken", "Always fails.", nil, nil)

func (brokenCollector) Describe(ch chan<- *prometheus.Desc) { ch <- brokenDesc }
func (brokenCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.NewInvalidMetric(brokenDesc, errors.New("broken on purpose"))
}

func TestMetricsAddr(t *testing.T) {
	e := newPrometheus(t, WithMetricsAddr("127.0.0.1:0"), WithServiceName("sep"))
	recordContract(t, e)
	addr := e.MetricsAddr()
	if _, port, _ := net.SplitHostPort(addr); port == "" || port == "0" {
		t.Fatalf("MetricsAddr() = %q, want the bound port", addr)
	}
	base := "http://" + addr

	families := scrape(t, base+"/metrics")
	findSeries(t, families, "target_info", map[string]string{"service_name": "sep"})
	findSeries(t, families, "runway_requests_total", nil)

	for _, path := range []string{"/", "/metrics/", "/metricsx", "/debug/pprof/"} {
		t.Run("404 "+path, func(t *testing.T) {
			resp, err := http.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: status %d, want 404", path, resp.StatusCode)
			}
		})
	}

	t.Run("server limits", func(t *testing.T) {
		s := e.server
		if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.WriteTimeout <= 0 || s.IdleTimeout <= 0 {
			t.Errorf("timeouts: header %v read %v write %v idle %v, want all set",
				s.ReadHeaderTimeout, s.ReadTimeout, s.WriteTimeout, s.IdleTimeout)
		}
		if s.MaxHeaderBytes <= 0 || s.MaxHeaderBytes > 16<<10 {
			t.Errorf("MaxHeaderBytes = %d, want small", s.MaxHeaderBytes)
		}
	})

	t.Run("closed by Shutdown", func(t *testing.T) {
		if err := e.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if err := e.Shutdown(context.Background()); err != nil {
			t.Errorf("second Shutdown: %v", err)
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			t.Errorf("listener %s still accepts after Shutdown", addr)
		}
	})
}

func TestMetricsAddrBindError(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, err = New(context.Background(), noEnv, WithMetricsAddr(busy.Addr().String()))
	if !errors.Is(err, ErrListen) || !strings.Contains(err.Error(), "WithMetricsAddr") {
		t.Fatalf("err = %v, want ErrListen naming WithMetricsAddr", err)
	}
}

func TestExportersDisabled(t *testing.T) {
	e, err := New(context.Background(), setEnv(t, map[string]string{envMetricsExporter: "none"}))
	if err != nil {
		t.Fatal(err)
	}
	if e.MetricsHandler() != nil || e.MetricsAddr() != "" {
		t.Error("OTEL_METRICS_EXPORTER=none still serves metrics")
	}
	recordContract(t, e) // a working, silent MeterProvider
	if err := e.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}
