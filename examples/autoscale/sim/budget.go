package sim

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/otel-runway/runway/examples/autoscale/lab"
)

// Variant is one setting of the signal path: the scenario with one stage
// changed.
type Variant struct {
	Name  string
	Apply func(*lab.Scenario)
}

// BudgetVariants are the stages of the signal path the latency budget
// varies, from the usual Prometheus path (15 s scrapes, a fresh query at
// each 15 s HPA sync, 30 s start-up) to a 1-second path from the pods to
// the HPA's decision (as Knative's autoscaler scrapes pods every second).
func BudgetVariants() []Variant {
	return []Variant{
		{"Prometheus path: scrape 15 s, sync 15 s, start-up 30 s", func(*lab.Scenario) {}},
		{"scrape 30 s", func(s *lab.Scenario) { s.ScrapeInterval, s.CPUWindow = 30, 30 }},
		{"scrape 1 s", func(s *lab.Scenario) { s.ScrapeInterval, s.CPUWindow = 1, 1 }},
		{"KEDA useCachedMetrics, polling 30 s", func(s *lab.Scenario) { s.UseCachedMetrics, s.PollingInterval = true, 30 }},
		{"KEDA useCachedMetrics, polling 5 s", func(s *lab.Scenario) { s.UseCachedMetrics, s.PollingInterval = true, 5 }},
		{"HPA sync 1 s", func(s *lab.Scenario) { s.SyncPeriod = 1 }},
		{"start-up 10 s", func(s *lab.Scenario) { s.StartupDelay = 10 }},
		{"start-up 0 s", func(s *lab.Scenario) { s.StartupDelay = 0 }},
		{"1-second path: scrape 1 s, sync 1 s", func(s *lab.Scenario) { s.ScrapeInterval, s.CPUWindow, s.SyncPeriod = 1, 1, 1 }},
		{"1-second path, start-up 0 s", func(s *lab.Scenario) { s.ScrapeInterval, s.CPUWindow, s.SyncPeriod, s.StartupDelay = 1, 1, 1, 0 }},
	}
}

// BudgetRow is one variant under one signal, over seeds.
type BudgetRow struct {
	Variant string         `json:"variant"`
	Point   lab.FrontPoint `json:"point"`
}

// Budget runs every variant of sc under every signal over seeds seeds.
func Budget(ctx context.Context, sc lab.Scenario, sigs []lab.Signal, variants []Variant, seeds, workers int, progress func(done, total int)) ([]BudgetRow, error) {
	var jobs []Job
	for _, v := range variants {
		c := sc
		v.Apply(&c)
		c = c.WithDefaults()
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("budget: %s: %w", v.Name, err)
		}
		for _, sig := range sigs {
			for _, s := range Seeds(c, seeds) {
				jobs = append(jobs, Job{s, sig})
			}
		}
	}
	runs, err := RunAll(ctx, jobs, workers, progress)
	var rows []BudgetRow
	k := 0
	for _, v := range variants {
		for _, sig := range sigs {
			rs := runs[k : k+seeds]
			k += seeds
			if rs[0].Summary.Signal == "" {
				continue
			}
			target, unit := sig.TargetOf(sc.WithDefaults().Targets)
			rows = append(rows, BudgetRow{v.Name, lab.PointFrom(rs, sig.Name, sc.Utilization, target, unit)})
		}
	}
	return rows, err
}

// WriteBudget writes the latency-budget table: per variant and signal the
// time to capacity after the first step, failures, p95 and
// replica-seconds, and the change from the first variant.
func WriteBudget(w io.Writer, rows []BudgetRow) error {
	var b strings.Builder
	fmt.Fprintf(&b, "  %-52s %-14s │ %11s %12s %10s %15s │ %9s %10s\n", "signal path", "signal", "to cap. s", "failed %", "p95 ms", "replica·s", "Δ to cap.", "Δ failed")
	fmt.Fprintf(&b, "  %s\n", strings.Repeat("─", 146))
	base := map[string]lab.FrontPoint{}
	last := ""
	for _, r := range rows {
		p := r.Point
		if _, ok := base[p.Signal]; !ok {
			base[p.Signal] = p
		}
		bp := base[p.Signal]
		name := r.Variant
		if name == last {
			name = ""
		} else if last != "" {
			b.WriteString("\n")
		}
		last = r.Variant
		ttc := p.TimeToCapacityS.Format(1, 0)
		if p.Never > 0 {
			ttc += fmt.Sprintf("(%d∞)", p.Never)
		}
		fmt.Fprintf(&b, "  %-52s %-14s │ %11s %12s %10s %15s │ %+9.0f %+10.2f\n", name, p.Signal, ttc, p.FailedPct.Format(1, 2),
			p.P95S.Format(1000, 0), p.ReplicaSeconds.Format(1, 0),
			p.TimeToCapacityS.Mean-bp.TimeToCapacityS.Mean, p.FailedPct.Mean-bp.FailedPct.Mean)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
