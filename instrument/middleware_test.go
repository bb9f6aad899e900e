package instrument

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
)

func TestRecordsOneRequest(t *testing.T) {
	m := newManual(t)
	h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	}), WithMeterProvider(m.provider))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/items", nil))

	rm := m.collect(t)
	if v, ok := sumValue(rm, requestsName, methodKey.String("POST"), statusCodeKey.Int(201)); !ok || v != 1 {
		t.Errorf("runway.requests{POST,201} = %d (present %v), want 1", v, ok)
	}
	if n := sumPoints(rm, requestsName); n != 1 {
		t.Errorf("runway.requests has %d points, want 1", n)
	}
	if v, ok := sumValue(rm, inFlightName); !ok || v != 0 {
		t.Errorf("in flight = %d (present %v), want 0", v, ok)
	}
	if _, ok := findMetric(rm, inFlightByRouteName); ok {
		t.Errorf("%s reported without routes", inFlightByRouteName)
	}
	dp, ok := histPoint(rm, durationName, methodKey.String("POST"))
	if !ok || dp.Count != 1 {
		t.Fatalf("duration{POST} count = %d (present %v), want 1", dp.Count, ok)
	}
	if len(dp.Bounds) != len(defaultDurationBuckets) || dp.Bounds[0] != 0.005 {
		t.Errorf("bounds = %v, want the second-scale defaults", dp.Bounds)
	}
	if dp.BucketCounts[0] != 1 {
		t.Errorf("a fast request should land in the first bucket (≤5ms): %v", dp.BucketCounts)
	}
	m2, _ := findMetric(rm, durationName)
	if m2.Unit != "s" {
		t.Errorf("duration unit = %q, want s", m2.Unit)
	}
}

// TestPrometheusNames checks the names a user sees on a real scrape through
// the OTel Prometheus exporter with its default translation.
func TestPrometheusNames(t *testing.T) {
	s := newScraped(t)
	h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}), WithMeterProvider(s.provider), WithRouteGroups(RouteGroup{`^/api/infer`, "inference"}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, p := range []string{"/api/infer", "/api/infer/x", "/other"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	fams := s.scrape(t)
	for _, tc := range []struct {
		family string
		labels []string
		want   float64
	}{
		{"runway_requests_in_flight", nil, 0},
		{"runway_requests_in_flight_by_route", []string{"http_route", "inference"}, 0},
		{"runway_requests_total", []string{"http_request_method", "GET", "http_response_status_code", "200", "http_route", "inference"}, 2},
		{"runway_requests_total", []string{"http_request_method", "GET", "http_response_status_code", "200", "http_route", otherValue}, 1},
	} {
		got, ok := promValue(fams, tc.family, tc.labels...)
		if !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.family, tc.labels, got, ok, tc.want)
		}
	}
	hist, ok := fams["runway_request_duration_seconds"]
	if !ok {
		t.Fatalf("no runway_request_duration_seconds family; have %v", familyNames(fams))
	}
	var count uint64
	for _, m := range hist.GetMetric() {
		count += m.GetHistogram().GetSampleCount()
	}
	if count != 3 {
		t.Errorf("runway_request_duration_seconds count = %d, want 3", count)
	}
}

func familyNames(fams map[string]*dto.MetricFamily) []string {
	var names []string
	for n := range fams {
		names = append(names, n)
	}
	return names
}

