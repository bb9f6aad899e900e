package lab

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// TargetOf is the signal's per-pod target in its own unit: requests in
// flight, requests per second, or percent of the CPU request.
func (s Signal) TargetOf(t Targets) (float64, string) {
	switch s.Kind {
	case CPU:
		return 100 * t.CPU, "% CPU"
	case RPS:
		return t.RPS, "req/s"
	case Fixed:
		return 0, ""
	}
	return t.InFlight, "in flight"
}

// FrontReport is a comparison at equal cost: each signal swept over
// targets (by the steady-state utilization they hold) and seeds.
type FrontReport struct {
	Mode         string    `json:"mode"`
	Scenario     Scenario  `json:"scenario"`
	Utilizations []float64 `json:"utilizations"`
	Seeds        int       `json:"seeds"`
	// Points holds every signal × target, over the seeds.
	Points []FrontPoint `json:"points"`
	// EqualCost is each signal's fronts interpolated at common levels of
	// replica-seconds.
	EqualCost []AtCost `json:"equal_cost"`
	// Unreachable lists the in-flight targets a pod can never reach
	// (Reachable), left out of the fronts.
	Unreachable []string `json:"unreachable,omitempty"`
	Verdict     string   `json:"verdict"`
	Interrupted bool     `json:"interrupted,omitempty"`
}

// Finish marks the fronts, interpolates them at equal cost and writes
// the verdict.
func (r *FrontReport) Finish() {
	kept := r.Points[:0]
	for _, p := range r.Points {
		if Reachable(&r.Scenario, p.Unit, p.Target) {
			kept = append(kept, p)
		} else if msg := fmt.Sprintf("%s at ρ %.2f (%s per pod)", p.Signal, p.Utilization, fmtTarget(p.Target, p.Unit)); !slices.Contains(r.Unreachable, msg) {
			r.Unreachable = append(r.Unreachable, msg)
		}
	}
	r.Points = kept
	MarkFronts(r.Points)
	r.EqualCost = EqualCost(r.Points, 4)
	r.Verdict = FrontVerdict(r.Points, r.EqualCost)
}

// Reachable reports whether a per-pod target in unit can be reached: an
// in-flight target at or above what a pod holds (its slots and a bounded
// queue) never asks for a scale-up, whatever the load.
func Reachable(sc *Scenario, unit string, target float64) bool {
	return unit != "in flight" || sc.Service.Queue < 0 || target < float64(sc.Service.Slots+sc.Service.Queue)
}

// WriteFrontTable writes the points of each signal (front points marked)
// and the comparison at equal replica-seconds, then the verdict.
func WriteFrontTable(w io.Writer, r *FrontReport) error {
	var b strings.Builder
	sc := &r.Scenario
	shift := sc.Shift.describe()
	fmt.Fprintf(&b, "  %s mode · profile %s%s · %d–%d replicas · pod: %d slots, queue %d, mean service %.0f ms (%s), start-up %.0f s\n",
		r.Mode, sc.Profile.Name, shift, sc.MinReplicas, sc.MaxReplicas, sc.Service.Slots, sc.Service.Queue, sc.Service.Mean*1000, sc.Service.Dist, sc.StartupDelay)
	fmt.Fprintf(&b, "  fronts over %d seeds (mean ± 95%% interval); targets hold each pod at the steady-state utilization ρ · scrape %.0f s · HPA sync %.0f s\n\n",
		r.Seeds, sc.ScrapeInterval, sc.SyncPeriod)
	fmt.Fprintf(&b, "  %-14s %5s %14s │ %16s %14s %14s %7s %13s\n", "signal", "ρ", "target/pod", "replica·s", "failed %", "p95 ms", "util", "to cap. s")
	fmt.Fprintf(&b, "  %s\n", strings.Repeat("─", 108))
	last := ""
	for _, p := range r.Points {
		if last != "" && p.Signal != last {
			b.WriteString("\n")
		}
		last = p.Signal
		name := p.Signal
		if p.Behavior != "" {
			name += " " + p.Behavior
		}
		mark := func(on bool) string {
			if on {
				return "*"
			}
			return " "
		}
		ttc := p.TimeToCapacityS.Format(1, 0)
		if p.Never > 0 {
			ttc += fmt.Sprintf(" (%d never)", p.Never)
		}
		fmt.Fprintf(&b, "  %-14s %5.2f %14s │ %16s %13s%s %13s%s %7.2f %13s\n", name, p.Utilization, fmtTarget(p.Target, p.Unit),
			p.ReplicaSeconds.Format(1, 0), p.FailedPct.Format(1, 2), mark(p.OnFailedFront), p.P95S.Format(1000, 0), mark(p.OnP95Front),
			p.MeasuredUtilization.Mean, ttc)
	}
	if len(r.Unreachable) > 0 {
		fmt.Fprintf(&b, "\n  left out, a target no pod can reach (it holds at most %d slots + %d queued): %s\n", sc.Service.Slots, sc.Service.Queue, strings.Join(r.Unreachable, ", "))
	}
	b.WriteString("\n  *: on the signal's front (no other target of it costs no more and does no worse); util: busy slot-seconds over paid slot-seconds.\n")
	if len(r.EqualCost) > 0 {
		b.WriteString("\n  At equal replica·s (each front interpolated linearly; — outside a front's range):\n")
		fmt.Fprintf(&b, "  %10s", "replica·s")
		for _, s := range r.EqualCost[0].Signals {
			fmt.Fprintf(&b, " │ %-22s", s)
		}
		b.WriteString("\n")
		fmt.Fprintf(&b, "  %10s", "")
		for range r.EqualCost[0].Signals {
			fmt.Fprintf(&b, " │ %-11s %10s", "failed %", "p95 ms")
		}
		b.WriteString("\n")
		for _, row := range r.EqualCost {
			fmt.Fprintf(&b, "  %10.0f", row.ReplicaSeconds)
			for i := range row.Signals {
				fmt.Fprintf(&b, " │ %-11s %10s", row.FailedPct[i].Format(1, 2), row.P95S[i].Format(1000, 0))
			}
			b.WriteString("\n")
		}
	}
	fmt.Fprintf(&b, "\n  %s\n", r.Verdict)
	_, err := io.WriteString(w, b.String())
	return err
}

