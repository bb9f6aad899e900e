package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

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
		{"one template for two ids", "/items/{id}", "200", 2},
		{"nested route", "/users/{name}/orders/{order}", "200", 1},
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
var allowed = map[string]bool{"/items/{id}": true, "/users/{name}/orders/{order}": true}

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
