package lab

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/otel-runway/runway/examples/autoscale/hpa"
	"github.com/otel-runway/runway/examples/scalequery"
)

// Candidate is one autoscaler setting the recommendation tried: a signal
// form at a per-pod target (in the signal's own unit, the number the
// ScaledObject's threshold carries) under a behavior, over seeds.
type Candidate struct {
	Signal string `json:"signal"`
	Query  string `json:"query"`
	// Target is the per-pod threshold in Unit; Utilization the steady-state
	// utilization it holds.
	Target      float64 `json:"target"`
	Unit        string  `json:"unit"`
	Utilization float64 `json:"utilization"`
	Behavior    string  `json:"behavior"`
	// FailedPct is errors and timeouts in percent of the requests.
	FailedPct      Stat `json:"failed_pct"`
	P95S           Stat `json:"p95_s"`
	ReplicaSeconds Stat `json:"replica_seconds"`
	// Eligible: within the failure budget.
	Eligible bool `json:"eligible"`
}

// Recommendation is the best candidate, why, and the ScaledObject for it.
type Recommendation struct {
	Best       Candidate   `json:"best"`
	Candidates []Candidate `json:"candidates"`
	// BudgetPct is the failure budget, percent of the requests.
	BudgetPct    float64 `json:"failure_budget_pct"`
	Rule         string  `json:"rule"`
	Why          string  `json:"why"`
	ScaledObject string  `json:"scaled_object"`
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

// CandidateFrom is the front point p of a signal form under a behavior.
func CandidateFrom(p FrontPoint, query, behavior string) Candidate {
	return Candidate{
		Signal: p.Signal, Query: query, Target: p.Target, Unit: p.Unit, Utilization: p.Utilization, Behavior: behavior,
		FailedPct: p.FailedPct, P95S: p.P95S, ReplicaSeconds: p.ReplicaSeconds,
	}
}

// Choose marks the candidates within the failure budget (mean failures
// at most budgetPct percent of the requests) and picks the cheapest of
// them in replica-seconds, the lower p95 between equals: the point of the
// fronts where the budget meets the least cost. When none is within the
// budget it picks the one that failed least.
func Choose(cands []Candidate, budgetPct float64) (best Candidate, within bool) {
	b := -1
	for i := range cands {
		c := &cands[i]
		c.Eligible = c.FailedPct.Mean <= budgetPct
		if !c.Eligible {
			continue
		}
		if b < 0 || c.ReplicaSeconds.Mean < cands[b].ReplicaSeconds.Mean ||
			c.ReplicaSeconds.Mean == cands[b].ReplicaSeconds.Mean && c.P95S.Mean < cands[b].P95S.Mean {
			b = i
		}
	}
	if b >= 0 {
		return cands[b], true
	}
	for i := range cands {
		if b < 0 || cands[i].FailedPct.Mean < cands[b].FailedPct.Mean {
			b = i
		}
	}
	return cands[b], false
}

// Explain says why best was chosen, in the candidates' own numbers.
func Explain(best Candidate, cands []Candidate, budgetPct float64, within bool, svc *Service) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s at %s per pod: the threshold that holds a pod at %.0f%% of its %d slots × %.0f ms in a steady state",
		best.Signal, fmtTarget(best.Target, best.Unit), 100*best.Utilization, svc.Slots, 1000*svc.Mean)
	switch best.Unit {
	case "req/s":
		fmt.Fprintf(&b, " (%.2f × %d / %.3f s)", best.Utilization, svc.Slots, svc.Mean)
	case "in flight":
		fmt.Fprintf(&b, " (%.2f in service + %.2f waiting, Erlang C)", best.Utilization*float64(svc.Slots), best.Target-best.Utilization*float64(svc.Slots))
	}
	fmt.Fprintf(&b, ", behavior %s; failed %s %% (95%% interval over %d seeds), p95 %s ms, %s replica·s",
		best.Behavior, best.FailedPct.Format(1, 3), best.FailedPct.N, best.P95S.Format(1000, 0), best.ReplicaSeconds.Format(1, 0))
	n := 0
	for _, c := range cands {
		if c.Eligible {
			n++
		}
	}
	if within {
		fmt.Fprintf(&b, "; the cheapest of the %d of %d settings within the %.2f %% failure budget", n, len(cands), budgetPct)
		// The cheapest setting of each other signal within the budget.
		seen := map[string]bool{best.Signal: true}
		for _, c := range cands {
			if !c.Eligible || seen[c.Signal] {
				continue
			}
			cheapest := c
			for _, d := range cands {
				if d.Eligible && d.Signal == c.Signal && d.ReplicaSeconds.Mean < cheapest.ReplicaSeconds.Mean {
					cheapest = d
				}
			}
			seen[c.Signal] = true
			fmt.Fprintf(&b, "; %s's cheapest within it: %s per pod, %s replica·s (%+.1f %%)", c.Signal, fmtTarget(cheapest.Target, cheapest.Unit),
				cheapest.ReplicaSeconds.Format(1, 0), 100*(cheapest.ReplicaSeconds.Mean/best.ReplicaSeconds.Mean-1))
		}
	} else {
		fmt.Fprintf(&b, "; no setting met the %.2f %% failure budget: this one failed least", budgetPct)
	}
	return b.String()
}

