package lab

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// Stat is a mean over seeds with its 95 % confidence interval:
// Mean ± Half, Half = t(0.975, n−1) · s / √n.
type Stat struct {
	Mean float64 `json:"mean"`
	Half float64 `json:"ci95"`
	N    int     `json:"n"`
}

// tQuantile975 is Student's t at 0.975 for 1..30 degrees of freedom.
var tQuantile975 = []float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
	2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
	2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}

// TQuantile is Student's t at 0.975 for df degrees of freedom (the normal
// 1.96 plus a 1/df correction past 30).
func TQuantile(df int) float64 {
	switch {
	case df < 1:
		return math.NaN()
	case df <= len(tQuantile975):
		return tQuantile975[df-1]
	}
	return 1.96 + 2.4/float64(df)
}

// NewStat is the mean and 95 % interval of xs, ignoring NaNs. One value
// has no interval (Half 0); none gives NaN.
func NewStat(xs []float64) Stat {
	var sum float64
	n := 0
	for _, x := range xs {
		if !math.IsNaN(x) {
			sum += x
			n++
		}
	}
	if n == 0 {
		return Stat{Mean: math.NaN(), Half: math.NaN()}
	}
	m := sum / float64(n)
	if n == 1 {
		return Stat{Mean: m, N: 1}
	}
	var ss float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			ss += (x - m) * (x - m)
		}
	}
	sd := math.Sqrt(ss / float64(n-1))
	return Stat{Mean: m, Half: TQuantile(n-1) * sd / math.Sqrt(float64(n)), N: n}
}

// Lo and Hi are the interval's ends.
func (s Stat) Lo() float64 { return s.Mean - s.Half }
func (s Stat) Hi() float64 { return s.Mean + s.Half }

// Format writes mean ± half with prec decimals after scaling by f.
func (s Stat) Format(f float64, prec int) string {
	if math.IsNaN(s.Mean) {
		return "—"
	}
	return fmt.Sprintf("%.*f±%.*f", prec, s.Mean*f, prec, s.Half*f)
}

// FrontPoint is one signal at one target, over seeds.
type FrontPoint struct {
	Signal string `json:"signal"`
	// Utilization is the steady-state utilization the target holds.
	Utilization float64 `json:"utilization"`
	// Target is the per-pod target in the signal's Unit.
	Target float64 `json:"target"`
	Unit   string  `json:"unit"`
	// Behavior names the HPA behavior (when several are compared).
	Behavior string `json:"behavior,omitempty"`
	// FailedPct is errors and timeouts in percent of the requests.
	ReplicaSeconds Stat `json:"replica_seconds"`
	FailedPct      Stat `json:"failed_pct"`
	P95S           Stat `json:"p95_s"`
	// MeasuredUtilization is busy slot-seconds over paid slot-seconds.
	MeasuredUtilization Stat `json:"measured_utilization"`
	// TimeToCapacityS is over the first step, for the seeds that reached
	// capacity; Never counts those that did not.
	TimeToCapacityS Stat `json:"time_to_capacity_s"`
	Never           int  `json:"never"`
	// OnFailedFront and OnP95Front: not dominated in (replica-seconds,
	// failures) and (replica-seconds, p95).
	OnFailedFront bool `json:"on_failed_front"`
	OnP95Front    bool `json:"on_p95_front"`
}

// PointFrom summarises the runs (one per seed) of one signal at one
// target.
func PointFrom(runs []Run, signal string, util, target float64, unit string) FrontPoint {
	var rs, fp, p95, mu, ttc []float64
	never := 0
	for _, r := range runs {
		s := r.Summary
		rs = append(rs, s.ReplicaSeconds)
		f := 0.0
		if s.Requests > 0 {
			f = 100 * float64(s.Errors+s.Timeouts) / float64(s.Requests)
		}
		fp = append(fp, f)
		p95 = append(p95, s.P95S)
		mu = append(mu, s.Utilization)
		if len(s.TimeToCapacityS) > 0 {
			if t := s.TimeToCapacityS[0]; t >= 0 {
				ttc = append(ttc, t)
			} else {
				never++
			}
		}
	}
	return FrontPoint{
		Signal: signal, Utilization: util, Target: target, Unit: unit,
		ReplicaSeconds: NewStat(rs), FailedPct: NewStat(fp), P95S: NewStat(p95),
		MeasuredUtilization: NewStat(mu), TimeToCapacityS: NewStat(ttc), Never: never,
	}
}

