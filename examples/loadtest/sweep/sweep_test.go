package sweep

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// busyAttempts is how many times a sweep against a capacity server runs
// before its timing checks fail the test. The servers hold each request on
// a timer and the client shares the CPUs with them: on a busy machine a
// timer fires late or a worker loses its core for tens of milliseconds, and
// one level's throughput, p95 or in-flight mean moves past its tolerance. A
// wrong measurement or analysis fails every attempt; a busy moment does not
// recur at the same level. Checks that timing cannot break (errors,
// thresholds derived from the knee, monotonic statuses) fail at once.
const busyAttempts = 3

// withRetries runs check until an attempt reports no timing failure through
// fail, at most busyAttempts times. The failures of every attempt are
// logged; those of the last one fail the test.
func withRetries(t *testing.T, check func(fail func(format string, args ...any))) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		var failures []string
		check(func(format string, args ...any) { failures = append(failures, fmt.Sprintf(format, args...)) })
		switch {
		case len(failures) == 0:
			if attempt > 1 {
				t.Logf("attempt %d of %d passed", attempt, busyAttempts)
			}
			return
		case attempt == busyAttempts:
			for _, f := range failures {
				t.Error(f)
			}
			return
		}
		t.Logf("attempt %d of %d: %s; running it again", attempt, busyAttempts, strings.Join(failures, "; "))
	}
}

// testConfig is a short sweep: 400 ms steps after a 100 ms warm-up.
func testConfig(url string, levels ...int) Config {
	return Config{
		Target:       Target{URL: url},
		Levels:       levels,
		StepDuration: 400 * time.Millisecond,
		Warmup:       100 * time.Millisecond,
		Windows:      8,
		Timeout:      5 * time.Second,
	}
}

// gridNeighbours returns the levels at most one grid step away from k.
func gridNeighbours(levels []int, k int) []int {
	i, _ := slices.BinarySearch(levels, k)
	var out []int
	for j := max(i-1, 0); j <= min(i+1, len(levels)-1); j++ {
		out = append(out, levels[j])
	}
	return out
}

// TestSweepGroundTruth sweeps servers of known capacity K. Its ground truth
// comes from the same run, so that a busy machine (where a 10 ms timer takes
// 15–25 ms) moves the truth and the measurement alike:
//   - Little's law: c clients that each wait W for a response (the level's
//     mean latency, as the client saw it) complete c / W requests a second,
//     so up to the first level at or above K each level's throughput over
//     its whole duration is c / W within 15 %: a sweep that miscounts
//     requests or time disagrees with its own latencies (beyond, the
//     sweep's rechecks keep the better of two runs, and a loaded machine
//     makes them differ);
//   - level 1's cycle is no shorter than the service time that the server
//     itself measured (ŝ), within 20 % (the two cover slightly different
//     spans of a machine whose speed varies);
//   - the windowed throughput the analysis uses, which leaves out stalled
//     windows only, is not below the whole level's;
//   - the saturation is K within one grid level.
func TestSweepGroundTruth(t *testing.T) {
	if testing.Short() {
		t.Skip("sweeps three servers for several seconds: full suite only")
	}
	cases := []struct {
		name       string
		k          int
		service    time.Duration
		levels     []int
		stallAfter int64
	}{
		{name: "K=3", k: 3, service: 10 * time.Millisecond, levels: []int{1, 2, 3, 4, 5, 6}},
		{name: "K=8", k: 8, service: 20 * time.Millisecond, levels: []int{1, 2, 4, 8, 16, 32}},
		// A 150 ms freeze of the whole server somewhere in the middle of the
		// sweep must not move the answer.
		{name: "K=4 with a stall", k: 4, service: 10 * time.Millisecond, levels: []int{1, 2, 4, 8, 16}, stallAfter: 300},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			withRetries(t, func(fail func(string, ...any)) {
				srv, ts := newCapacityServer(t, tc.k, tc.service)
				srv.stallAfter, srv.stall = tc.stallAfter, 150*time.Millisecond
				cfg := testConfig(ts.URL+"/work", tc.levels...)
				cfg.MetricsURL = ts.URL + "/metrics"
				cfg.Progress, cfg.ProgressInterval = srv.progress, 50*time.Millisecond
				res, err := Run(context.Background(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				var table strings.Builder
				_ = WriteTable(&table, res)
				t.Logf("K=%d, service %v:\n%s", tc.k, tc.service, table.String())

				rec := res.Recommendation
				checkStatuses(t, res)
				if !rec.Saturated {
					fail("no saturation reported; want %d", tc.k)
					return
				}
				if ok := gridNeighbours(tc.levels, tc.k); !slices.Contains(ok, rec.Saturation) {
					fail("saturation = %d, want one of %v (K=%d within one level)", rec.Saturation, ok, tc.k)
				}
				if want := max(1, int(math.Floor(0.75*float64(rec.Saturation)))); rec.Threshold != want {
					t.Errorf("threshold = %d, want floor(0.75 × %d) = %d", rec.Threshold, rec.Saturation, want)
				}
				if rec.Saturation == tc.k && rec.Threshold != int(0.75*float64(tc.k)) {
					t.Errorf("threshold = %d, want floor(0.75 × K) = %d", rec.Threshold, int(0.75*float64(tc.k)))
				}
				s1, _ := srv.serviceTime(1)
				if cycle1 := time.Duration(float64(time.Second) / res.Levels[0].RawThroughputRPS); s1 < tc.service || cycle1 < s1*80/100 {
					fail("level 1: a cycle of %v with a service time of %v (nominal %v): the sweep counts more requests than were served", cycle1, s1, tc.service)
					return
				}
				knee := tc.levels[slices.IndexFunc(tc.levels, func(c int) bool { return c >= tc.k })]
				for _, l := range res.Levels {
					if l.Errors+l.Timeouts > 0 {
						t.Errorf("level %d: %d errors, %d timeouts", l.Concurrency, l.Errors, l.Timeouts)
					}
					if l.Cut > l.Concurrency {
						t.Errorf("level %d: %d requests cut at the step end, at most one per worker", l.Concurrency, l.Cut)
					}
					if l.ServerInFlight == nil || l.ServerSamples == 0 {
						t.Errorf("level %d: no server in-flight samples", l.Concurrency)
					}
					sc, n := srv.serviceTime(l.Concurrency)
					if n == 0 {
						t.Fatalf("level %d: the server saw no request", l.Concurrency)
					}
					little := float64(l.Concurrency) / l.MeanS
					capacity := float64(tc.k) / sc.Seconds()
					t.Logf("level %d: throughput %.1f req/s (windowed %.1f); c/W = %.1f (W %.1f ms); capacity K/ŝ = %.1f (ŝ %v, nominal %v)",
						l.Concurrency, l.RawThroughputRPS, l.ThroughputRPS, little, 1000*l.MeanS, capacity, sc.Round(10*time.Microsecond), tc.service)
					if l.Concurrency <= knee && math.Abs(l.RawThroughputRPS-little) > 0.15*little {
						fail("level %d: throughput %.1f req/s, Little's law c/W = %.1f", l.Concurrency, l.RawThroughputRPS, little)
					}
					if l.ThroughputRPS < 0.95*l.RawThroughputRPS {
						fail("level %d: windowed throughput %.1f below the whole level's %.1f", l.Concurrency, l.ThroughputRPS, l.RawThroughputRPS)
					}
				}
			})
		})
	}
}

