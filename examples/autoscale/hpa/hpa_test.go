package hpa

import (
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func mustNew(t *testing.T, cfg Config) *Autoscaler {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func ext(v float64) Input { return Input{Value: v, Valid: true} }

// noRate is a behavior that neither stabilizes nor rate-limits, so a test
// sees the raw replica calculation.
func noRate() Behavior {
	free := []Policy{{Type: PercentPolicy, Value: 1000, Period: 15 * time.Second}}
	return Behavior{
		ScaleUp:   &Rules{StabilizationWindow: Duration(0), Policies: free},
		ScaleDown: &Rules{StabilizationWindow: Duration(0), Policies: free},
	}
}

// Kubernetes docs, "Algorithm details": desiredReplicas =
// ceil[currentReplicas * (currentMetricValue / desiredMetricValue)]; "if
// the current metric value is 200m, and the desired value is 100m, the
// number of replicas will be doubled ... If the current value is instead
// 50m, you'll halve the number of replicas".
func TestAlgorithmWorkedExample(t *testing.T) {
	for _, tc := range []struct {
		name    string
		kind    MetricKind
		current int32
		value   float64
		want    int32
	}{
		{"Value 200m of 100m doubles", ExternalValue, 4, 0.200, 8},
		{"Value 50m of 100m halves", ExternalValue, 4, 0.050, 2},
		// AverageValue: the External total is divided by the target per
		// replica (GetExternalPerPodMetricReplicas): 4 pods at 200m each.
		{"AverageValue 4×200m of 100m doubles", ExternalAverageValue, 4, 0.800, 8},
		{"AverageValue 4×50m of 100m halves", ExternalAverageValue, 4, 0.200, 2},
		// ceil, not round: 3 × 1.5 = 4.5 → 5.
		{"ceil", ExternalValue, 3, 0.150, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Metric: tc.kind, Target: 0.100, Behavior: noRate()})
			if got := a.Sync(t0, tc.current, ext(tc.value)); got != tc.want {
				t.Errorf("Sync = %d, want %d", got, tc.want)
			}
		})
	}
}

// Kubernetes docs: "The control plane skips any scaling action if the
// ratio is sufficiently close to 1.0 (within a configurable tolerance, 0.1
// by default)." The edges are in TestToleranceEdgesAndDirections.
func TestTolerance(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value float64
		want  int32
	}{
		{"ratio 1.09 is within", 43.6, 10},
		{"ratio 0.91 is within", 36.4, 10},
		{"ratio 1.11 scales up", 44.4, 12},
		{"ratio 0.89 scales down", 35.6, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Target: 4, Behavior: noRate()})
			if got := a.Sync(t0, 10, ext(tc.value)); got != tc.want {
				t.Errorf("Sync(10 replicas, total %v, target 4) = %d, want %d", tc.value, got, tc.want)
			}
		})
	}
	a := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Target: 4, NoTolerance: true, Behavior: noRate()})
	if got := a.Sync(t0, 10, ext(41)); got != 11 {
		t.Errorf("without tolerance, ratio 1.025 = %d, want 11", got)
	}
}

// Kubernetes docs: the HPA scales between minReplicas and maxReplicas;
// "if the current replicas are above maxReplicas (or below min) the
// desired count is the bound" (horizontal.go, reconcileAutoscaler).
func TestMinMax(t *testing.T) {
	a := mustNew(t, Config{MinReplicas: 2, MaxReplicas: 5, Target: 1, Behavior: noRate()})
	if got := a.Sync(t0, 3, ext(100)); got != 5 {
		t.Errorf("scale-up past max = %d, want 5", got)
	}
	if got := a.Sync(t0.Add(time.Minute), 5, ext(0)); got != 2 {
		t.Errorf("scale-down past min = %d, want 2", got)
	}
	if got := a.Sync(t0.Add(2*time.Minute), 9, ext(9)); got != 5 {
		t.Errorf("current above max = %d, want 5", got)
	}
	if got := a.Sync(t0.Add(3*time.Minute), 1, ext(1)); got != 2 {
		t.Errorf("current below min = %d, want 2", got)
	}
	// Metric unavailable: keep the current count.
	if got := a.Sync(t0.Add(4*time.Minute), 3, Input{}); got != 3 {
		t.Errorf("invalid metric = %d, want 3", got)
	}
}

