package hpa

import (
	"testing"
	"time"
)

// The tests in this file each follow one function of the HPA controller
// in kubernetes/kubernetes, pkg/controller/podautoscaler
// (replica_calculator.go and horizontal.go), named in the comment.

// 1. getUsageRatioReplicaCount (GetExternalMetricReplicas, an External
// metric with a Value target): "replicaCount = int32(math.Ceil(usageRatio
// * float64(readyPodCount)))", readyPodCount from getReadyPodsCount (pods
// Running and Ready), not the current replica count.
func TestExternalValueUsesReadyPods(t *testing.T) {
	ready := Pod{Ready: true, Started: t0, ReadyChanged: t0}
	starting := Pod{Pending: true}
	a := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Metric: ExternalValue, Target: 0.100, Behavior: noRate()})
	// 4 replicas, 2 of them ready, the metric at 2× the target: 2 × 2 = 4,
	// not 4 × 2 = 8.
	in := Input{Value: 0.200, Valid: true, Pods: []Pod{ready, ready, starting, starting}}
	if got := a.Sync(t0, 4, in); got != 4 {
		t.Errorf("Sync = %d, want 4 (ratio 2 × 2 ready pods)", got)
	}
}

// 2. GetResourceReplicas: "on a scale-down, treat missing pods as using
// 100% (all) of the resource request or the utilization target for
// targets higher than 100%": fallbackUtilization = max(100,
// targetUtilization). calcPlainMetricReplicas (Pods metrics) uses the
// target itself.
func TestMissingPodsOnResourceScaleDown(t *testing.T) {
	at := func(v float64) Pod {
		return Pod{Ready: true, HasMetric: true, Value: v, Started: t0.Add(-time.Hour), ReadyChanged: t0.Add(-time.Hour), MetricTime: t0, MetricWindow: 15 * time.Second}
	}
	noMetric := Pod{Ready: true, Started: t0.Add(-time.Hour), ReadyChanged: t0.Add(-time.Hour)}
	pods := []Pod{at(0.1), at(0.1), at(0.1), noMetric}
	for _, tc := range []struct {
		name   string
		kind   MetricKind
		target float64
		want   int32
	}{
		// (10+10+10+100)/4 = 32 % of 50 % → ceil(0.64 × 4) = 3; at the
		// target it would be (10+10+10+50)/4 = 20 % → 2.
		{"Resource below 100 %: missing at 100 %", ResourceUtilization, 0.5, 3},
		// (10+10+10+150)/4 = 45 % of 150 % → ceil(0.3 × 4) = 2.
		{"Resource above 100 %: missing at the target", ResourceUtilization, 1.5, 2},
		// Pods metric: (0.1×3 + 0.5)/4 = 0.2 of 0.5 → ceil(0.4 × 4) = 2.
		{"Pods metric: missing at the target", PodsAverageValue, 0.5, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Metric: tc.kind, Target: tc.target, Behavior: noRate()})
			if got := a.Sync(t0, 4, Input{Pods: pods, Valid: true}); got != tc.want {
				t.Errorf("Sync = %d, want %d", got, tc.want)
			}
		})
	}
}

