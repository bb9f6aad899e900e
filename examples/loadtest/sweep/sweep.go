package sweep

import (
	"context"
	"fmt"
	"time"
)

// Result is a whole sweep.
type Result struct {
	Target     string  `json:"target"`
	Method     string  `json:"method"`
	MetricsURL string  `json:"metrics_url,omitempty"`
	StepS      float64 `json:"step_s"`
	WarmupS    float64 `json:"warmup_s"`
	// Started is when the first level began.
	Started  time.Time `json:"started"`
	ElapsedS float64   `json:"elapsed_s"`
	// Interrupted is true when the sweep was stopped before its end; Levels
	// holds the levels that completed.
	Interrupted    bool           `json:"interrupted"`
	Levels         []Level        `json:"levels"`
	Analysis       Analysis       `json:"analysis"`
	Recommendation Recommendation `json:"recommendation"`
}

// Check validates cfg and sends one probe request to the target (and one
// scrape of the metrics URL, which must hold runway_requests_in_flight). It
// is what Run does before any load.
func Check(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	return newLoader(cfg.withDefaults()).check(ctx)
}

func (l *loader) check(ctx context.Context) error {
	if err := l.probe(ctx); err != nil {
		return err
	}
	if l.cfg.MetricsURL != "" {
		if _, err := scrapeInFlight(ctx, l.client, l.cfg.MetricsURL); err != nil {
			return err
		}
	}
	return nil
}

// Run validates cfg, probes the target, then sweeps the levels. When ctx
// ends mid-sweep, Run returns the levels measured so far, analysed, with
// Interrupted set, together with ctx's error. Any other error comes before
// load is sent, with a nil Result.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	l := newLoader(cfg)
	if err := l.check(ctx); err != nil {
		return nil, err
	}
	l.start = time.Now()
	res := &Result{
		Target: cfg.Target.URL, Method: cfg.Target.Method, MetricsURL: cfg.MetricsURL,
		StepS: cfg.StepDuration.Seconds(), WarmupS: cfg.Warmup.Seconds(), Started: l.start,
	}
	err := l.sweep(ctx, res)
	res.Interrupted = err != nil
	res.ElapsedS = time.Since(l.start).Seconds()
	res.Analysis = Analyze(res.Levels)
	for i := range res.Levels {
		res.Levels[i].Status = res.Analysis.Statuses[i]
	}
	res.Recommendation = Recommend(res.Levels, res.Analysis)
	if err != nil {
		return res, fmt.Errorf("sweep: stopped after %d of %d levels: %w", len(res.Levels), len(cfg.Levels), err)
	}
	return res, nil
}

// sweep measures the levels, then re-measures the knee level and the level
// after it, keeping the better run of each. If that moves the knee, the new
// neighbourhood is re-measured too (at most three rounds).
func (l *loader) sweep(ctx context.Context, res *Result) error {
	cfg := l.cfg
	next := 0
	rechecked := map[int]bool{}
	for range 3 {
		for next < len(cfg.Levels) {
			if cfg.StopWhenSaturated {
				if a := Analyze(res.Levels); a.KneeIndex >= 0 && a.Confirmed {
					break
				}
			}
			lv, err := l.runLevel(ctx, next, cfg.Levels[next], "measure")
			if err != nil {
				return err
			}
			res.Levels = append(res.Levels, lv)
			next++
		}
		if cfg.NoRecheck {
			return nil
		}
		a := Analyze(res.Levels)
		if a.KneeIndex < 0 {
			return nil
		}
		did := false
		for _, j := range []int{a.KneeIndex, a.KneeIndex + 1} {
			if j >= len(res.Levels) || rechecked[j] {
				continue
			}
			rechecked[j], did = true, true
			lv, err := l.runLevel(ctx, j, cfg.Levels[j], "recheck")
			if err != nil {
				return err
			}
			old := res.Levels[j]
			if lv.ThroughputRPS > old.ThroughputRPS {
				res.Levels[j] = lv
			}
			res.Levels[j].Runs = old.Runs + 1
		}
		if !did {
			return nil
		}
	}
	return nil
}
