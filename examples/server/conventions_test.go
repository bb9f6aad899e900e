package main

import (
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrapeFamilies GETs url and parses the Prometheus text format.
func scrapeFamilies(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape: parse: %v", err)
	}
	return families
}

// activeRequests sums the series of http_server_active_requests.
func activeRequests(families map[string]*dto.MetricFamily) float64 {
	total := 0.0
	for _, m := range families["http_server_active_requests"].GetMetric() {
		total += m.GetGauge().GetValue()
	}
	return total
}

// TestConventionsOTel runs the demo with -conventions otel, holds 3
// requests and reads /metrics: http_server_active_requests is 3 while they
// are held; once they end, http_server_request_duration_seconds has the
// semantic conventions' buckets exactly.
func TestConventionsOTel(t *testing.T) {
	_, url, metricsURL, _ := startServer(t, "-addr", "127.0.0.1:0", "-conventions", "otel")
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			resp, err := http.Get(url + "/work?ms=3000&mode=io")
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		})
	}
	deadline := time.Now().Add(2500 * time.Millisecond)
	for activeRequests(scrapeFamilies(t, metricsURL)) != 3 {
		if time.Now().After(deadline) {
			t.Fatal("http_server_active_requests never reached 3")
		}
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()
	families := scrapeFamilies(t, metricsURL)
	if got := activeRequests(families); got != 0 {
		t.Errorf("after the requests: http_server_active_requests = %v, want 0", got)
	}
	if _, ok := families["runway_requests_total"]; ok {
		t.Error("otel mode: runway_requests_total present")
	}
	mf, ok := families["http_server_request_duration_seconds"]
	if !ok || len(mf.GetMetric()) != 1 {
		t.Fatalf("http_server_request_duration_seconds: want one series, got %v", mf)
	}
	h := mf.GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 3 {
		t.Errorf("duration count %d, want 3", h.GetSampleCount())
	}
	var bounds []float64
	for _, b := range h.GetBucket() {
		bounds = append(bounds, b.GetUpperBound())
	}
	want := []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, math.Inf(1)}
	if !slices.Equal(bounds, want) {
		t.Errorf("buckets %v, want %v", bounds, want)
	}
}

func TestConventionsBadFlag(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-addr", "127.0.0.1:0", "-conventions", "semconv")
	cmd.Env = append(os.Environ(), "RUNWAY_DEMO_AS_MAIN=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("server started with a bad -conventions: %s", out)
	}
	if !regexp.MustCompile(`WithConventions.*semconv`).Match(out) {
		t.Errorf("error does not name the bad setting: %s", out)
	}
}