// checkStatuses asserts that statuses never get milder and that the knee
// and every level after it are saturated.
func checkStatuses(t *testing.T, res *Result) {
	t.Helper()
	rank := map[string]int{StatusOK: 0, StatusDegrading: 1, StatusSaturated: 2}
	for i, l := range res.Levels {
		if _, ok := rank[l.Status]; !ok {
			t.Fatalf("level %d: unknown status %q", l.Concurrency, l.Status)
		}
		if i > 0 && rank[l.Status] < rank[res.Levels[i-1].Status] {
			t.Errorf("level %d is %s after %s: statuses must be monotonic", l.Concurrency, l.Status, res.Levels[i-1].Status)
		}
		if k := res.Analysis.KneeIndex; k >= 0 && (i >= k) != (l.Status == StatusSaturated) {
			t.Errorf("level %d: status %s, knee at index %d", l.Concurrency, l.Status, k)
		}
	}
}

// TestSweepServerInFlight checks the cross-check against a server that
// counts queued and served requests: with a service time of 100 ms the
// client's concurrency and the server's in-flight mean must agree within
// 10 % at every level, below and above the capacity.
func TestSweepServerInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("sweeps a server for several seconds: full suite only")
	}
	withRetries(t, func(fail func(string, ...any)) {
		_, ts := newCapacityServer(t, 4, 100*time.Millisecond)
		cfg := testConfig(ts.URL+"/work", 1, 2, 4, 8)
		cfg.MetricsURL = ts.URL + "/metrics"
		cfg.NoRecheck = true
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range res.Levels {
			if l.ServerInFlight == nil {
				t.Fatalf("level %d: %d server samples", l.Concurrency, l.ServerSamples)
			}
			if !*l.ServerAgrees || l.ServerSamples < 20 || math.Abs(*l.ServerInFlight-float64(l.Concurrency)) > 0.1*float64(l.Concurrency) {
				fail("level %d: server in-flight %.2f over %d samples, agrees=%v", l.Concurrency, *l.ServerInFlight, l.ServerSamples, *l.ServerAgrees)
			}
		}
	})
}