func fmtTarget(v float64, unit string) string {
	switch unit {
	case "% CPU":
		return fmt.Sprintf("%.1f%s", v, unit)
	case "":
		return "-"
	}
	return fmt.Sprintf("%.2f %s", v, unit)
}

// WriteFrontJSON writes the front report as indented JSON.
func WriteFrontJSON(w io.Writer, r *FrontReport) error {
	// NaN is not JSON: the Stats of empty sets become null through a copy.
	b, err := json.MarshalIndent(nanless(r), "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func nanless(r *FrontReport) any {
	var v any
	b, _ := json.Marshal(struct {
		*FrontReport
		Points    []map[string]any `json:"points"`
		EqualCost []map[string]any `json:"equal_cost"`
	}{r, pointsJSON(r.Points), costJSON(r.EqualCost)})
	json.Unmarshal(b, &v)
	return v
}

func statJSON(s Stat) any {
	if math.IsNaN(s.Mean) {
		return nil
	}
	return s
}

func pointsJSON(ps []FrontPoint) []map[string]any {
	var out []map[string]any
	for _, p := range ps {
		out = append(out, map[string]any{
			"signal": p.Signal, "utilization": p.Utilization, "target": p.Target, "unit": p.Unit, "behavior": p.Behavior,
			"replica_seconds": statJSON(p.ReplicaSeconds), "failed_pct": statJSON(p.FailedPct), "p95_s": statJSON(p.P95S),
			"measured_utilization": statJSON(p.MeasuredUtilization), "time_to_capacity_s": statJSON(p.TimeToCapacityS), "never": p.Never,
			"on_failed_front": p.OnFailedFront, "on_p95_front": p.OnP95Front,
		})
	}
	return out
}

func costJSON(rows []AtCost) []map[string]any {
	var out []map[string]any
	for _, r := range rows {
		var f, p []any
		for i := range r.Signals {
			f = append(f, statJSON(r.FailedPct[i]))
			p = append(p, statJSON(r.P95S[i]))
		}
		out = append(out, map[string]any{"replica_seconds": r.ReplicaSeconds, "signals": r.Signals, "failed_pct": f, "p95_s": p})
	}
	return out
}

// ReadFrontJSON reads a front report that WriteFrontJSON wrote (an
// interval that was null comes back as NaN); Finish re-marks its fronts
// and recomputes the comparison and the verdict.
func ReadFrontJSON(r io.Reader) (*FrontReport, error) {
	type stat struct {
		Mean float64 `json:"mean"`
		Half float64 `json:"ci95"`
		N    int     `json:"n"`
	}
	var doc struct {
		Mode         string    `json:"mode"`
		Scenario     Scenario  `json:"scenario"`
		Utilizations []float64 `json:"utilizations"`
		Seeds        int       `json:"seeds"`
		Interrupted  bool      `json:"interrupted"`
		Unreachable  []string  `json:"unreachable"`
		Points       []struct {
			Signal              string  `json:"signal"`
			Utilization         float64 `json:"utilization"`
			Target              float64 `json:"target"`
			Unit                string  `json:"unit"`
			Behavior            string  `json:"behavior"`
			ReplicaSeconds      *stat   `json:"replica_seconds"`
			FailedPct           *stat   `json:"failed_pct"`
			P95S                *stat   `json:"p95_s"`
			MeasuredUtilization *stat   `json:"measured_utilization"`
			TimeToCapacityS     *stat   `json:"time_to_capacity_s"`
			Never               int     `json:"never"`
		} `json:"points"`
	}
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("fronts: %w", err)
	}
	if len(doc.Points) == 0 {
		return nil, fmt.Errorf("fronts: no points")
	}
	conv := func(s *stat) Stat {
		if s == nil {
			return Stat{Mean: math.NaN(), Half: math.NaN()}
		}
		return Stat{Mean: s.Mean, Half: s.Half, N: s.N}
	}
	rep := &FrontReport{Mode: doc.Mode, Scenario: doc.Scenario, Utilizations: doc.Utilizations, Seeds: doc.Seeds, Interrupted: doc.Interrupted, Unreachable: doc.Unreachable}
	for _, p := range doc.Points {
		rep.Points = append(rep.Points, FrontPoint{
			Signal: p.Signal, Utilization: p.Utilization, Target: p.Target, Unit: p.Unit, Behavior: p.Behavior,
			ReplicaSeconds: conv(p.ReplicaSeconds), FailedPct: conv(p.FailedPct), P95S: conv(p.P95S),
			MeasuredUtilization: conv(p.MeasuredUtilization), TimeToCapacityS: conv(p.TimeToCapacityS), Never: p.Never,
		})
	}
	rep.Finish()
	return rep, nil
}