// 3. Tolerances.isWithin: "(1.0-t.scaleDown) <= usageRatio && usageRatio
// <= (1.0+t.scaleUp)", each direction's tolerance from the behavior's
// HPAScalingRules.tolerance (the HPAConfigurableTolerance gate), else the
// controller's --horizontal-pod-autoscaler-tolerance.
func TestToleranceEdgesAndDirections(t *testing.T) {
	// 44 / (4 × 10) is 1.1 in float64, which is also 1 + 0.1: within.
	// (|1 − 1.1| is 0.10000000000000009 > 0.1, so an absolute-value test
	// would scale to 11.)
	a := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Target: 4, Behavior: noRate()})
	if got := a.Sync(t0, 10, ext(44)); got != 10 {
		t.Errorf("ratio 1 + tolerance = %d, want 10 (within)", got)
	}
	if got := a.Sync(t0.Add(time.Minute), 10, ext(36)); got != 10 {
		t.Errorf("ratio 1 − tolerance = %d, want 10 (within)", got)
	}
	b := noRate()
	b.ScaleUp.Tolerance = Float(0.05)
	b.ScaleDown.Tolerance = Float(0.2)
	for _, tc := range []struct {
		value float64
		want  int32
	}{
		{42.8, 11}, // 1.07 > 1.05: scales up
		{41.6, 10}, // 1.04: within the scale-up tolerance
		{34, 10},   // 0.85 ≥ 0.8: within the scale-down tolerance
		{31.2, 8},  // 0.78: scales down
	} {
		a := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Target: 4, Behavior: b})
		if got := a.Sync(t0, 10, ext(tc.value)); got != tc.want {
			t.Errorf("up 5 %%, down 20 %%, ratio %.2f: %d, want %d", tc.value/40, got, tc.want)
		}
	}
	if down, up := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 2, Target: 1, Behavior: b}).Tolerances(); down != 0.2 || up != 0.05 {
		t.Errorf("Tolerances = %v, %v", down, up)
	}
	// Without a behavior the controller's tolerance holds both ways.
	c := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Target: 4, Tolerance: 0.3})
	if down, up := c.Tolerances(); down != 0.3 || up != 0.3 {
		t.Errorf("Tolerances without behavior = %v, %v", down, up)
	}
}

// 4. GetResourceUtilizationRatio: "currentUtilization =
// int32((metricsTotal * 100) / requestsTotal)", an integer percent,
// divided by the integer targetUtilization.
func TestUtilizationTruncated(t *testing.T) {
	p := Pod{Ready: true, HasMetric: true, Value: 0.759, Started: t0.Add(-time.Hour), ReadyChanged: t0.Add(-time.Hour), MetricTime: t0, MetricWindow: 15 * time.Second}
	a := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Metric: ResourceUtilization, Target: 0.5, Behavior: noRate()})
	// 75.9 % truncates to 75 %: 75 / 50 × 4 = 6 exactly (75.9 / 50 × 4 =
	// 6.07 would give 7).
	if got := a.Sync(t0, 4, Input{Pods: []Pod{p, p, p, p}, Valid: true}); got != 6 {
		t.Errorf("Sync = %d, want 6", got)
	}
	if _, err := New(Config{MinReplicas: 1, MaxReplicas: 2, Metric: ResourceUtilization, Target: 0.625}); err == nil || !contains(err.Error(), "Target") {
		t.Errorf("a target of 62.5 %% = %v, want an error naming Target", err)
	}
}

