package sim

import (
	"context"
	"fmt"

	"github.com/otel-runway/runway/examples/autoscale/lab"
)

// Recommend simulates sc under each signal form in forms, at thresholds
// of 0.5, 0.75, 1 and 1.25 times sc.Threshold and under each of
// lab.Behaviors(), and returns the candidate that held p95 best per
// replica-second (lab.Choose) with its KEDA ScaledObject.
func Recommend(ctx context.Context, sc lab.Scenario, forms []lab.Signal, progress func(done, total int)) (*lab.Recommendation, error) {
	var cands []lab.Candidate
	behaviors := lab.Behaviors()
	factors := []float64{0.5, 0.75, 1, 1.25}
	total := len(forms) * len(factors) * len(behaviors)
	for _, sig := range forms {
		if sig.Kind == lab.CPU || sig.Kind == lab.Fixed {
			continue // the ScaledObject is for a Prometheus trigger
		}
		for _, f := range factors {
			for _, b := range behaviors {
				c := sc
				c.Threshold = sc.Threshold * f
				c.Targets = lab.Targets{}
				c.Behavior, c.BehaviorName = b.Behavior, b.Name
				run, err := Run(ctx, c, sig, nil)
				if err != nil {
					return nil, err
				}
				cands = append(cands, lab.CandidateFrom(&run, c.Threshold, b.Name))
				if progress != nil {
					progress(len(cands), total)
				}
			}
		}
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("recommend: no Prometheus signal among the forms")
	}
	best := lab.Choose(cands)
	var beh lab.NamedBehavior
	for _, b := range behaviors {
		if b.Name == best.Behavior {
			beh = b
		}
	}
	c := sc.WithDefaults()
	yaml, err := lab.ScaledObject(best, &c, beh.Behavior)
	if err != nil {
		return nil, err
	}
	return &lab.Recommendation{
		Best: best, Candidates: cands, ScaledObject: yaml,
		Rule: "lowest p95 × replica-seconds among the settings whose errors and timeouts are within 0.1 point (or a tenth) of the fewest",
	}, nil
}
