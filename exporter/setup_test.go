package exporter

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/otel-runway/runway/instrument"
)

// app answers 200 on /hello, 418 on /metrics (so a test can tell whose
// /metrics answered) and 404 elsewhere.
func app() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello") })
	mux.HandleFunc("GET /api/infer", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	return mux
}

// setupServer runs Setup(app) on a test server and returns its URL.
func setupServer(t *testing.T, opts ...Option) string {
	t.Helper()
	h, shutdown, err := Setup(context.Background(), app(), append([]Option{noEnv}, opts...)...)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		if err := shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv.URL
}

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestSetupMetricsOnApp(t *testing.T) {
	// No excluded paths: only Setup's routing keeps scrapes out of the
	// counts.
	url := setupServer(t, WithServiceName("shop"), WithInstrumentOptions(instrument.WithExcludedPaths()))
	for range 3 {
		if code := get(t, url+"/hello"); code != http.StatusOK {
			t.Fatalf("GET /hello: %d", code)
		}
	}
	if code := get(t, url+"/metrics/"); code != http.StatusNotFound {
		t.Errorf("GET /metrics/: %d, want the app's 404", code)
	}

	scrape(t, url+"/metrics")
	families := scrape(t, url+"/metrics") // the first scrape must not count
	ok200 := map[string]string{"http_request_method": "GET", "http_response_status_code": "200"}
	if got := findSeries(t, families, "runway_requests_total", ok200).GetCounter().GetValue(); got != 3 {
		t.Errorf("runway_requests_total{200} = %v, want 3 (scrapes must not count)", got)
	}
	var durations uint64 // two series: http_route="/hello" (the ServeMux pattern) and the 404 without a route
	for _, m := range families["runway_request_duration_seconds"].GetMetric() {
		durations += m.GetHistogram().GetSampleCount()
	}
	if durations != 4 {
		t.Errorf("runway_request_duration_seconds count = %v, want 4 (3 hello + 1 /metrics/)", durations)
	}
	if got := findSeries(t, families, "runway_requests_in_flight", nil).GetGauge().GetValue(); got != 0 {
		t.Errorf("runway_requests_in_flight = %v, want 0", got)
	}
	findSeries(t, families, "target_info", map[string]string{"service_name": "shop"})
}

func TestSetupMetricsAddr(t *testing.T) {
	metricsAddr := freeAddr(t)
	url := setupServer(t, WithMetricsAddr(metricsAddr))
	get(t, url+"/hello")
	if code := get(t, url+"/metrics"); code != http.StatusTeapot {
		t.Errorf("GET app /metrics: %d, want the app's own 418", code)
	}
	families := scrape(t, "http://"+metricsAddr+"/metrics")
	findSeries(t, families, "runway_requests_total",
		map[string]string{"http_request_method": "GET", "http_response_status_code": "200"})
}

func TestSetupWithoutPrometheus(t *testing.T) {
	r := startReceiver(t, "127.0.0.1:0")
	h, shutdown, err := Setup(context.Background(), app(), noEnv, WithOTLP(r.addr), WithExportInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	get(t, srv.URL+"/hello")
	if code := get(t, srv.URL+"/metrics"); code != http.StatusTeapot {
		t.Errorf("GET /metrics without Prometheus: %d, want the app's 418", code)
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// /hello only: the middleware excludes /metrics by default.
	if v, ok := r.lastSum("runway.requests"); !ok || v != 1 {
		t.Errorf("%s at the collector = %v (found %v), want 1", "runway.requests", v, ok)
	}
}

func TestSetupInstrumentOptions(t *testing.T) {
	url := setupServer(t, WithInstrumentOptions(
		instrument.WithRouteGroups(instrument.RouteGroup{Pattern: "^/api/infer", Name: "inference"}),
	))
	get(t, url+"/api/infer")
	families := scrape(t, url+"/metrics")
	got := findSeries(t, families, "runway_requests_total", map[string]string{"http_route": "inference"})
	if v := got.GetCounter().GetValue(); v != 1 {
		t.Errorf("runway_requests_total{http_route=inference} = %v, want 1", v)
	}
	findSeries(t, families, "runway_requests_in_flight_by_route", map[string]string{"http_route": "inference"})
}

func TestSetupErrors(t *testing.T) {
	tests := []struct {
		name string
		app  http.Handler
		opts []Option
		want error
		text string
	}{
		{"nil app", nil, nil, ErrInvalidOption, "Setup"},
		{"bad exporter option", app(), []Option{WithExportInterval(-1)}, ErrInvalidOption, "WithExportInterval"},
		{"bad instrument option", app(), []Option{WithInstrumentOptions(
			instrument.WithRouteGroups(instrument.RouteGroup{Pattern: "(", Name: "broken"}))},
			instrument.ErrInvalidOption, "WithInstrumentOptions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, shutdown, err := Setup(context.Background(), tt.app, append([]Option{noEnv}, tt.opts...)...)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("err = %v, want %v naming %s", err, tt.want, tt.text)
			}
			if h != nil || shutdown != nil {
				t.Error("handler or shutdown returned with an error")
			}
		})
	}
}

// TestSetupPushesWithOTLPVariables: with only the OTLP protocol and
// endpoint variables set (OTEL_METRICS_EXPORTER unset), Setup pushes to
// the collector and still serves /metrics.
func TestSetupPushesWithOTLPVariables(t *testing.T) {
	grpcReceiver := startReceiver(t, "127.0.0.1:0")
	httpReceiver := startHTTPReceiver(t, "127.0.0.1:0", nil)
	for _, tc := range []struct {
		protocol, endpoint string
		requests           func() (int64, bool)
	}{
		{"grpc", "http://" + grpcReceiver.addr, func() (int64, bool) { return grpcReceiver.lastSum("runway.requests") }},
		{"http/protobuf", "http://" + httpReceiver.addr, func() (int64, bool) { return httpReceiver.lastSum("runway.requests") }},
	} {
		t.Run(tc.protocol, func(t *testing.T) {
			setEnv(t, map[string]string{envOTLPProtocol: tc.protocol, envOTLPEndpoint: tc.endpoint})
			h, shutdown, err := Setup(context.Background(), app())
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			for range 3 {
				get(t, srv.URL+"/hello")
			}
			if code := get(t, srv.URL+"/metrics"); code != http.StatusOK {
				t.Errorf("GET /metrics: %d, want 200 (Prometheus stays on)", code)
			}
			if err := shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n, ok := tc.requests(); !ok || n != 3 {
				t.Errorf("runway.requests at the collector = %d (found %v), want 3", n, ok)
			}
		})
	}
}