// Kubernetes docs, "Default Behavior" (a behavior field whose fields are
// left to the defaults): scale-up has no stabilization and
// allows the larger of 100 % and 4 pods every 15 seconds (selectPolicy
// Max). The API reference text says "per 60 seconds"; the controller's
// defaults (GenerateHPAScaleUpRules) and the docs' YAML use 15 s, and so
// do we.
func TestDefaultScaleUp(t *testing.T) {
	a := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Target: 1, Behavior: DefaultBehavior()})
	steps := []struct {
		at   time.Duration
		cur  int32
		want int32
	}{
		{0, 1, 5},                 // max(1+4, 2×1) = 5
		{5 * time.Second, 5, 5},   // within the same 15 s period: started at 1 → 5 already
		{15 * time.Second, 5, 10}, // new period: max(5+4, 2×5) = 10
		{30 * time.Second, 10, 20},
		{45 * time.Second, 20, 40},
		{60 * time.Second, 40, 50},
	}
	for _, s := range steps {
		if got := a.Sync(t0.Add(s.at), s.cur, ext(50)); got != s.want {
			t.Fatalf("at %v from %d: %d, want %d", s.at, s.cur, got, s.want)
		}
	}
}

// Kubernetes docs, "Stabilization window": "the highest recommendation
// for the last 300 seconds is used" when scaling down (the default);
// after the window the lowest recommendation is allowed.
func TestDefaultScaleDownStabilization(t *testing.T) {
	a := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Target: 1, Behavior: DefaultBehavior()})
	if got := a.Sync(t0, 10, ext(10)); got != 10 {
		t.Fatalf("steady = %d", got)
	}
	for s := 15; s < 300; s += 15 {
		if got := a.Sync(t0.Add(time.Duration(s)*time.Second), 10, ext(2)); got != 10 {
			t.Fatalf("at %d s the 300 s window still holds 10, got %d", s, got)
		}
	}
	// At 300 s the recommendation of 10 (at 0 s) has left the window.
	if got := a.Sync(t0.Add(300*time.Second), 10, ext(2)); got != 2 {
		t.Fatalf("after the window = %d, want 2", got)
	}
}

// A seeded recommendation is held by the scale-down window like any other:
// a new autoscaler over a pool that ran at 10 does not drop it at once.
func TestSeed(t *testing.T) {
	a := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Target: 1, Behavior: DefaultBehavior()})
	a.Seed(t0, 10)
	if got := a.Sync(t0.Add(15*time.Second), 10, ext(3)); got != 10 {
		t.Errorf("after a seed of 10 = %d, want 10 (the 300 s window)", got)
	}
	if got := a.Sync(t0.Add(300*time.Second), 10, ext(3)); got != 3 {
		t.Errorf("after the window = %d, want 3", got)
	}
}

// Kubernetes docs, scale-up stabilization ("the lowest recommendation in
// the window" when scaleUp.stabilizationWindowSeconds is set): a spike
// shorter than the window does not scale up.
func TestScaleUpStabilization(t *testing.T) {
	fast := []Policy{{Type: PercentPolicy, Value: 1000, Period: 15 * time.Second}}
	a := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Target: 1, Behavior: Behavior{
		ScaleUp:   &Rules{StabilizationWindow: Duration(60 * time.Second), Policies: fast},
		ScaleDown: &Rules{StabilizationWindow: Duration(0), Policies: fast},
	}})
	a.Sync(t0, 2, ext(2))
	if got := a.Sync(t0.Add(15*time.Second), 2, ext(8)); got != 2 {
		t.Errorf("spike inside the window = %d, want 2", got)
	}
	a.Sync(t0.Add(30*time.Second), 2, ext(8))
	a.Sync(t0.Add(45*time.Second), 2, ext(8))
	a.Sync(t0.Add(60*time.Second), 2, ext(8))
	// At 75 s, every recommendation in (15 s, 75 s] is 8.
	if got := a.Sync(t0.Add(75*time.Second), 2, ext(8)); got != 8 {
		t.Errorf("sustained for a window = %d, want 8", got)
	}
}