// 5. An HPA without behavior: reconcileAutoscaler calls
// normalizeDesiredReplicas (not normalizeDesiredReplicasWithBehaviors),
// whose convertDesiredReplicasWithRules caps a scale-up at
// calculateScaleUpLimit = max(scaleUpLimitFactor × current,
// scaleUpLimitMinimum) = max(2 × current, 4) at every sync, with no
// period, and whose stabilizeRecommendation keeps the highest
// recommendation not older than downscaleStabilisationWindow (5 min), with
// no scale-down rate limit.
func TestNoBehavior(t *testing.T) {
	a := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Target: 1})
	for _, s := range []struct {
		at   time.Duration
		cur  int32
		want int32
	}{
		{0, 1, 4},                 // max(2, 4); the defaults of a behavior would give 5
		{5 * time.Second, 4, 8},   // no period: doubles again at the next sync
		{10 * time.Second, 8, 16}, // (a behavior's 15 s period would hold 5)
		{15 * time.Second, 16, 32},
		{20 * time.Second, 32, 50},
	} {
		if got := a.Sync(t0.Add(s.at), s.cur, ext(50)); got != s.want {
			t.Fatalf("at %v from %d: %d, want %d", s.at, s.cur, got, s.want)
		}
	}
	// Down: every recommendation of the last 5 min holds, the oldest one
	// (at 20 s) until it is older than the window, then all at once.
	for s := 35; s <= 320; s += 15 {
		if got := a.Sync(t0.Add(time.Duration(s)*time.Second), 50, ext(2)); got != 50 {
			t.Fatalf("at %d s: %d, want 50 (the 50 of 20 s is in the window)", s, got)
		}
	}
	if got := a.Sync(t0.Add(335*time.Second), 50, ext(2)); got != 2 {
		t.Fatalf("after the window: %d, want 2 (no scale-down policy)", got)
	}
	// The window is the controller's --horizontal-pod-autoscaler-downscale-stabilization.
	b := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Target: 1, DownscaleStabilizationWindow: 30 * time.Second})
	b.Sync(t0, 10, ext(10))
	if got := b.Sync(t0.Add(30*time.Second), 10, ext(2)); got != 10 {
		t.Errorf("30 s window at 30 s = %d, want 10 (a sample at the cutoff is kept)", got)
	}
	if got := b.Sync(t0.Add(45*time.Second), 10, ext(2)); got != 2 {
		t.Errorf("30 s window at 45 s = %d, want 2", got)
	}
	// maybeInitScaleDownStabilizationWindow: a behavior whose scale-down
	// window is unset takes the same controller window.
	c := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Target: 1, DownscaleStabilizationWindow: 30 * time.Second,
		Behavior: Behavior{ScaleUp: &Rules{}}})
	if _, down := c.Rules(); *down.StabilizationWindow != 30*time.Second {
		t.Errorf("behavior's scale-down window = %v, want the controller's 30 s", *down.StabilizationWindow)
	}
}

// 6. recordInitialRecommendation: the first reconcile of an HPA records
// {currentReplicas, now} as a recommendation, so a new HPA over a pool of
// 10 does not drop it at once.
func TestInitialRecommendation(t *testing.T) {
	for _, b := range []Behavior{{}, DefaultBehavior()} {
		a := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Target: 1, Behavior: b})
		if got := a.Sync(t0, 10, ext(2)); got != 10 {
			t.Errorf("behavior %v: first sync = %d, want 10 (the initial recommendation)", !b.IsZero(), got)
		}
	}
}

// 7. computeReplicasForMetrics returns -1 and an error when the metric
// cannot be read; reconcileAutoscaler then returns before
// normalizeDesiredReplicas and stabilizeRecommendation: nothing is
// recorded, nothing scales.
func TestFailedReadRecordsNothing(t *testing.T) {
	b := noRate()
	b.ScaleDown.StabilizationWindow = Duration(60 * time.Second)
	a := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Target: 1, Behavior: b})
	if got := a.Sync(t0, 10, ext(10)); got != 10 {
		t.Fatalf("steady = %d", got)
	}
	if got := a.Sync(t0.Add(50*time.Second), 10, Input{}); got != 10 {
		t.Fatalf("failed read = %d, want 10", got)
	}
	// At 100 s the window (40 s, 100 s] holds no recommendation of 10: the
	// failed read at 50 s left none.
	if got := a.Sync(t0.Add(100*time.Second), 10, ext(2)); got != 2 {
		t.Errorf("after a failed read = %d, want 2", got)
	}
	// Pods with no metric at all is the same failure ("did not receive
	// metrics for targeted pods"), not a recommendation of the current count.
	c := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Metric: PodsAverageValue, Target: 1, Behavior: b})
	c.Sync(t0, 10, Input{Valid: true, Pods: []Pod{{Ready: true, HasMetric: true, Value: 10}}})
	c.Sync(t0.Add(50*time.Second), 10, Input{Valid: true, Pods: []Pod{{Ready: true}}})
	if got := c.Sync(t0.Add(100*time.Second), 10, Input{Valid: true, Pods: []Pod{{Ready: true, HasMetric: true, Value: 2}}}); got != 2 {
		t.Errorf("after a sync with no pod metric = %d, want 2", got)
	}
}

