package sim

import (
	"context"
	"fmt"

	"github.com/otel-runway/runway/examples/autoscale/lab"
)

// RecommendConfig is what the recommendation sweeps.
type RecommendConfig struct {
	// Utilizations are the steady-state utilizations whose targets are
	// tried (lab.Scenario.TargetsAt).
	Utilizations []float64
	Seeds        int
	Workers      int
	// BudgetPct is the failure budget, percent of the requests.
	BudgetPct float64
	// AutoInitial sizes the initial pool to each target.
	AutoInitial bool
	// Namespace and Deployment are the workload the ScaledObject selects.
	Namespace, Deployment string
}

// Recommend sweeps each Prometheus signal form of forms over the
// targets of cfg.Utilizations, under each of lab.Behaviors(), over
// cfg.Seeds seeds, and picks by lab.Choose: the fewest replica-seconds
// among the settings within the failure budget. It returns the choice,
// why, and its KEDA ScaledObject.
func Recommend(ctx context.Context, sc lab.Scenario, forms []lab.Signal, cfg RecommendConfig, progress func(done, total int)) (*lab.Recommendation, error) {
	behaviors := lab.Behaviors()
	type key struct {
		sig  lab.Signal
		util float64
		beh  int
	}
	var jobs []Job
	var keys []key
	for _, sig := range forms {
		if sig.Kind == lab.CPU || sig.Kind == lab.Fixed {
			continue // the ScaledObject is for a Prometheus trigger
		}
		for _, u := range cfg.Utilizations {
			for bi, b := range behaviors {
				c := sc.AtUtilization(u, cfg.AutoInitial)
				c.Behavior, c.BehaviorName = b.Behavior, b.Name
				c = c.WithDefaults()
				if err := c.Validate(); err != nil {
					return nil, fmt.Errorf("recommend: utilization %v: %w", u, err)
				}
				for _, s := range Seeds(c, max(cfg.Seeds, 1)) {
					jobs = append(jobs, Job{s, sig})
					keys = append(keys, key{sig, u, bi})
				}
			}
		}
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("recommend: no Prometheus signal among the forms")
	}
	runs, err := RunAll(ctx, jobs, cfg.Workers, progress)
	if err != nil {
		return nil, err
	}
	var cands []lab.Candidate
	for i := 0; i < len(jobs); {
		j := i
		for j < len(jobs) && keys[j] == keys[i] {
			j++
		}
		k := keys[i]
		target, unit := k.sig.TargetOf(sc.TargetsAt(k.util))
		p := lab.PointFrom(runs[i:j], k.sig.Name, k.util, target, unit)
		cands = append(cands, lab.CandidateFrom(p, runs[i].Summary.Query, behaviors[k.beh].Name))
		i = j
	}
	best, within := lab.Choose(cands, cfg.BudgetPct)
	var beh lab.NamedBehavior
	for _, b := range behaviors {
		if b.Name == best.Behavior {
			beh = b
		}
	}
	c := sc.WithDefaults()
	svc := c.Service
	svc.Mean = c.MeanAt(0)
	yaml, err := lab.ScaledObject(best, &c, beh.Behavior, cfg.Namespace, cfg.Deployment)
	if err != nil {
		return nil, err
	}
	return &lab.Recommendation{
		Best: best, Candidates: cands, ScaledObject: yaml, BudgetPct: cfg.BudgetPct,
		Rule: fmt.Sprintf("the fewest replica-seconds among the settings whose mean failures stay within %.2f %% of the requests", cfg.BudgetPct),
		Why:  lab.Explain(best, cands, cfg.BudgetPct, within, &svc),
	}, nil
}