// Kubernetes docs, "Scaling Policies": with policies Pods 4/60 s and
// Percent 10/60 s (selectPolicy Max by default), "if there are 80 replicas
// and the target has to be scaled down to 10 replicas then during the
// first step 8 replicas will be reduced. In the next iteration when the
// number of replicas is 72, 10% of the pods is 7.2 but the number is
// rounded up to 8 ... When the number of replicas falls below 40, the
// first policy (Pods) is applied and 4 replicas will be reduced at a
// time."
func TestScaleDownPoliciesDocExample(t *testing.T) {
	a := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Target: 1, Behavior: Behavior{
		ScaleDown: &Rules{StabilizationWindow: Duration(0), Policies: []Policy{
			{Type: PodsPolicy, Value: 4, Period: 60 * time.Second},
			{Type: PercentPolicy, Value: 10, Period: 60 * time.Second},
		}},
	}})
	cur := int32(80)
	var seen []int32
	for i := 0; i < 12; i++ {
		cur = a.Sync(t0.Add(time.Duration(i)*time.Minute), cur, ext(10))
		seen = append(seen, cur)
	}
	want := []int32{72, 64, 57, 51, 45, 40, 36, 32, 28, 24, 20, 16}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("replicas per minute = %v, want %v", seen, want)
		}
	}
	// Within one period the policy counts what was already removed.
	b := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Target: 1, Behavior: Behavior{
		ScaleDown: &Rules{StabilizationWindow: Duration(0), Policies: []Policy{{Type: PodsPolicy, Value: 4, Period: 60 * time.Second}}},
	}})
	if got := b.Sync(t0, 20, ext(1)); got != 16 {
		t.Fatalf("first = %d, want 16", got)
	}
	if got := b.Sync(t0.Add(15*time.Second), 16, ext(1)); got != 16 {
		t.Fatalf("same period = %d, want 16", got)
	}
	if got := b.Sync(t0.Add(61*time.Second), 16, ext(1)); got != 12 {
		t.Fatalf("next period = %d, want 12", got)
	}
}

// Kubernetes docs: "selectPolicy: Min" picks the policy allowing the
// smallest change; "selectPolicy: Disabled" turns scaling in that
// direction off.
func TestSelectPolicy(t *testing.T) {
	pol := []Policy{{Type: PodsPolicy, Value: 4, Period: 15 * time.Second}, {Type: PercentPolicy, Value: 100, Period: 15 * time.Second}}
	minUp := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Target: 1, Behavior: Behavior{
		ScaleUp: &Rules{SelectPolicy: SelectMin, Policies: pol},
	}})
	if got := minUp.Sync(t0, 10, ext(100)); got != 14 {
		t.Errorf("Min of +4 and +100%% from 10 = %d, want 14", got)
	}
	off := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Target: 1, Behavior: Behavior{
		ScaleDown: &Rules{SelectPolicy: SelectDisabled},
	}})
	if got := off.Sync(t0, 10, ext(1)); got != 10 {
		t.Errorf("scale-down Disabled = %d, want 10", got)
	}
	if got := off.Sync(t0.Add(time.Second), 10, ext(30)); got != 20 {
		t.Errorf("scale-up still on = %d, want 20", got)
	}
}

// Kubernetes docs, "Algorithm details": for Pods and Resource metrics,
// "if any not-yet-ready pods were present, and the workload would have
// scaled up without factoring in missing metrics or not-yet-ready pods,
// the controller conservatively assumes that the not-yet-ready pods are
// consuming 0% of the desired metric"; pods missing metrics count as 100 %
// of the target on a scale-down and 0 % on a scale-up.
func TestUnreadyAndMissingPods(t *testing.T) {
	ready := Pod{Ready: true, HasMetric: true, Started: t0.Add(-time.Hour), ReadyChanged: t0.Add(-time.Hour), MetricTime: t0, MetricWindow: 30 * time.Second}
	at := func(v float64) Pod { p := ready; p.Value = v; return p }
	pending := Pod{Pending: true}
	noMetric := Pod{Ready: true, Started: t0.Add(-time.Hour), ReadyChanged: t0.Add(-time.Hour)}
	for _, tc := range []struct {
		name string
		kind MetricKind
		pods []Pod
		want int32
	}{
		// 2 ready pods at 2× target: alone they ask for 4; with 2 pending
		// pods counted at 0 the ratio is 1.0: no change from 4.
		{"scale-up with pending pods counted at 0", PodsAverageValue, []Pod{at(2), at(2), pending, pending}, 4},
		{"without them", PodsAverageValue, []Pod{at(2), at(2)}, 4},
		{"pending pods do not dampen a scale-down", PodsAverageValue, []Pod{at(0.2), at(0.2), pending}, 1},
		// Missing metric on a scale-down: counted at the target, so the
		// ratio (0.5+0.5+1)/3 = 0.67 → ceil(2) = 2, not 1.
		{"missing counted at target on scale-down", PodsAverageValue, []Pod{at(0.5), at(0.5), noMetric}, 2},
		// Missing metric on a scale-up: counted at 0: (3+3+0)/3 = 2 → 6.
		{"missing counted at 0 on scale-up", PodsAverageValue, []Pod{at(3), at(3), noMetric}, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Metric: tc.kind, Target: 1, Behavior: noRate()})
			if got := a.Sync(t0, int32(len(tc.pods)), Input{Pods: tc.pods, Valid: true}); got != tc.want {
				t.Errorf("Sync = %d, want %d", got, tc.want)
			}
		})
	}
}

