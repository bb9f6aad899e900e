package sim

import (
	"context"
	"strings"
	"testing"

	"github.com/otel-runway/runway/examples/autoscale/lab"
)

// The recommendation tries every form × threshold × behavior, picks one
// by lab.Choose's rule and writes its ScaledObject.
func TestRecommend(t *testing.T) {
	p, _ := lab.ParseProfile("step:low=40,high=120,at=60,dur=300")
	sc := lab.Scenario{Profile: p, Service: lab.IOService(4, 16, 0.1), Threshold: 3, MinReplicas: 1, MaxReplicas: 20, StartupDelay: 10, Seed: 2}
	forms, _ := lab.ParseSignals("inflight,irate:1m,cpu")
	rec, err := Recommend(context.Background(), sc, forms, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * 4 * len(lab.Behaviors()); len(rec.Candidates) != want {
		t.Fatalf("%d candidates, want %d (cpu has no Prometheus trigger)", len(rec.Candidates), want)
	}
	least := 1.0
	for _, c := range rec.Candidates {
		least = min(least, c.Failed)
	}
	for _, c := range rec.Candidates {
		if c.Eligible && c.Score < rec.Best.Score {
			t.Errorf("%+v is eligible and scores better than the best %+v", c, rec.Best)
		}
	}
	if !rec.Best.Eligible || rec.Best.Failed > least+0.001+1e-12 && rec.Best.Failed > 1.1*least {
		t.Errorf("best %+v fails more than the rule allows (fewest %v)", rec.Best, least)
	}
	if !strings.Contains(rec.ScaledObject, rec.Best.Query) || !strings.Contains(rec.ScaledObject, "kind: ScaledObject") {
		t.Errorf("ScaledObject:\n%s", rec.ScaledObject)
	}
}
