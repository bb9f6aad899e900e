package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/otel-runway/runway/examples/loadtest/sweep"
)

// TestEmbeddedDemo sweeps the demo server started in-process (no -url) and
// checks the server-side runway_requests_in_flight, scraped from the demo's
// /metrics, against the client's concurrency at every level.
func TestEmbeddedDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("sweeps the demo server for several seconds: full suite only")
	}
	out := filepath.Join(t.TempDir(), "r.json")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{
		"-workload", "io", "-duration-ms", "100", "-levels", "1,2,4,8",
		"-step-duration", "500ms", "-warmup", "200ms", "-no-recheck", "-q", "-json", out,
	}, &stdout, &stderr, nil)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	t.Logf("\n%s", stdout.String())
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res sweep.Result
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	if res.MetricsURL == "" || len(res.Levels) != 4 {
		t.Fatalf("metrics URL %q, %d levels", res.MetricsURL, len(res.Levels))
	}
	for _, l := range res.Levels {
		// The sweep samples /metrics every few milliseconds; a busy machine
		// gives fewer samples, but a handful still averages the gauge.
		if l.ServerInFlight == nil || l.ServerSamples < 5 {
			t.Fatalf("level %d: %d server samples", l.Concurrency, l.ServerSamples)
		}
		if d := math.Abs(*l.ServerInFlight - float64(l.Concurrency)); d > 0.1*float64(l.Concurrency) || !*l.ServerAgrees {
			t.Errorf("level %d: server in-flight %.2f, client %d", l.Concurrency, *l.ServerInFlight, l.Concurrency)
		}
		// The io workload sleeps 100 ms: no request is faster, and the
		// client's round trip adds only a little on a quiet machine.
		if l.MeanS < 0.1 {
			t.Errorf("level %d: mean latency %.3fs is below the workload's 100 ms", l.Concurrency, l.MeanS)
		}
		// Ground truth from the same run, by Little's law: c requests kept
		// in flight complete at c / latency per second. The sweep's
		// throughput leaves out windows where the machine stalled, so it
		// lies between c / mean latency of the whole step and c / 100 ms,
		// the workload's own floor, whatever the machine's load.
		lo, hi := float64(l.Concurrency)/l.MeanS, float64(l.Concurrency)/0.1
		if l.ThroughputRPS < 0.85*lo || l.ThroughputRPS > 1.05*hi {
			t.Errorf("level %d: throughput %.1f req/s, want between %.1f (Little's law on the mean latency %.3fs) and %.1f", l.Concurrency, l.ThroughputRPS, lo, l.MeanS, hi)
		}
		if l.Errors+l.Timeouts > 0 {
			t.Errorf("level %d: %d errors, %d timeouts", l.Concurrency, l.Errors, l.Timeouts)
		}
	}
	if res.Recommendation.Saturated {
		t.Errorf("the io workload saturated at %d", res.Recommendation.Saturation)
	}
}
