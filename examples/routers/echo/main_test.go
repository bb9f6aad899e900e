package main

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/labstack/echo/v4"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/otel-runway/runway/exporter"
)

// TestRouteTemplateOnScrape hits the router through a real server and
// reads its /metrics: each request is counted under its route template,
// and no raw path appears as a label value.
func TestRouteTemplateOnScrape(t *testing.T) {
	exp, err := exporter.New(t.Context(), exporter.WithPrometheus())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exp.Shutdown(t.Context()) })
	h, err := newRouter(exp)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	for _, p := range []string{"/items/42", "/items/43", "/users/ann/orders/7", "/no/such/path"} {
		resp, err := srv.Client().Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	fams := scrape(t, srv.URL+exporter.MetricsPath)
	for _, tc := range []struct {
		name, route, status string
		want                float64
	}{
		{"one template for two ids", "/items/:id", "200", 2},
		{"nested route", "/users/:name/orders/:order", "200", 1},
		{"no route matched: no http_route", "", "404", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := requests(fams, tc.route, tc.status); got != tc.want {
				t.Errorf("runway_requests_total{http_route=%q,http_response_status_code=%q} = %v, want %v", tc.route, tc.status, got, tc.want)
			}
		})
	}
	for _, name := range []string{"runway_requests_total", "runway_request_duration_seconds"} {
		for _, route := range routes(fams, name) {
			if !allowed[route] {
				t.Errorf("%s has http_route %q: not a template", name, route)
			}
		}
	}
}

// allowed are the only http_route values the router may produce.
var allowed = map[string]bool{"/items/:id": true, "/users/:name/orders/:order": true}

// routes returns the http_route values of family name.
func routes(fams map[string]*dto.MetricFamily, name string) []string {
	var out []string
	for _, m := range fams[name].GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == "http_route" {
				out = append(out, lp.GetValue())
			}
		}
	}
	return out
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

// requests returns runway_requests_total for a GET with route and status.
func requests(fams map[string]*dto.MetricFamily, route, status string) float64 {
	for _, m := range fams["runway_requests_total"].GetMetric() {
		labels := map[string]string{}
		for _, lp := range m.GetLabel() {
			labels[lp.GetName()] = lp.GetValue()
		}
		if labels["http_route"] == route && labels["http_response_status_code"] == status && labels["http_request_method"] == "GET" {
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestRouteAddsNoAllocation compares the measured router with a bare
// one serving the same route: runway and its echo middleware add no
// allocation per request. Under the race detector sync.Pool drops a
// random quarter of the values put back, so runway's pooled writer is
// allocated again on about a quarter of the requests: there the mean
// difference must stay under half an allocation (a real allocation per
// request adds one).
func TestRouteAddsNoAllocation(t *testing.T) {
	exp, err := exporter.New(t.Context(), exporter.WithPrometheus())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exp.Shutdown(t.Context()) })
	measured, err := newRouter(exp)
	if err != nil {
		t.Fatal(err)
	}
	bare := echo.New()
	// echo builds the middleware chain per request (one closure per
	// middleware): give the bare router a middleware that does nothing,
	// so the difference is runway's.
	bare.Use(func(next echo.HandlerFunc) echo.HandlerFunc { return func(c echo.Context) error { return next(c) } })
	bare.GET("/items/:id", func(c echo.Context) error { return c.String(http.StatusOK, "item "+c.Param("id")+"\n") })

	r := httptest.NewRequest(http.MethodGet, "/items/42", nil)
	w := discard{h: http.Header{}}
	allocs := map[string]float64{}
	for name, h := range map[string]http.Handler{"measured": measured, "bare": bare} {
		h.ServeHTTP(w, r)
		if raceEnabled {
			allocs[name] = meanAllocs(2000, func() { h.ServeHTTP(w, r) })
		} else {
			allocs[name] = testing.AllocsPerRun(500, func() { h.ServeHTTP(w, r) })
		}
	}
	t.Logf("allocations per request: %v", allocs)
	limit := 0.0
	if raceEnabled {
		limit = 0.5
	}
	if allocs["measured"]-allocs["bare"] > limit {
		t.Errorf("allocations per request: measured %v, bare %v", allocs["measured"], allocs["bare"])
	}
}

type discard struct{ h http.Header }

func (d discard) Header() http.Header       { return d.h }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

// meanAllocs returns the mean number of allocations of f over runs calls,
// unrounded (testing.AllocsPerRun rounds down).
func meanAllocs(runs int, f func()) float64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	f()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / float64(runs)
}