// Pareto returns the indices of the points not dominated in (cost,
// metric), both lower-better, ordered by cost: a point is dominated when
// another costs no more and does no worse, and is better in one of them.
func Pareto(cost, metric []float64) []int {
	var front []int
	for i := range cost {
		dominated := false
		for j := range cost {
			if j != i && cost[j] <= cost[i] && metric[j] <= metric[i] && (cost[j] < cost[i] || metric[j] < metric[i]) {
				dominated = true
				break
			}
		}
		if !dominated {
			front = append(front, i)
		}
	}
	sort.SliceStable(front, func(a, b int) bool { return cost[front[a]] < cost[front[b]] })
	return front
}

// MarkFronts sets OnFailedFront and OnP95Front on each signal's points.
func MarkFronts(points []FrontPoint) {
	for _, sig := range signalsOf(points) {
		var idx []int
		var cost, failed, p95 []float64
		for i, p := range points {
			if p.Signal == sig {
				idx = append(idx, i)
				cost = append(cost, p.ReplicaSeconds.Mean)
				failed = append(failed, p.FailedPct.Mean)
				p95 = append(p95, p.P95S.Mean)
			}
		}
		for _, k := range Pareto(cost, failed) {
			points[idx[k]].OnFailedFront = true
		}
		for _, k := range Pareto(cost, p95) {
			points[idx[k]].OnP95Front = true
		}
	}
}

func signalsOf(points []FrontPoint) []string {
	var out []string
	for _, p := range points {
		if !slices.Contains(out, p.Signal) {
			out = append(out, p.Signal)
		}
	}
	return out
}

// Interpolate is the metric of a front (points ordered by cost) at cost
// c, linear between the two points around it, the interval's half-width
// interpolated the same way; ok is false outside the front's range.
func Interpolate(front []FrontPoint, c float64, metric func(*FrontPoint) Stat) (Stat, bool) {
	if len(front) == 0 {
		return Stat{}, false
	}
	for i := range front {
		x := front[i].ReplicaSeconds.Mean
		if x == c {
			return metric(&front[i]), true
		}
		if i == 0 || x < c {
			continue
		}
		x0 := front[i-1].ReplicaSeconds.Mean
		if c < x0 {
			return Stat{}, false
		}
		a, b := metric(&front[i-1]), metric(&front[i])
		w := (c - x0) / (x - x0)
		return Stat{Mean: a.Mean + w*(b.Mean-a.Mean), Half: a.Half + w*(b.Half-a.Half), N: min(a.N, b.N)}, true
	}
	return Stat{}, false
}

// FrontOf is sig's points on the front of metric, ordered by cost.
func FrontOf(points []FrontPoint, sig string, onFront func(*FrontPoint) bool) []FrontPoint {
	var out []FrontPoint
	for i := range points {
		if points[i].Signal == sig && onFront(&points[i]) {
			out = append(out, points[i])
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].ReplicaSeconds.Mean < out[b].ReplicaSeconds.Mean })
	return out
}

// AtCost is every signal's interpolated failures and p95 at one level of
// replica-seconds (NaN where a signal's front does not reach it).
type AtCost struct {
	ReplicaSeconds float64  `json:"replica_seconds"`
	Signals        []string `json:"signals"`
	FailedPct      []Stat   `json:"failed_pct"`
	P95S           []Stat   `json:"p95_s"`
}

