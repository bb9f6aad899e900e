package sweep

import (
	"fmt"
	"math"
)

// Level statuses, in increasing order of severity.
const (
	StatusOK        = "ok"
	StatusDegrading = "degrading"
	StatusSaturated = "saturated"
)

// KneeGain is the relative throughput gain below which a level adds no
// throughput.
const KneeGain = 0.10

// HeadroomFactor is the share of the saturation concurrency recommended as
// the autoscaling threshold.
const HeadroomFactor = 0.75

// Analysis is the verdict on a sweep's levels.
type Analysis struct {
	// Saturation is the knee concurrency; 0 when nothing saturated.
	Saturation int `json:"saturation_concurrency"`
	// Confirmed is true when a level after the knee's first flat level
	// confirmed it; false when the flat level was the last one measured.
	Confirmed bool `json:"confirmed"`
	// KneeIndex is the index of the knee level in the levels; -1 when none.
	KneeIndex int `json:"knee_index"`
	// P95Doubling is the first level whose p95 is at least twice the
	// first level's p95; 0 when none. It is a latency criterion, reported
	// beside the knee.
	P95Doubling int `json:"p95_doubling_concurrency"`
	// Statuses is the status of each level, monotonic.
	Statuses []string `json:"statuses"`
}

// Analyze finds the knee: the last level before the first level whose
// throughput grows less than KneeGain over the previous one while its p95
// rises. A candidate knee is dropped when a later level's throughput beats the
// best throughput up to the knee by KneeGain: the flat level was noise.
//
// Statuses: a level at or beyond the knee is "saturated" (its throughput is
// the server's capacity); below it, a level whose p95 is at least twice the
// first level's p95 is "degrading"; else "ok". Once a level has a status, no
// higher level has a milder one.
func Analyze(levels []Level) Analysis {
	a := Analysis{KneeIndex: -1, Statuses: make([]string, len(levels))}
	if len(levels) == 0 {
		return a
	}
	for i := 1; i < len(levels) && a.KneeIndex < 0; i++ {
		prev, cur := levels[i-1], levels[i]
		if cur.ThroughputRPS >= (1+KneeGain)*prev.ThroughputRPS || cur.P95S <= prev.P95S {
			continue
		}
		plateau := 0.0
		for _, l := range levels[:i] {
			plateau = math.Max(plateau, l.ThroughputRPS)
		}
		beaten := false
		for _, l := range levels[i+1:] {
			if l.ThroughputRPS >= (1+KneeGain)*plateau {
				beaten = true
				break
			}
		}
		if !beaten {
			a.KneeIndex, a.Saturation, a.Confirmed = i-1, prev.Concurrency, i+1 < len(levels)
		}
	}
	base := levels[0].P95S
	for _, l := range levels {
		if base > 0 && l.OK > 0 && l.P95S >= 2*base {
			a.P95Doubling = l.Concurrency
			break
		}
	}
	rank := 0
	names := []string{StatusOK, StatusDegrading, StatusSaturated}
	for i, l := range levels {
		r := 0
		switch {
		case a.KneeIndex >= 0 && i >= a.KneeIndex:
			r = 2
		case base > 0 && l.P95S >= 2*base:
			r = 1
		}
		rank = max(rank, r)
		a.Statuses[i] = names[rank]
	}
	return a
}

// Recommendation is the autoscaling threshold a sweep arrives at.
type Recommendation struct {
	// Threshold is the in-flight requests per pod to scale at.
	Threshold int `json:"threshold"`
	// Saturated is true when a knee was found.
	Saturated bool `json:"saturated"`
	// Saturation is the knee concurrency, or the highest level measured
	// when nothing saturated.
	Saturation int `json:"saturation_concurrency"`
	// LowerBound is true when nothing saturated: the server handles at least
	// Saturation, so Threshold is safe but may be low.
	LowerBound bool `json:"lower_bound"`
	// P95Doubling is the first level whose p95 is at least twice the first
	// level's p95; 0 when none (see Analysis).
	P95Doubling int `json:"p95_doubling_concurrency"`
	// Reasoning explains the threshold, one sentence per line.
	Reasoning []string `json:"reasoning"`
}

