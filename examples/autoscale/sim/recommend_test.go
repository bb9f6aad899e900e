package sim

import (
	"context"
	"strings"
	"testing"

	"github.com/otel-runway/runway/examples/autoscale/lab"
)

// The recommendation tries every Prometheus form × target × behavior
// over seeds, and picks the cheapest setting within the failure budget
// (lab.Choose), whose ScaledObject carries that setting's threshold.
func TestRecommend(t *testing.T) {
	p, _ := lab.ParseProfile("step:low=40,high=120,at=60,dur=300")
	sc := lab.Scenario{Profile: p, Service: lab.IOService(4, 16, 0.1), Threshold: 3, MinReplicas: 1, MaxReplicas: 20, StartupDelay: 10, Seed: 2}
	forms, _ := lab.ParseSignals("inflight,rps:1m,cpu")
	cfg := RecommendConfig{Utilizations: []float64{0.5, 0.8}, Seeds: 2, Workers: 2, BudgetPct: 0.5, AutoInitial: true, Namespace: "default", Deployment: "runway-demo"}
	rec, err := Recommend(context.Background(), sc, forms, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * 2 * len(lab.Behaviors()); len(rec.Candidates) != want {
		t.Fatalf("%d candidates, want %d (cpu has no Prometheus trigger)", len(rec.Candidates), want)
	}
	for _, c := range rec.Candidates {
		if c.FailedPct.N != 2 {
			t.Errorf("%s: %d seeds, want 2", c.Signal, c.FailedPct.N)
		}
		if rec.Best.Eligible && c.Eligible && c.ReplicaSeconds.Mean < rec.Best.ReplicaSeconds.Mean {
			t.Errorf("%+v is within the budget and cheaper than the best %+v", c, rec.Best)
		}
	}
	if !strings.Contains(rec.ScaledObject, rec.Best.Query) || !strings.Contains(rec.ScaledObject, "kind: ScaledObject") ||
		!strings.Contains(rec.ScaledObject, `threshold: "`) {
		t.Errorf("ScaledObject:\n%s", rec.ScaledObject)
	}
	if !strings.Contains(rec.Why, rec.Best.Signal) {
		t.Errorf("Why = %q", rec.Why)
	}
}
