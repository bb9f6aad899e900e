package e2e

import (
	"fmt"
	"testing"
	"time"
)

// TestSidecarHTTPFromEnvironment: the demo is configured only by
// OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf and OTEL_EXPORTER_OTLP_ENDPOINT
// (no OTLP flag) and pushes to the collector's OTLP/HTTP receiver, where
// the in-flight value equals the requests held, then 0, and the counter
// equals the requests sent.
func TestSidecarHTTPFromEnvironment(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: real processes")
	}
	col := newCollector(t, "sidecar.yaml")
	col.start()
	app := startDemo(t, "demo-http", []string{
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + col.HTTP,
	}, "-interval", interval.String())

	sent := 0
	for _, n := range []int{1, 5, 12} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			h := hold(t, app.URL, n)
			sent += n
			valueAt(t, 5*time.Second, app.MetricsURL, inFlight, nil, float64(n))
			took := valueAt(t, 3*time.Second, col.PromURL, inFlight, instance("demo-http"), float64(n))
			t.Logf("%d held requests visible at the collector over OTLP/HTTP %v after the app counted them (interval %v)", n, took.Round(time.Millisecond), interval)
			h.release()
			took = valueAt(t, 3*time.Second, col.PromURL, inFlight, instance("demo-http"), 0)
			t.Logf("released: 0 at the collector after %v", took.Round(time.Millisecond))
			valueAt(t, 3*time.Second, col.PromURL, total, instance("demo-http"), float64(sent))
		})
	}
}

// TestStartOrderAndOutagesHTTP is TestStartOrderAndOutages over OTLP/HTTP
// (the -otlp-protocol flag).
func TestStartOrderAndOutagesHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: real processes")
	}
	col := newCollector(t, "sidecar.yaml")
	startOrderAndOutages(t, col, "-otlp-protocol", "http/protobuf", "-otlp-endpoint", "http://"+col.HTTP)
}

// TestDeltaTemporalityThroughCollector: the demo pushes deltas
// (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta) to the sidecar.
// The collector's Prometheus endpoint still shows the absolute number of
// requests held and the running total of requests and of the histogram.
func TestDeltaTemporalityThroughCollector(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: real processes")
	}
	col := newCollector(t, "sidecar.yaml")
	col.start()
	app := startDemo(t, "demo-delta", []string{
		"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta",
	}, "-otlp-protocol", "http/protobuf", "-otlp-endpoint", "http://"+col.HTTP, "-interval", interval.String())

	sent := 0
	for round, n := range []int{3, 4} {
		h := hold(t, app.URL, n)
		valueAt(t, 5*time.Second, col.PromURL, inFlight, instance("demo-delta"), float64(n))
		// Several intervals pass with the requests held: a delta-only
		// in-flight would drop to 0 after the first.
		time.Sleep(3 * interval)
		valueAt(t, time.Second, col.PromURL, inFlight, instance("demo-delta"), float64(n))
		for range 5 {
			get(t, app.URL+"/work?ms=1")
		}
		h.release()
		sent += n + 5
		valueAt(t, 3*time.Second, col.PromURL, inFlight, instance("demo-delta"), 0)
		took := valueAt(t, 3*time.Second, col.PromURL, total, instance("demo-delta"), float64(sent))
		valueAt(t, 3*time.Second, col.PromURL, "runway_request_duration_seconds", instance("demo-delta"), float64(sent))
		t.Logf("round %d: total %d requests at the collector (%v)", round, sent, took.Round(time.Millisecond))
	}
	fams, err := scrape(col.PromURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("collector endpoint (deltas in):\n%s", exposition(fams, inFlight, total))
}
