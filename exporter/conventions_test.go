package exporter

import (
	"context"
	"errors"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/otel-runway/runway/instrument"
)

// semconvBuckets are the bucket boundaries the OpenTelemetry HTTP semantic
// conventions advise for http.server.request.duration.
var semconvBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// conventionsServer serves, through Setup with RUNWAY_METRICS_CONVENTIONS
// set to mode, a ServeMux whose /hold/{id} holds requests until release is
// closed and whose /fail answers 500.
func conventionsServer(t *testing.T, mode string) (url string, release func()) {
	t.Helper()
	gate := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hold/{id}", func(w http.ResponseWriter, r *http.Request) { <-gate })
	mux.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	h, shutdown, err := Setup(context.Background(), mux,
		setEnv(t, map[string]string{"RUNWAY_METRICS_CONVENTIONS": mode}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(func() {
		release()
		srv.Close()
		_ = shutdown(context.Background())
	})
	return srv.URL, release
}

// holdRequests sends n requests to /hold/{i} and returns a wait for their
// ends.
func holdRequests(t *testing.T, url string, n int) (wait func()) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := http.Get(url + "/hold/" + string(rune('a'+i)))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
	}
	return wg.Wait
}

// gaugeValue returns the value of the series of name with labels want, and
// whether there is one.
func gaugeValue(families map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	for _, m := range families[name].GetMetric() {
		if hasLabels(m, want) {
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	got := labels(m)
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// ownLabels returns the label names of m other than the scope's.
func ownLabels(m *dto.Metric) []string {
	var names []string
	for k := range labels(m) {
		if !strings.HasPrefix(k, "otel_scope_") {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return names
}

func TestConventionsOTelScrape(t *testing.T) {
	url, release := conventionsServer(t, "otel")
	wait := holdRequests(t, url, 3)
	get := map[string]string{"http_request_method": "GET", "url_scheme": "http"}
	var families map[string]*dto.MetricFamily
	eventually(t, 10*time.Second, "http_server_active_requests = 3", func() bool {
		families = scrape(t, url+MetricsPath)
		v, _ := gaugeValue(families, "http_server_active_requests", get)
		return v == 3
	})
	active := findSeries(t, families, "http_server_active_requests", get)
	if got := ownLabels(active); !slices.Equal(got, []string{"http_request_method", "url_scheme"}) {
		t.Errorf("http_server_active_requests labels %v, want only http_request_method and url_scheme", got)
	}
	for _, name := range []string{"runway_requests_total", "runway_requests_in_flight", "runway_request_duration_seconds"} {
		if _, ok := families[name]; ok {
			t.Errorf("otel mode: family %s present", name)
		}
	}
	if _, ok := families["runway_requests_in_flight_time_seconds_total"]; !ok {
		t.Errorf("otel mode: the time-weighted counter keeps its runway name, missing (have %v)", familyNames(families))
	}

	release()
	wait()
	resp, err := http.Get(url + "/fail")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	families = scrape(t, url+MetricsPath)
	if v, ok := gaugeValue(families, "http_server_active_requests", get); !ok || v != 0 {
		t.Errorf("after the requests: http_server_active_requests = %v (reported %v), want 0", v, ok)
	}
	const name = "http_server_request_duration_seconds"
	if typ := families[name].GetType(); typ != dto.MetricType_HISTOGRAM {
		t.Fatalf("%s is %v, want a histogram", name, typ)
	}
	held := findSeries(t, families, name, map[string]string{"http_route": "/hold/{id}"})
	wantLabels := map[string]string{
		"http_request_method": "GET", "url_scheme": "http", "http_response_status_code": "200",
		"http_route": "/hold/{id}", "network_protocol_name": "http", "network_protocol_version": "1.1",
	}
	if got := ownLabels(held); !slices.Equal(got, slices.Sorted(maps.Keys(wantLabels))) {
		t.Errorf("%s labels %v, want %v", name, got, slices.Sorted(maps.Keys(wantLabels)))
	}
	if !hasLabels(held, wantLabels) {
		t.Errorf("%s labels %v, want %v", name, labels(held), wantLabels)
	}
	h := held.GetHistogram()
	if h.GetSampleCount() != 3 {
		t.Errorf("%s count %d, want 3", name, h.GetSampleCount())
	}
	var bounds []float64
	for _, b := range h.GetBucket() {
		bounds = append(bounds, b.GetUpperBound())
	}
	if want := append(slices.Clone(semconvBuckets), math.Inf(1)); !slices.Equal(bounds, want) {
		t.Errorf("%s buckets %v, want %v", name, bounds, want)
	}
	failed := findSeries(t, families, name, map[string]string{"http_route": "/fail"})
	if got := labels(failed); got["error_type"] != "500" || got["http_response_status_code"] != "500" {
		t.Errorf("a 500: labels %v, want error_type=500", got)
	}
}

func TestConventionsBothScrape(t *testing.T) {
	url, release := conventionsServer(t, "both")
	wait := holdRequests(t, url, 2)
	eventually(t, 10*time.Second, "both in-flight families = 2", func() bool {
		f := scrape(t, url+MetricsPath)
		a, _ := gaugeValue(f, "http_server_active_requests", map[string]string{"http_request_method": "GET"})
		r, _ := gaugeValue(f, "runway_requests_in_flight", nil)
		return a == 2 && r == 2
	})
	release()
	wait()
	families := scrape(t, url+MetricsPath)
	for _, name := range []string{"http_server_request_duration_seconds", "runway_request_duration_seconds"} {
		s := findSeries(t, families, name, map[string]string{"http_route": "/hold/{id}"})
		if n := s.GetHistogram().GetSampleCount(); n != 2 {
			t.Errorf("%s count %d, want 2", name, n)
		}
	}
	req := findSeries(t, families, "runway_requests_total", map[string]string{"http_route": "/hold/{id}"})
	if n := req.GetCounter().GetValue(); n != 2 {
		t.Errorf("runway_requests_total = %v, want 2", n)
	}
}

func TestConventionsEnvInvalid(t *testing.T) {
	_, err := New(context.Background(), setEnv(t, map[string]string{"RUNWAY_METRICS_CONVENTIONS": "semconv"}))
	if !errors.Is(err, ErrInvalidEnv) || !strings.Contains(err.Error(), "RUNWAY_METRICS_CONVENTIONS") {
		t.Fatalf("err = %v, want ErrInvalidEnv naming RUNWAY_METRICS_CONVENTIONS", err)
	}
}

// TestConventionsCodeWins checks that WithConventions given in code
// replaces the variable's choice.
func TestConventionsCodeWins(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {})
	h, shutdown, err := Setup(context.Background(), mux,
		setEnv(t, map[string]string{"RUNWAY_METRICS_CONVENTIONS": "otel"}),
		WithInstrumentOptions(instrument.WithConventions("runway")))
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(context.Background())
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	families := scrape(t, srv.URL+MetricsPath)
	if _, ok := families["runway_requests_total"]; !ok {
		t.Errorf("runway_requests_total missing: the option in code should win (have %v)", familyNames(families))
	}
	if _, ok := families["http_server_request_duration_seconds"]; ok {
		t.Errorf("http_server_request_duration_seconds present: the option in code should win")
	}
}

// TestConventionsEnvValues checks that the variable accepts every value of
// instrument.WithConventions, and that the middleware built accepts it too.
func TestConventionsEnvValues(t *testing.T) {
	for _, v := range []string{"runway", "otel", "both", "otel-active"} {
		h, shutdown, err := Setup(context.Background(), http.NotFoundHandler(),
			setEnv(t, map[string]string{"RUNWAY_METRICS_CONVENTIONS": v}))
		if err != nil || h == nil {
			t.Errorf("RUNWAY_METRICS_CONVENTIONS=%s: %v", v, err)
			continue
		}
		_ = shutdown(context.Background())
	}
}