// ScaledObject returns the KEDA ScaledObject of a candidate for the
// Deployment in namespace: the query from package scalequery, the
// threshold the candidate's per-pod target.
func ScaledObject(c Candidate, sc *Scenario, b hpa.Behavior, namespace, deployment string) (string, error) {
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
	sigs, err := ParseSignals(c.Signal)
	if err != nil {
		return "", err
	}
	spec, ok := sigs[0].Spec(namespace, deployment)
	if !ok {
		return "", fmt.Errorf("recommend: %s has no Prometheus trigger", c.Signal)
	}
	query, err := spec.Query()
	if err != nil {
		return "", err
	}
	threshold := strconv.FormatFloat(c.Target, 'f', 2, 64)
	body := map[string]any{
		"scaleTargetRef":  map[string]any{"name": deployment},
		"pollingInterval": int(sc.PollingInterval),
		"minReplicaCount": sc.MinReplicas,
		"maxReplicaCount": sc.MaxReplicas,
		"triggers": []any{map[string]any{
			"type":       "prometheus",
			"metricType": spec.MetricType(),
			"metadata": map[string]any{
				"serverAddress": scalequery.DefaultServerAddress,
				"query":         query,
				"threshold":     threshold,
			},
		}},
	}
	if !b.IsZero() {
		// Without it KEDA creates an HPA with no behavior, as simulated.
		body["advanced"] = map[string]any{
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
		"metadata":   map[string]any{"name": deployment, "namespace": namespace},
		"spec":       body,
	}
	out, err := yaml.Marshal(obj)
	if err != nil {
		return "", err
	}
	head := fmt.Sprintf("# Recommended by the autoscaling lab: %s, threshold %s %s per pod (steady-state utilization %.2f), behavior %s.\n# In simulation: failed %s %%, p95 %s ms, %s replica-seconds (mean ± 95%% interval over %d seeds).\n",
		c.Signal, threshold, c.Unit, c.Utilization, c.Behavior, c.FailedPct.Format(1, 3), c.P95S.Format(1000, 0), c.ReplicaSeconds.Format(1, 0), c.FailedPct.N)
	return head + string(out), nil
}

func writeRecommendation(b io.Writer, r *Recommendation) {
	fmt.Fprintf(b, "  Recommendation (%s):\n", r.Rule)
	fmt.Fprintf(b, "  %-14s %18s %5s %-20s │ %13s %10s %15s\n", "signal", "threshold/pod", "ρ", "behavior", "failed %", "p95 ms", "replica·s")
	for _, c := range r.Candidates {
		mark := ""
		if c == r.Best {
			mark = "  ← best"
		} else if !c.Eligible {
			mark = "  (over budget)"
		}
		fmt.Fprintf(b, "  %-14s %18s %5.2f %-20s │ %13s %10s %15s%s\n", c.Signal, fmtTarget(c.Target, c.Unit), c.Utilization, c.Behavior,
			c.FailedPct.Format(1, 3), c.P95S.Format(1000, 0), c.ReplicaSeconds.Format(1, 0), mark)
	}
	fmt.Fprintf(b, "\n  Why: %s.\n\n%s", r.Why, r.ScaledObject)
}