// 8. groupPods: a deleted or failed pod is ignored; a Pending pod is
// unready; then any pod without a metric is missing, whether it is Ready
// or not; only then, for CPU, readiness decides: within
// cpuInitializationPeriod of its start a pod is unready if its Ready
// condition is False or its sample's window began before the last
// transition; after it, only if it is not Ready and has never been
// (its last transition within delayOfInitialReadinessStatus of its
// start). Other metrics ignore readiness.
func TestGroupPods(t *testing.T) {
	old := t0.Add(-time.Hour)
	at := func(v float64) Pod {
		return Pod{Ready: true, HasMetric: true, Value: v, Started: old, ReadyChanged: old, MetricTime: t0, MetricWindow: 15 * time.Second}
	}
	runningNoMetric := Pod{Started: t0.Add(-10 * time.Second), ReadyChanged: t0.Add(-10 * time.Second)}
	young := Pod{HasMetric: true, Value: 0.1, Started: t0.Add(-time.Minute), ReadyChanged: t0.Add(-time.Minute), MetricTime: t0, MetricWindow: 15 * time.Second}
	wasReady := Pod{HasMetric: true, Value: 0.5, Started: old, ReadyChanged: t0.Add(-time.Minute), MetricTime: t0, MetricWindow: 15 * time.Second}
	neverReady := Pod{HasMetric: true, Value: 0.5, Started: old, ReadyChanged: old.Add(10 * time.Second), MetricTime: t0, MetricWindow: 15 * time.Second}
	for _, tc := range []struct {
		name string
		kind MetricKind
		pods []Pod
		want int32
	}{
		// Scale-down (3 × 10 % of 50 %): a Running, not Ready pod with no
		// metric is missing and counts at 100 %: (30 + 100) / 4 = 32 % →
		// ceil(0.64 × 4) = 3. Were it unready it would be left out:
		// 10 / 50 × 3 → 1.
		{"running not ready, no metric: missing", ResourceUtilization, []Pod{at(0.1), at(0.1), at(0.1), runningNoMetric}, 3},
		{"pending: unready, left out on a scale-down", ResourceUtilization, []Pod{at(0.1), at(0.1), at(0.1), {Pending: true}}, 1},
		{"terminating: ignored", ResourceUtilization, []Pod{at(0.1), at(0.1), at(0.1), {Terminating: true}}, 1},
		// Within the initialization period, not Ready with a metric:
		// unready, left out.
		{"young not ready with a metric: unready", ResourceUtilization, []Pod{at(0.1), at(0.1), at(0.1), young}, 1},
		// Past it, a pod not Ready now but Ready before counts: (90 + 90
		// + 50) / 3 = 76 % of 50 % → ceil(1.52 × 3) = 5.
		{"not ready, ready before: counted", ResourceUtilization, []Pod{at(0.9), at(0.9), wasReady}, 5},
		// Never Ready (its transition within 30 s of its start): unready,
		// at 0 on a scale-up: (90 + 90 + 0) / 3 = 60 % → ceil(1.2 × 3) = 4.
		{"never ready: unready", ResourceUtilization, []Pod{at(0.9), at(0.9), neverReady}, 4},
		// Pods metrics ignore readiness: the not-Ready pod's 1.7 counts,
		// (0.3 + 1.7) / 4 = 0.5 = the target → 4; left out, 0.1 of 0.5
		// would give 1.
		{"Pods metric: not ready with a metric counts", PodsAverageValue, []Pod{at(0.1), at(0.1), at(0.1), {HasMetric: true, Value: 1.7}}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := mustNew(t, Config{MinReplicas: 1, MaxReplicas: 100, Metric: tc.kind, Target: 0.5, Behavior: noRate()})
			if got := a.Sync(t0, int32(len(tc.pods)), Input{Pods: tc.pods, Valid: true}); got != tc.want {
				t.Errorf("Sync = %d, want %d", got, tc.want)
			}
		})
	}
}
