package lab

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/otel-runway/runway/examples/autoscale/hpa"
)

// Candidate is one autoscaler setting the recommendation tried.
type Candidate struct {
	Signal    string  `json:"signal"`
	Query     string  `json:"query"`
	Threshold float64 `json:"threshold"`
	Behavior  string  `json:"behavior"`
	P95S      float64 `json:"p95_s"`
	// Failed is errors plus timeouts over requests.
	Failed         float64 `json:"failed_fraction"`
	ReplicaSeconds float64 `json:"replica_seconds"`
	// Score is p95 × replica-seconds: lower holds p95 better per
	// replica-second.
	Score    float64 `json:"score"`
	Eligible bool    `json:"eligible"`
}

// Recommendation is the best candidate and the ScaledObject for it.
type Recommendation struct {
	Best         Candidate   `json:"best"`
	Candidates   []Candidate `json:"candidates"`
	Rule         string      `json:"rule"`
	ScaledObject string      `json:"scaled_object"`
}

// NamedBehavior is a behavior with a name for reports.
type NamedBehavior struct {
	Name     string
	Behavior hpa.Behavior
}

// Behaviors are the behavior settings the recommendation tries.
func Behaviors() []NamedBehavior {
	fastUp := &hpa.Rules{StabilizationWindow: hpa.Duration(0), SelectPolicy: hpa.SelectMax, Policies: []hpa.Policy{
		{Type: hpa.PercentPolicy, Value: 100, Period: 15 * time.Second},
		{Type: hpa.PodsPolicy, Value: 10, Period: 15 * time.Second},
	}}
	shortDown := &hpa.Rules{StabilizationWindow: hpa.Duration(60 * time.Second), SelectPolicy: hpa.SelectMax, Policies: []hpa.Policy{
		{Type: hpa.PercentPolicy, Value: 50, Period: 30 * time.Second},
	}}
	return []NamedBehavior{
		{"none", hpa.Behavior{}},
		{"fast-up", hpa.Behavior{ScaleUp: fastUp}},
		{"fast-up-short-down", hpa.Behavior{ScaleUp: fastUp, ScaleDown: shortDown}},
	}
}

// Choose marks the eligible candidates and picks the best: failures
// first, then cost. A candidate is eligible when it failed (errors and
// timeouts) at most 0.1 percentage point, or a tenth, more than the
// candidate that failed least; among those the lowest p95 ×
// replica-seconds wins.
func Choose(cands []Candidate) Candidate {
	least := 1.0
	for _, c := range cands {
		least = min(least, c.Failed)
	}
	limit := least + max(0.001, 0.1*least)
	best := -1
	for i := range cands {
		cands[i].Eligible = cands[i].Failed <= limit
		if cands[i].Eligible && (best < 0 || cands[i].Score < cands[best].Score) {
			best = i
		}
	}
	return cands[best]
}

// CandidateFrom scores a run.
func CandidateFrom(run *Run, threshold float64, behavior string) Candidate {
	s := run.Summary
	failed := 0.0
	if s.Requests > 0 {
		failed = float64(s.Errors+s.Timeouts) / float64(s.Requests)
	}
	return Candidate{
		Signal: s.Signal, Query: s.Query, Threshold: threshold, Behavior: behavior,
		P95S: s.P95S, Failed: failed, ReplicaSeconds: s.ReplicaSeconds,
		Score: s.P95S * s.ReplicaSeconds,
	}
}

// ScaledObject returns the KEDA ScaledObject of a candidate.
func ScaledObject(c Candidate, sc *Scenario, b hpa.Behavior) (string, error) {
	type policy struct {
		Type          string `json:"type"`
		Value         int32  `json:"value"`
		PeriodSeconds int    `json:"periodSeconds"`
	}
	type rules struct {
		StabilizationWindowSeconds int      `json:"stabilizationWindowSeconds"`
		SelectPolicy               string   `json:"selectPolicy"`
		Policies                   []policy `json:"policies"`
	}
	conv := func(r *hpa.Rules, def hpa.Rules) *rules {
		if r == nil {
			r = &def
		}
		out := &rules{SelectPolicy: string(r.SelectPolicy)}
		if r.StabilizationWindow != nil {
			out.StabilizationWindowSeconds = int(r.StabilizationWindow.Seconds())
		}
		for _, p := range r.Policies {
			out.Policies = append(out.Policies, policy{string(p.Type), p.Value, int(p.Period.Seconds())})
		}
		return out
	}
	query := c.Query
	threshold := strconv.FormatFloat(c.Threshold, 'f', -1, 64)
	if strings.Contains(c.Signal, "rps") {
		threshold = strconv.FormatFloat(c.Threshold/sc.Service.Mean, 'f', 2, 64)
	}
	spec := map[string]any{
		"scaleTargetRef":  map[string]any{"name": "runway-demo"},
		"pollingInterval": int(sc.PollingInterval),
		"minReplicaCount": sc.MinReplicas,
		"maxReplicaCount": sc.MaxReplicas,
		"triggers": []any{map[string]any{
			"type":       "prometheus",
			"metricType": "AverageValue",
			"metadata": map[string]any{
				"serverAddress": "http://prometheus.monitoring.svc:9090",
				"query":         query,
				"threshold":     threshold,
			},
		}},
	}
	if !b.IsZero() {
		// Without it KEDA creates an HPA with no behavior, as simulated.
		spec["advanced"] = map[string]any{
			"horizontalPodAutoscalerConfig": map[string]any{
				"behavior": map[string]any{
					"scaleUp":   conv(b.ScaleUp, hpa.DefaultScaleUp()),
					"scaleDown": conv(b.ScaleDown, hpa.DefaultScaleDown()),
				},
			},
		}
	}
	obj := map[string]any{
		"apiVersion": "keda.sh/v1alpha1",
		"kind":       "ScaledObject",
		"metadata":   map[string]any{"name": "runway-demo"},
		"spec":       spec,
	}
	out, err := yaml.Marshal(obj)
	if err != nil {
		return "", err
	}
	head := fmt.Sprintf("# Recommended by the autoscaling lab: %s, threshold %s, behavior %s.\n# In simulation: p95 %.0f ms, %.0f replica-seconds, %.2f%% failed.\n",
		c.Signal, threshold, c.Behavior, c.P95S*1000, c.ReplicaSeconds, 100*c.Failed)
	return head + string(out), nil
}

func writeRecommendation(b io.Writer, r *Recommendation) {
	fmt.Fprintf(b, "  Recommendation (%s):\n", r.Rule)
	fmt.Fprintf(b, "  %-12s %9s %-20s %8s %8s %11s %12s\n", "signal", "threshold", "behavior", "p95 ms", "failed", "replica·s", "p95×repl·s")
	for _, c := range r.Candidates {
		mark := ""
		if c == r.Best {
			mark = "  ← best"
		} else if !c.Eligible {
			mark = "  (fails more)"
		}
		fmt.Fprintf(b, "  %-12s %9.2f %-20s %8.0f %7.2f%% %11.0f %12.1f%s\n", c.Signal, c.Threshold, c.Behavior, c.P95S*1000, 100*c.Failed, c.ReplicaSeconds, c.Score, mark)
	}
	fmt.Fprintf(b, "\n%s", r.ScaledObject)
}
