package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/otel-runway/runway/examples/internal/demo"
)

// TestOTelNamingMatchesDemo runs the demo with the otel conventions and
// checks, on a real scrape, that the otel dashboard's metrics exist under
// the names it reads and carry the labels its panels group by
// (http_route, http_response_status_code).
func TestOTelNamingMatchesDemo(t *testing.T) {
	n := Namings[1]
	if n.Name != "otel" {
		t.Fatalf("Namings[1] is %q, want otel", n.Name)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := demo.Start(ctx, demo.Config{Conventions: "otel"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	resp, err := http.Get(s.URL + "/work?ms=1&mode=io")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.Get(s.MetricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fams[n.InFlight]; !ok {
		t.Errorf("no %s in the scrape", n.InFlight)
	}
	histogram := strings.TrimSuffix(n.DurationBucket, "_bucket")
	if strings.TrimSuffix(n.Requests, "_count") != histogram {
		t.Errorf("the request counter %s is not the count of %s", n.Requests, histogram)
	}
	mf, ok := fams[histogram]
	if !ok || len(mf.GetMetric()) == 0 {
		t.Fatalf("no %s in the scrape", histogram)
	}
	for _, m := range mf.GetMetric() {
		have := map[string]bool{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = true
		}
		for _, want := range []string{"http_route", "http_response_status_code"} {
			if !have[want] {
				t.Errorf("%s series without the label %s the panels group by", histogram, want)
			}
		}
	}
}