// Recommend derives the threshold: floor(HeadroomFactor × saturation), at
// least 1. Without a knee it uses the highest level and adds the Little's-law
// formula with the numbers measured there.
func Recommend(levels []Level, a Analysis) Recommendation {
	r := Recommendation{P95Doubling: a.P95Doubling}
	if len(levels) == 0 {
		r.Threshold = 1
		r.Reasoning = []string{"nothing was measured; threshold 1 is a placeholder"}
		return r
	}
	if a.KneeIndex >= 0 {
		k := levels[a.KneeIndex]
		r.Saturated, r.Saturation = true, k.Concurrency
		r.Reasoning = append(r.Reasoning, fmt.Sprintf(
			"saturation at %d concurrent requests: at %d, throughput %s (%.1f → %.1f req/s) while p95 rose %s → %s",
			k.Concurrency, levels[a.KneeIndex+1].Concurrency,
			gainText(k.ThroughputRPS, levels[a.KneeIndex+1].ThroughputRPS),
			k.ThroughputRPS, levels[a.KneeIndex+1].ThroughputRPS,
			secText(k.P95S), secText(levels[a.KneeIndex+1].P95S)))
		if !a.Confirmed {
			r.Reasoning = append(r.Reasoning, "the flat level was the last one measured: extend -levels to confirm it")
		}
	} else {
		top := levels[len(levels)-1]
		r.Saturation, r.LowerBound = top.Concurrency, true
		r.Reasoning = append(r.Reasoning,
			fmt.Sprintf("no saturation up to %d concurrent requests: throughput kept rising", top.Concurrency),
			fmt.Sprintf("Little's law at %d: %.1f req/s × %s mean = %.1f in flight",
				top.Concurrency, top.ThroughputRPS, secText(top.MeanS), top.ThroughputRPS*top.MeanS),
			fmt.Sprintf("threshold = target RPS per pod × target p95 in seconds; at this level: %.1f req/s × %s p95 = %.0f",
				top.ThroughputRPS, secText(top.P95S), math.Floor(top.ThroughputRPS*top.P95S)),
		)
	}
	r.Threshold = max(1, int(math.Floor(HeadroomFactor*float64(r.Saturation))))
	what := "saturation"
	if r.LowerBound {
		what = "highest level measured (a lower bound)"
	}
	r.Reasoning = append(r.Reasoning, fmt.Sprintf(
		"threshold = floor(%.2f × %d, %s) = %d: scale out while a pod keeps %d%% headroom, since new pods take 30–60 s to start",
		HeadroomFactor, r.Saturation, what, r.Threshold, int(math.Round(100*(1-HeadroomFactor)))))
	if from, to, ok := throughputDrop(levels); ok {
		r.Reasoning = append(r.Reasoning, fmt.Sprintf(
			"throughput fell %.0f %% from %d to %d concurrent requests (%.1f → %.1f req/s): "+
				"either the server collapses under overload or the machine was busy; run again to tell them apart",
			100*(1-levels[to].ThroughputRPS/levels[from].ThroughputRPS), levels[from].Concurrency, levels[to].Concurrency,
			levels[from].ThroughputRPS, levels[to].ThroughputRPS))
	}
	if a.P95Doubling > 0 && a.P95Doubling != r.Saturation {
		r.Reasoning = append(r.Reasoning, fmt.Sprintf(
			"p95 doubles its level-1 value at %d concurrent requests", a.P95Doubling))
	}
	return r
}

func gainText(from, to float64) string {
	if from <= 0 {
		return "started"
	}
	g := 100 * (to - from) / from
	return fmt.Sprintf("changed %+.0f %%", g)
}

// secText formats seconds with millisecond precision.
func secText(s float64) string { return fmt.Sprintf("%.3fs", s) }

// throughputDrop finds the first level whose throughput is more than 25 %
// below the best of the levels before it: more load served less, which a
// steady server under a steady machine does not do.
func throughputDrop(levels []Level) (from, to int, ok bool) {
	best := 0
	for i, l := range levels {
		if l.ThroughputRPS < 0.75*levels[best].ThroughputRPS {
			return best, i, true
		}
		if l.ThroughputRPS > levels[best].ThroughputRPS {
			best = i
		}
	}
	return 0, 0, false
}