// TestHeldRequestsOnScrape holds N requests open on a real server and reads
// runway_requests_in_flight from a real scrape.
func TestHeldRequestsOnScrape(t *testing.T) {
	const n = 7
	s := newScraped(t)
	release := make(chan struct{})
	var entered sync.WaitGroup
	entered.Add(n)
	h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered.Done()
		<-release
	}), WithMeterProvider(s.provider))
	srv := httptest.NewServer(h)
	defer srv.Close()

	var done sync.WaitGroup
	for i := 0; i < n; i++ {
		done.Add(1)
		go func() {
			defer done.Done()
			resp, err := http.Get(srv.URL + "/work")
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	entered.Wait()
	if got, _ := promValue(s.scrape(t), "runway_requests_in_flight"); got != n {
		t.Errorf("runway_requests_in_flight while holding = %v, want %d", got, n)
	}
	close(release)
	done.Wait()
	fams := s.scrape(t)
	if got, _ := promValue(fams, "runway_requests_in_flight"); got != 0 {
		t.Errorf("runway_requests_in_flight after release = %v, want 0", got)
	}
	if got, _ := promValue(fams, "runway_requests_total", "http_response_status_code", "200"); got != n {
		t.Errorf("runway_requests_total = %v, want %d", got, n)
	}
}

func TestExcludedPaths(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     []Option
		path     string
		measured bool
	}{
		{"default metrics", nil, "/metrics", false},
		{"default healthz", nil, "/healthz", false},
		{"default livez", nil, "/livez", false},
		{"default readyz", nil, "/readyz", false},
		{"default health", nil, "/health", false},
		{"exact match only", nil, "/healthz/deep", true},
		{"other path", nil, "/work", true},
		{"replaced list drops defaults", []Option{WithExcludedPaths("/ping")}, "/metrics", true},
		{"replaced list", []Option{WithExcludedPaths("/ping")}, "/ping", false},
		{"empty list measures all", []Option{WithExcludedPaths()}, "/healthz", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManual(t)
			opts := append([]Option{WithMeterProvider(m.provider)}, tc.opts...)
			called := false
			h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called = true }), opts...)
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", tc.path, nil))
			if !called {
				t.Fatal("handler not called")
			}
			_, got := sumValue(m.collect(t), requestsName, methodKey.String("GET"), statusCodeKey.Int(200))
			if got != tc.measured {
				t.Errorf("measured = %v, want %v", got, tc.measured)
			}
		})
	}
}

func TestMethodNormalisation(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"GET", "GET"}, {"HEAD", "HEAD"}, {"POST", "POST"}, {"PUT", "PUT"},
		{"DELETE", "DELETE"}, {"CONNECT", "CONNECT"}, {"OPTIONS", "OPTIONS"},
		{"TRACE", "TRACE"}, {"PATCH", "PATCH"}, {"QUERY", "QUERY"},
		{"get", otherValue}, {"PROPFIND", otherValue}, {"", otherValue},
		{"GET ", otherValue}, {"\x00", otherValue},
	} {
		t.Run(fmt.Sprintf("%q", tc.in), func(t *testing.T) {
			if got := methodName(methodIndex(tc.in)); got != tc.want {
				t.Errorf("methodName(methodIndex(%q)) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestOddMethodsAreBounded sends many distinct methods through a real
// server: they all count as _OTHER.
func TestOddMethodsAreBounded(t *testing.T) {
	m := newManual(t)
	srv := httptest.NewServer(mustHandler(t, http.NotFoundHandler(), WithMeterProvider(m.provider)))
	defer srv.Close()
	for i := 0; i < 50; i++ {
		req, _ := http.NewRequest(fmt.Sprintf("M%dX", i), srv.URL+"/x", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	rm := m.collect(t)
	if n := sumPoints(rm, requestsName); n != 1 {
		t.Errorf("%d series for 50 odd methods, want 1", n)
	}
	if v, _ := sumValue(rm, requestsName, methodKey.String(otherValue), statusCodeKey.Int(404)); v != 50 {
		t.Errorf("_OTHER/404 = %d, want 50", v)
	}
}

// TestMiddlewaresOnOneProviderAddUp checks that two middlewares sharing a
// MeterProvider report one in-flight total.
func TestMiddlewaresOnOneProviderAddUp(t *testing.T) {
	m := newManual(t)
	release := make(chan struct{})
	entered := make(chan struct{}, 3)
	hold := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
	})
	a := mustHandler(t, hold, WithMeterProvider(m.provider))
	b := mustHandler(t, hold, WithMeterProvider(m.provider))
	var wg sync.WaitGroup
	for i, h := range []http.Handler{a, b, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", fmt.Sprintf("/%d", i), nil))
		}()
	}
	for range 3 {
		<-entered
	}
	if got := m.inFlight(t); got != 3 {
		t.Errorf("in flight = %d, want 3", got)
	}
	close(release)
	wg.Wait()
	rm := m.collect(t)
	if v, _ := sumValue(rm, inFlightName); v != 0 {
		t.Errorf("in flight after = %d, want 0", v)
	}
	if v, _ := sumValue(rm, requestsName, methodKey.String("GET"), statusCodeKey.Int(200)); v != 3 {
		t.Errorf("requests = %d, want 3", v)
	}
}

func TestWorksWithNoopProvider(t *testing.T) {
	h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hi")
	}), WithMeterProvider(noop.NewMeterProvider()))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Body.String() != "hi" || rec.Code != 200 {
		t.Errorf("response = %d %q", rec.Code, rec.Body.String())
	}
}

var _ = attribute.String