func TestSweepAsyncIO(t *testing.T) {
	if testing.Short() {
		t.Skip("sweeps a server for several seconds: full suite only")
	}
	withRetries(t, func(fail func(string, ...any)) {
		_, ts := newCapacityServer(t, 0, 50*time.Millisecond)
		res, err := Run(context.Background(), testConfig(ts.URL+"/work", 1, 2, 4, 8, 16))
		if err != nil {
			t.Fatal(err)
		}
		var table strings.Builder
		if err := WriteTable(&table, res); err != nil {
			t.Fatal(err)
		}
		t.Logf("\n%s", table.String())
		rec := res.Recommendation
		if rec.Saturated || res.Analysis.KneeIndex != -1 {
			fail("saturation reported at %d on a server without a limit", rec.Saturation)
			return
		}
		if !rec.LowerBound || rec.Saturation != 16 || rec.Threshold != 12 {
			t.Errorf("recommendation = %+v, want a lower bound of floor(0.75 × 16) = 12", rec)
		}
		for _, want := range []string{"none up to 16", "Little's law at 16:", "target RPS per pod × target p95"} {
			if !strings.Contains(table.String(), want) {
				t.Errorf("table lacks %q", want)
			}
		}
		for _, l := range res.Levels {
			if want := float64(l.Concurrency) / 0.05; math.Abs(l.ThroughputRPS-want) > 0.15*want {
				fail("level %d: throughput %.1f req/s, ground truth %.0f", l.Concurrency, l.ThroughputRPS, want)
			}
			if !l.LittleOK {
				fail("level %d: λ·W = %.2f, want ≈ %d", l.Concurrency, l.LittleL, l.Concurrency)
			}
			if l.Status == StatusSaturated {
				fail("level %d is saturated", l.Concurrency)
			}
		}
	})
}

func TestSweepStopsWhenSaturated(t *testing.T) {
	if testing.Short() {
		t.Skip("sweeps a server for several seconds: full suite only")
	}
	withRetries(t, func(fail func(string, ...any)) {
		_, ts := newCapacityServer(t, 2, 10*time.Millisecond)
		cfg := testConfig(ts.URL+"/work", 1, 2, 4, 8, 16, 32, 64)
		cfg.StopWhenSaturated = true
		cfg.NoRecheck = true
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]int, len(res.Levels))
		for i, l := range res.Levels {
			got[i] = l.Concurrency
		}
		// The knee (2) shows at 4 and is confirmed at 8; nothing after.
		if want := []int{1, 2, 4, 8}; !slices.Equal(got, want) {
			fail("levels run = %v, want %v", got, want)
		}
		if res.Recommendation.Saturation != 2 || !res.Analysis.Confirmed {
			fail("saturation %d (confirmed %v), want 2 confirmed", res.Recommendation.Saturation, res.Analysis.Confirmed)
		}
	})
}

func TestSweepInterrupted(t *testing.T) {
	_, ts := newCapacityServer(t, 0, 5*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	cfg := testConfig(ts.URL+"/work", 1, 2, 4, 8)
	done := 0
	cfg.Progress = func(p Progress) {
		if p.Phase == "done" {
			done++
			if done == 2 {
				cancel()
			}
		}
	}
	start := time.Now()
	res, err := Run(ctx, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res == nil || !res.Interrupted || len(res.Levels) != 2 {
		t.Fatalf("result = %+v, want the 2 levels measured before the interruption", res)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("interrupted sweep took %v", el)
	}
	var table strings.Builder
	_ = WriteTable(&table, res)
	if !strings.Contains(table.String(), "Interrupted: 2 levels measured") {
		t.Errorf("table does not say it was interrupted:\n%s", table.String())
	}
}

func TestRunRejectsBadInputBeforeLoad(t *testing.T) {
	srv, ts := newCapacityServer(t, 0, time.Millisecond)
	dead := ts.URL
	_, closed := newCapacityServer(t, 0, time.Millisecond)
	closed.Close()
	_, other := newCapacityServer(t, 0, time.Millisecond)
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no URL", Config{}, "target URL is empty"},
		{"bad scheme", Config{Target: Target{URL: "ftp://x/"}}, "scheme must be http"},
		{"levels not increasing", Config{Target: Target{URL: dead}, Levels: []int{1, 4, 2}}, "strictly increasing"},
		{"level zero", Config{Target: Target{URL: dead}, Levels: []int{0, 1}}, "at least 1"},
		{"negative duration", Config{Target: Target{URL: dead}, StepDuration: -time.Second}, "negative"},
		{"bad method", Config{Target: Target{URL: dead, Method: "GE T"}}, "method"},
		{"unreachable URL", Config{Target: Target{URL: closed.URL + "/work"}}, "unreachable"},
		{"error status", Config{Target: Target{URL: dead + "/missing"}}, "404"},
		{"metrics without the gauge", Config{Target: Target{URL: dead + "/work"}, MetricsURL: dead + "/other-metrics"}, "no runway_requests_in_flight"},
		{"metrics URL is not an exposition", Config{Target: Target{URL: dead + "/work"}, MetricsURL: other.URL + "/work"}, "parse"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := srv.served.Load()
			res, err := Run(context.Background(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if res != nil {
				t.Errorf("a result came back with the error")
			}
			if n := srv.served.Load() - before; n > 1 {
				t.Errorf("%d requests sent; at most the one probe may be", n)
			}
		})
	}
}