// Kubernetes docs: "--horizontal-pod-autoscaler-cpu-initialization-period
// (5 minutes by default)": within it a CPU sample of a pod is ignored if
// the pod is unready or its sample window began before the pod became
// ready; a pod past it is ignored only if unready and never ready
// (--horizontal-pod-autoscaler-initial-readiness-delay, 30 s).
func TestCPUInitializationPeriod(t *testing.T) {
	old := Pod{Ready: true, HasMetric: true, Value: 1.0, Started: t0.Add(-time.Hour), ReadyChanged: t0.Add(-time.Hour), MetricTime: t0, MetricWindow: 30 * time.Second}
	young := Pod{Ready: true, HasMetric: true, Value: 1.0, Started: t0.Add(-40 * time.Second), ReadyChanged: t0.Add(-20 * time.Second), MetricTime: t0, MetricWindow: 30 * time.Second}
	settled := young
	settled.ReadyChanged = t0.Add(-35 * time.Second) // a full window of samples since ready
	for _, tc := range []struct {
		name string
		pods []Pod
		want int32
	}{
		// old at 100 % of a 50 % target wants 2; young is ignored, then
		// counted at 0: (1+0)/2 / 0.5 = 1.0 → no change from 2.
		{"young sample counted at 0 on scale-up", []Pod{old, young}, 2},
		{"settled sample counts", []Pod{old, settled}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Metric: ResourceUtilization, Target: 0.5, Behavior: noRate()})
			if got := a.Sync(t0, int32(len(tc.pods)), Input{Pods: tc.pods, Valid: true}); got != tc.want {
				t.Errorf("Sync = %d, want %d", got, tc.want)
			}
		})
	}
}

// KEDA docs, ScaledObject spec: "pollingInterval: This is the interval to
// check each trigger on. By default KEDA will check each trigger source on
// every ScaledObject every 30 seconds", and with useCachedMetrics "the
// metrics values used by the HPA are queried from the cache built during
// the polling interval" instead of on each HPA request.
func TestMetricCache(t *testing.T) {
	calls := 0
	q := func() (float64, bool) { calls++; return float64(calls), true }
	fresh := &MetricCache{}
	fresh.Value(t0, q)
	fresh.Value(t0.Add(15*time.Second), q)
	if calls != 2 {
		t.Fatalf("without cache the HPA queries each sync: %d calls, want 2", calls)
	}
	calls = 0
	c := &MetricCache{UseCachedMetrics: true}
	v1, _ := c.Value(t0, q)
	v2, _ := c.Value(t0.Add(15*time.Second), q)
	v3, _ := c.Value(t0.Add(30*time.Second), q)
	if v1 != 1 || v2 != 1 || v3 != 2 {
		t.Fatalf("cached values %v %v %v, want 1 1 2 (default 30 s polling)", v1, v2, v3)
	}
}

// Invalid configuration fails at construction, naming the field.
func TestNewInvalid(t *testing.T) {
	for _, tc := range []struct {
		name, field string
		cfg         Config
	}{
		{"min", "MinReplicas", Config{MinReplicas: 0, MaxReplicas: 1, Target: 1}},
		{"max", "MaxReplicas", Config{MinReplicas: 3, MaxReplicas: 2, Target: 1}},
		{"target", "Target", Config{MinReplicas: 1, MaxReplicas: 2}},
		{"policy", "Behavior.ScaleUp.Policies[0].Value", Config{MinReplicas: 1, MaxReplicas: 2, Target: 1,
			Behavior: Behavior{ScaleUp: &Rules{Policies: []Policy{{Type: PodsPolicy, Period: time.Second}}}}}},
		{"select", "Behavior.ScaleDown.SelectPolicy", Config{MinReplicas: 1, MaxReplicas: 2, Target: 1,
			Behavior: Behavior{ScaleDown: &Rules{SelectPolicy: "Most"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if !errors.Is(err, ErrInvalidConfig) || !contains(err.Error(), tc.field) {
				t.Fatalf("New = %v, want ErrInvalidConfig naming %s", err, tc.field)
			}
		})
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