// EqualCost interpolates each signal's fronts at n common levels of
// replica-seconds, spread over the range that every signal's failures
// front covers (if they share none, over the range that at least two
// cover, where the others show NaN).
func EqualCost(points []FrontPoint, n int) []AtCost {
	sigs := signalsOf(points)
	type span struct{ lo, hi float64 }
	var spans []span
	for _, s := range sigs {
		f := FrontOf(points, s, func(p *FrontPoint) bool { return p.OnFailedFront })
		if len(f) > 0 {
			spans = append(spans, span{f[0].ReplicaSeconds.Mean, f[len(f)-1].ReplicaSeconds.Mean})
		}
	}
	if len(spans) == 0 || n < 1 {
		return nil
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	for _, s := range spans {
		lo, hi = max(lo, s.lo), min(hi, s.hi)
	}
	if lo > hi {
		// No common range: the widest range two signals share.
		best := -1.0
		for i := range spans {
			for j := i + 1; j < len(spans); j++ {
				a, b := max(spans[i].lo, spans[j].lo), min(spans[i].hi, spans[j].hi)
				if b-a > best {
					lo, hi, best = a, b, b-a
				}
			}
		}
		if best < 0 {
			return nil
		}
	}
	var out []AtCost
	for k := 0; k < n; k++ {
		c := lo
		if n > 1 {
			c = lo + (hi-lo)*float64(k)/float64(n-1)
		}
		if k > 0 && c == out[len(out)-1].ReplicaSeconds {
			break
		}
		row := AtCost{ReplicaSeconds: c}
		for _, s := range sigs {
			row.Signals = append(row.Signals, s)
			ff := FrontOf(points, s, func(p *FrontPoint) bool { return p.OnFailedFront })
			pf := FrontOf(points, s, func(p *FrontPoint) bool { return p.OnP95Front })
			fs, ok := Interpolate(ff, c, func(p *FrontPoint) Stat { return p.FailedPct })
			if !ok {
				fs = Stat{Mean: math.NaN(), Half: math.NaN()}
			}
			ps, ok := Interpolate(pf, c, func(p *FrontPoint) Stat { return p.P95S })
			if !ok {
				ps = Stat{Mean: math.NaN(), Half: math.NaN()}
			}
			row.FailedPct = append(row.FailedPct, fs)
			row.P95S = append(row.P95S, ps)
		}
		out = append(out, row)
	}
	return out
}

// best returns the index of the lowest mean, and whether its interval
// lies wholly below every other's (a clear win rather than a tie).
func best(stats []Stat) (int, bool) {
	b := -1
	for i, s := range stats {
		if !math.IsNaN(s.Mean) && (b < 0 || s.Mean < stats[b].Mean) {
			b = i
		}
	}
	if b < 0 {
		return -1, false
	}
	clear := true
	for i, s := range stats {
		if i != b && !math.IsNaN(s.Mean) && stats[b].Hi() >= s.Lo() {
			clear = false
		}
	}
	return b, clear
}

// IsInFlight reports whether a signal's name is one of the in-flight
// forms (the gauge or the time-weighted counter).
func IsInFlight(signal string) bool {
	base, _, _ := strings.Cut(signal, ":")
	switch base {
	case "inflight", "rate", "irate", "avgirate", "avgirateup":
		return true
	}
	return false
}

// FrontVerdict is the one-line verdict of a front comparison: which
// signal fails least and which holds the lowest p95 at equal
// replica-seconds (clear: its 95 % interval is below all others';
// otherwise a tie within the intervals), and at equal steady-state
// utilization.
func FrontVerdict(points []FrontPoint, levels []AtCost) string {
	if len(levels) == 0 {
		return "verdict: the fronts share no range of replica-seconds; compare them on the chart"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "verdict: at equal replica·s (%s–%s; tie: 95%% intervals overlap)", kilo(levels[0].ReplicaSeconds), kilo(levels[len(levels)-1].ReplicaSeconds))
	for _, m := range []struct {
		name string
		get  func(*AtCost) []Stat
	}{{"fewest failures", func(a *AtCost) []Stat { return a.FailedPct }}, {"lowest p95", func(a *AtCost) []Stat { return a.P95S }}} {
		wins := map[string]int{}
		ties := map[string]int{}
		var tieOrder []string
		for i := range levels {
			stats := m.get(&levels[i])
			w, clear := best(stats)
			switch {
			case w < 0:
			case clear:
				wins[levels[i].Signals[w]]++
			default:
				// The leaders: the best and those whose interval reaches it.
				var group []string
				for j, st := range stats {
					if j == w || !math.IsNaN(st.Mean) && stats[w].Hi() >= st.Lo() {
						group = append(group, levels[i].Signals[j])
					}
				}
				key := strings.Join(group, ", ")
				if ties[key] == 0 {
					tieOrder = append(tieOrder, key)
				}
				ties[key]++
			}
		}
		var parts []string
		for _, s := range levels[0].Signals {
			if wins[s] > 0 {
				parts = append(parts, fmt.Sprintf("%s at %d/%d levels", s, wins[s], len(levels)))
			}
		}
		for _, k := range tieOrder {
			parts = append(parts, fmt.Sprintf("tie (%s) at %d/%d", k, ties[k], len(levels)))
		}
		fmt.Fprintf(&b, "; %s: %s", m.name, strings.Join(parts, ", "))
	}
	// The signals whose fronts do not reach the shared range: their own.
	for i, sig := range levels[0].Signals {
		reached := false
		for _, l := range levels {
			if !math.IsNaN(l.FailedPct[i].Mean) {
				reached = true
			}
		}
		if reached {
			continue
		}
		f := FrontOf(points, sig, func(p *FrontPoint) bool { return p.OnFailedFront })
		if len(f) == 0 {
			continue
		}
		lo, hi := f[0], f[len(f)-1]
		fmt.Fprintf(&b, "; %s never costs that much (its front: %s–%s replica·s, %s–%s %% failed)", sig,
			kilo(lo.ReplicaSeconds.Mean), kilo(hi.ReplicaSeconds.Mean), hi.FailedPct.Format(1, 2), lo.FailedPct.Format(1, 2))
	}
	mid := levels[len(levels)/2]
	fmt.Fprintf(&b, " (failures at %s: ", kilo(mid.ReplicaSeconds))
	for i, s := range mid.Signals {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s %%", s, mid.FailedPct[i].Format(1, 2))
	}
	b.WriteString(")")
	// Equal steady-state utilization: the target nearest 0.7.
	utils := map[float64]bool{}
	for _, p := range points {
		utils[p.Utilization] = true
	}
	u := math.NaN()
	for x := range utils {
		if math.IsNaN(u) || math.Abs(x-0.7) < math.Abs(u-0.7) || math.Abs(x-0.7) == math.Abs(u-0.7) && x < u {
			u = x
		}
	}
	var at []Stat
	var names []string
	for _, p := range points {
		if p.Utilization == u && p.Behavior == points[0].Behavior {
			at = append(at, p.FailedPct)
			names = append(names, p.Signal)
		}
	}
	if w, clear := best(at); w >= 0 {
		tie := ""
		if !clear {
			tie = " (a tie within the intervals)"
		}
		fmt.Fprintf(&b, "; at utilization %.2f fewest failures: %s%s", u, names[w], tie)
	}
	return b.String()
}

func kilo(v float64) string {
	if v >= 10000 {
		return fmt.Sprintf("%.0fk", v/1000)
	}
	return fmt.Sprintf("%.0f", v)
}

// RunVerdict is the one-line verdict of a comparison at one target per
// signal.
func RunVerdict(runs []Run) string {
	if len(runs) == 0 {
		return "verdict: nothing ran"
	}
	type pick struct {
		name string
		v    float64
	}
	least := func(f func(*Summary) float64) pick {
		p := pick{v: math.Inf(1)}
		for i := range runs {
			if v := f(&runs[i].Summary); v < p.v {
				p = pick{runs[i].Summary.Signal, v}
			}
		}
		return p
	}
	failed := least(func(s *Summary) float64 {
		if s.Requests == 0 {
			return 0
		}
		return 100 * float64(s.Errors+s.Timeouts) / float64(s.Requests)
	})
	p95 := least(func(s *Summary) float64 { return s.P95S })
	cost := least(func(s *Summary) float64 { return s.ReplicaSeconds })
	return fmt.Sprintf("verdict: fewest failures %s (%.2f %%), lowest p95 %s (%.0f ms), fewest replica·s %s (%.0f); one target each, not at equal cost: -targets compares the fronts",
		failed.name, failed.v, p95.name, 1000*p95.v, cost.name, cost.v)
}
