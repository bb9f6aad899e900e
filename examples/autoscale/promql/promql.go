// Package promql evaluates the few PromQL functions an autoscaling query
// uses, over scraped samples, with Prometheus' own semantics rather than
// an ideal average:
//
//   - rate(x[w]) is Prometheus' extrapolated rate: the increase between the
//     first and last samples inside (t−w, t], corrected for counter resets,
//     extrapolated to the window's edges only when the samples reach within
//     1.1 average scrape intervals of them (otherwise by half an interval,
//     and never below zero for a counter), divided by w;
//   - irate(x[w]) is the increase between the last two samples in the
//     window divided by their distance (after a reset, the last value);
//   - a gauge is the last sample, gone when its target disappears.
//
// So a series that appeared d seconds ago contributes about d/w of its
// true rate to rate(x[w]) until d reaches w, which is what a KEDA query
// over a new pod sees.
package promql

import "math"

// Sample is one scraped value at T seconds.
type Sample struct {
	T, V float64
}

// inRange returns the samples with t−w < T ≤ t; samples are in time order.
func inRange(s []Sample, t, w float64) []Sample {
	lo, hi := 0, len(s)
	for lo < hi && !(s[lo].T > t-w) {
		lo++
	}
	for hi > lo && s[hi-1].T > t {
		hi--
	}
	return s[lo:hi]
}

// Rate is rate(x[w]) at t over one counter series; ok is false when the
// window holds fewer than two samples (Prometheus returns no value).
func Rate(s []Sample, t, w float64) (v float64, ok bool) {
	r := inRange(s, t, w)
	if len(r) < 2 {
		return 0, false
	}
	first, last := r[0], r[len(r)-1]
	inc := last.V - first.V
	prev := first.V
	for _, x := range r[1:] {
		if x.V < prev {
			inc += prev // counter reset
		}
		prev = x.V
	}
	toStart := first.T - (t - w)
	toEnd := t - last.T
	sampled := last.T - first.T
	avg := sampled / float64(len(r)-1)
	if inc > 0 && first.V >= 0 {
		// A counter cannot be extrapolated below zero.
		if toZero := sampled * (first.V / inc); toZero < toStart {
			toStart = toZero
		}
	}
	threshold := avg * 1.1
	interval := sampled
	if toStart < threshold {
		interval += toStart
	} else {
		interval += avg / 2
	}
	if toEnd < threshold {
		interval += toEnd
	} else {
		interval += avg / 2
	}
	return inc * (interval / sampled) / w, true
}

// IRate is irate(x[w]) at t over one counter series.
func IRate(s []Sample, t, w float64) (v float64, ok bool) {
	r := inRange(s, t, w)
	if len(r) < 2 {
		return 0, false
	}
	a, b := r[len(r)-2], r[len(r)-1]
	d := b.V - a.V
	if b.V < a.V {
		d = b.V
	}
	if b.T == a.T {
		return 0, false
	}
	return d / (b.T - a.T), true
}

// Last is the instant value of a gauge at t: its last sample at or before
// t, within the lookback (Prometheus' 5 min), if the target still exists.
func Last(s []Sample, t, lookback float64) (v float64, ok bool) {
	r := inRange(s, t, lookback)
	if len(r) == 0 {
		return math.NaN(), false
	}
	return r[len(r)-1].V, true
}

// AvgOverTimeIRate is avg_over_time(irate(x[r])[w:step]) at t: irate
// evaluated at every multiple of step in (t−w, t] (Prometheus aligns
// subquery steps to absolute time), averaged over the points that have a
// value.
func AvgOverTimeIRate(s []Sample, t, r, w, step float64) (v float64, ok bool) {
	sum, n := 0.0, 0
	for at := math.Floor(t/step) * step; at > t-w; at -= step {
		if x, has := IRate(s, at, r); has {
			sum += x
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	return sum / float64(n), true
}
