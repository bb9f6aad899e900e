package promql

import (
	"math"
	"testing"
)

// counter returns the samples of a counter growing at c per second from
// start, scraped every dt from start+dt through end.
func counter(c, start, dt, end float64) []Sample {
	var s []Sample
	for t := start + dt; t <= end+1e-9; t += dt {
		s = append(s, Sample{T: t, V: c * (t - start)})
	}
	return s
}

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.4f, want %.4f ± %.4f", name, got, want, tol)
	}
}

func TestRateOfAnOldSeriesIsExact(t *testing.T) {
	s := counter(15, 0, 1, 600)
	v, ok := Rate(s, 600, 60)
	if !ok {
		t.Fatal("no value")
	}
	near(t, "rate", v, 15, 1e-9)
	v, _ = IRate(s, 600, 60)
	near(t, "irate", v, 15, 1e-9)
}

// A series that appeared 14 s ago: rate divides by the whole window and
// extrapolates only to the counter's zero, about one scrape before the
// first sample, so it reads 14/60 of the truth; irate reads the truth.
func TestRateUnderReportsANewSeries(t *testing.T) {
	s := counter(15, 100, 1, 114)
	v, _ := Rate(s, 114, 60)
	near(t, "rate 14 s after start", v, 15*14.0/60, 1e-9)
	v, _ = IRate(s, 114, 60)
	near(t, "irate 14 s after start", v, 15, 1e-9)
	if _, ok := Rate(s[:1], 101, 60); ok {
		t.Error("rate with one sample has a value")
	}
}

// After the counter's zero is further than the window's start, rate
// extrapolates to the window's start when the gap is within 1.1 average
// intervals, else by half an interval.
func TestRateExtrapolationEdges(t *testing.T) {
	// Samples at 10, 20, ..., 60 of a counter that has run for long; a
	// query at 65 over 60 s: window (5, 65]; toStart 5 < 11 → extend to 5;
	// toEnd 5 < 11 → extend to 65: exact.
	var s []Sample
	for x := 10.0; x <= 60; x += 10 {
		s = append(s, Sample{x, 1000 + 2*x})
	}
	v, _ := Rate(s, 65, 60)
	near(t, "within threshold", v, 2, 1e-9)
	// Query at 90: toEnd 30 ≥ 11 → extend by 5 only. Window (30, 90]:
	// samples 40..60 (increase 40 over 20 s); start gap 10 < 11 → +10;
	// interval 35; 40 × 35/20 / 60.
	v, _ = Rate(s, 90, 60)
	near(t, "beyond threshold", v, 40*35.0/20/60, 1e-9)
}

func TestCounterReset(t *testing.T) {
	s := []Sample{{1, 10}, {2, 20}, {3, 5}, {4, 15}}
	// Increase 10 + 5 + 10 = 25 over 3 s, extrapolated: window (−56, 4],
	// toStart = min(57, toZero = 3×10/25 = 1.2) = 1.2 < 1.1? no: avg = 1,
	// threshold 1.1, so +0.5; toEnd 0.
	v, _ := Rate(s, 4, 60)
	near(t, "rate across a reset", v, 25*3.5/3/60, 1e-9)
	v, _ = IRate(s[:3], 3, 60)
	near(t, "irate at a reset", v, 5, 1e-9)
}

func TestLast(t *testing.T) {
	s := []Sample{{1, 3}, {2, 4}}
	if v, ok := Last(s, 2.5, 300); !ok || v != 4 {
		t.Errorf("Last = %v %v", v, ok)
	}
	if _, ok := Last(s, 400, 300); ok {
		t.Error("a sample older than the lookback is still seen")
	}
}

// The averaged irate of a new series is right from its second scrape:
// every irate point it averages is the true rate.
func TestAvgOverTimeIRate(t *testing.T) {
	s := counter(15, 100, 15, 130) // scrapes at 115 and 130
	v, ok := AvgOverTimeIRate(s, 131, 60, 60, 1)
	if !ok {
		t.Fatal("no value")
	}
	near(t, "avg irate 2 scrapes in", v, 15, 1e-9)
	// A burst: the counter rises by 80 in one 15 s interval, then by 0:
	// irate reads 80/15 then 0; the average over 60 s weighs each by how
	// long it held.
	b := []Sample{{0, 0}, {15, 0}, {30, 80}, {45, 80}, {60, 80}}
	v, _ = AvgOverTimeIRate(b, 60, 60, 60, 1)
	// Points at 1..60: none for 1..14 (one sample), 0 for 15..29, 80/15
	// for 30..44, 0 for 45..60: 80 over the 46 points that have a value.
	near(t, "avg irate of a burst", v, 80.0/46, 1e-9)
	if _, ok := AvgOverTimeIRate(s[:1], 116, 60, 60, 1); ok {
		t.Error("one sample has a value")
	}
}
