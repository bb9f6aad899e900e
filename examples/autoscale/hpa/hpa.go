package hpa

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// MetricKind is the form of the HPA metric.
type MetricKind int

const (
	// ExternalAverageValue is an External metric with an AverageValue
	// target: the metric is a total (KEDA's sum over pods) and the target
	// is per replica. It is what a KEDA trigger with the default
	// metricType produces. desired = ceil(total / target).
	ExternalAverageValue MetricKind = iota
	// ExternalValue is an External metric with a Value target: desired =
	// ceil(current × value / target).
	ExternalValue
	// PodsAverageValue is a Pods metric (one value per pod, averaged over
	// the ready pods) with an AverageValue target.
	PodsAverageValue
	// ResourceUtilization is the CPU Resource metric with a Utilization
	// target: each pod's usage as a fraction of its request, averaged.
	ResourceUtilization
)

func (k MetricKind) String() string {
	switch k {
	case ExternalAverageValue:
		return "External/AverageValue"
	case ExternalValue:
		return "External/Value"
	case PodsAverageValue:
		return "Pods/AverageValue"
	case ResourceUtilization:
		return "Resource/Utilization"
	}
	return fmt.Sprintf("MetricKind(%d)", int(k))
}

// PolicyType is the type of a scaling policy.
type PolicyType string

// The policy types of autoscaling/v2.
const (
	PodsPolicy    PolicyType = "Pods"
	PercentPolicy PolicyType = "Percent"
)

// Policy allows a change of Value pods (or Value percent of the replicas
// at the start of the period) within Period.
type Policy struct {
	Type   PolicyType
	Value  int32
	Period time.Duration
}

// SelectPolicy chooses among the policies of one direction.
type SelectPolicy string

// The selectPolicy values of autoscaling/v2; the default is Max.
const (
	SelectMax      SelectPolicy = "Max"
	SelectMin      SelectPolicy = "Min"
	SelectDisabled SelectPolicy = "Disabled"
)

// Rules are the scaling rules of one direction (HPAScalingRules).
type Rules struct {
	// StabilizationWindow, when nil, takes the direction's default: 0 up,
	// and the controller's DownscaleStabilizationWindow (300 s) down.
	StabilizationWindow *time.Duration
	// SelectPolicy defaults to Max.
	SelectPolicy SelectPolicy
	// Policies, when empty, take the direction's defaults.
	Policies []Policy
	// Tolerance, when set, replaces the controller's tolerance in this
	// direction (the tolerance field of HPAScalingRules, behind the
	// HPAConfigurableTolerance feature gate): no scale-up while the usage
	// ratio is at most 1 + the scale-up tolerance, no scale-down while it
	// is at least 1 − the scale-down tolerance.
	Tolerance *float64
}

// Behavior is the behavior field of an HPA. The zero Behavior is an HPA
// without the field (spec.behavior nil, what KEDA creates when the
// ScaledObject sets no behavior): the controller then takes its older
// path, normalizeDesiredReplicas, with a scale-up limit of max(2 ×
// current, 4) per sync and the controller's downscale stabilization
// window, and no rate policies. A Behavior with a direction set is a
// behavior field; its nil direction takes Kubernetes' defaults
// (normalizeDesiredReplicasWithBehaviors). DefaultBehavior is
// `behavior: {}`.
type Behavior struct {
	ScaleUp, ScaleDown *Rules
}

// IsZero reports whether b is the absent behavior field.
func (b Behavior) IsZero() bool { return b.ScaleUp == nil && b.ScaleDown == nil }

// DefaultBehavior returns a behavior field with Kubernetes' defaults in
// both directions, as the API server fills in `behavior: {}`: the
// scale-down window is left unset, so it is the controller's downscale
// stabilization window (300 s by default).
func DefaultBehavior() Behavior {
	up, down := DefaultScaleUp(), DefaultScaleDown()
	down.StabilizationWindow = nil
	return Behavior{ScaleUp: &up, ScaleDown: &down}
}

// Duration returns a pointer to d, for Rules.StabilizationWindow.
func Duration(d time.Duration) *time.Duration { return &d }

// Float returns a pointer to f, for Rules.Tolerance.
func Float(f float64) *float64 { return &f }

// DefaultScaleUp returns Kubernetes' default scale-up rules: no
// stabilization, and the larger of +100 % and +4 pods every 15 s.
func DefaultScaleUp() Rules {
	return Rules{
		StabilizationWindow: Duration(0),
		SelectPolicy:        SelectMax,
		Policies: []Policy{
			{Type: PercentPolicy, Value: 100, Period: 15 * time.Second},
			{Type: PodsPolicy, Value: 4, Period: 15 * time.Second},
		},
	}
}

// DefaultScaleDown returns Kubernetes' default scale-down rules: a 300 s
// stabilization window and up to −100 % every 15 s.
func DefaultScaleDown() Rules {
	return Rules{
		StabilizationWindow: Duration(300 * time.Second),
		SelectPolicy:        SelectMax,
		Policies:            []Policy{{Type: PercentPolicy, Value: 100, Period: 15 * time.Second}},
	}
}

// The controller's defaults (kube-controller-manager flags), and the
// scale-up limit of an HPA without behavior (horizontal.go's
// scaleUpLimitFactor and scaleUpLimitMinimum).
const (
	DefaultTolerance                    = 0.1
	DefaultSyncPeriod                   = 15 * time.Second
	DefaultCPUInitializationPeriod      = 5 * time.Minute
	DefaultInitialReadinessDelay        = 30 * time.Second
	DefaultDownscaleStabilizationWindow = 5 * time.Minute
	ScaleUpLimitFactor                  = 2.0
	ScaleUpLimitMinimum                 = 4.0
)

// Config is one HPA object and the controller settings it runs under.
type Config struct {
	MinReplicas, MaxReplicas int32
	Metric                   MetricKind
	// Target is the target value: per replica for ExternalAverageValue and
	// PodsAverageValue, the total for ExternalValue, a fraction of the CPU
	// request (0.6 for 60 %) for ResourceUtilization, which must be a whole
	// percent (averageUtilization is an integer).
	Target   float64
	Behavior Behavior
	// Tolerance is the controller's --horizontal-pod-autoscaler-tolerance,
	// for both directions unless a Rules.Tolerance replaces it; it
	// defaults to 0.1; set NoTolerance for none.
	Tolerance   float64
	NoTolerance bool
	// CPUInitializationPeriod and InitialReadinessDelay default to 5 min
	// and 30 s.
	CPUInitializationPeriod, InitialReadinessDelay time.Duration
	// DownscaleStabilizationWindow is the controller's
	// --horizontal-pod-autoscaler-downscale-stabilization (default 5 min):
	// the scale-down window of an HPA without behavior, and of a behavior
	// whose scale-down window is not set.
	DownscaleStabilizationWindow time.Duration
}

// Pod is one pod as the controller sees it at a sync.
type Pod struct {
	// Pending is true until the pod's containers run (phase Pending).
	Pending bool
	// Terminating is a pod being deleted or failed: the controller
	// ignores it altogether.
	Terminating bool
	// Ready is the pod's Ready condition; ReadyChanged is when it last
	// changed (zero: no Ready condition yet) and Started the pod's start
	// time (zero: not started).
	Ready        bool
	ReadyChanged time.Time
	Started      time.Time
	// HasMetric is false when the metrics API has no value for the pod.
	HasMetric bool
	// Value is the pod's metric (per-pod value, or CPU usage as a fraction
	// of its request; every pod is taken to request the same CPU);
	// MetricTime and MetricWindow are the end and length of the window it
	// was measured over.
	Value        float64
	MetricTime   time.Time
	MetricWindow time.Duration
}

// Input is what one sync sees.
type Input struct {
	// Value is the External metric (a total); unused for Pods and
	// Resource metrics.
	Value float64
	// Pods are the pods of the target: the metric's pods for Pods and
	// Resource metrics; for ExternalValue the ready ones (Running and
	// Ready) are the replica count the ratio multiplies (when Pods is
	// empty, every current replica counts as ready).
	Pods []Pod
	// Valid is false when the metric could not be read: the controller
	// then does nothing this sync, and records nothing.
	Valid bool
}

type recommendation struct {
	at       time.Time
	replicas int32
}

type scaleEvent struct {
	at     time.Time
	change int32
}

// Autoscaler is one HPA; it keeps the recommendations and scale events its
// windows and policies need. It is not safe for concurrent use.
type Autoscaler struct {
	cfg         Config
	up, down    Rules
	tol         tolerances
	recs        []recommendation
	started     bool
	upEvents    []scaleEvent
	downEvents  []scaleEvent
	lastDesired int32
	lastRaw     int32
}

// ErrInvalidConfig is wrapped by the errors of New.
var ErrInvalidConfig = errors.New("hpa: invalid config")

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
}

// New validates cfg, fills in the defaults and returns the autoscaler.
func New(cfg Config) (*Autoscaler, error) {
	if cfg.MinReplicas < 1 {
		return nil, invalid("MinReplicas", "%d is less than 1", cfg.MinReplicas)
	}
	if cfg.MaxReplicas < cfg.MinReplicas {
		return nil, invalid("MaxReplicas", "%d is less than MinReplicas %d", cfg.MaxReplicas, cfg.MinReplicas)
	}
	if !(cfg.Target > 0) {
		return nil, invalid("Target", "%v is not positive", cfg.Target)
	}
	if cfg.Metric < ExternalAverageValue || cfg.Metric > ResourceUtilization {
		return nil, invalid("Metric", "unknown kind %d", int(cfg.Metric))
	}
	if cfg.Metric == ResourceUtilization {
		pct := cfg.Target * 100
		if math.Abs(pct-math.Round(pct)) > 1e-6 {
			return nil, invalid("Target", "%v%% is not a whole percent (averageUtilization is an integer)", pct)
		}
	}
	if cfg.NoTolerance {
		cfg.Tolerance = 0
	} else if cfg.Tolerance == 0 {
		cfg.Tolerance = DefaultTolerance
	}
	if cfg.Tolerance < 0 {
		return nil, invalid("Tolerance", "%v is negative", cfg.Tolerance)
	}
	if cfg.CPUInitializationPeriod == 0 {
		cfg.CPUInitializationPeriod = DefaultCPUInitializationPeriod
	}
	if cfg.InitialReadinessDelay == 0 {
		cfg.InitialReadinessDelay = DefaultInitialReadinessDelay
	}
	if cfg.DownscaleStabilizationWindow == 0 {
		cfg.DownscaleStabilizationWindow = DefaultDownscaleStabilizationWindow
	}
	if cfg.DownscaleStabilizationWindow < 0 {
		return nil, invalid("DownscaleStabilizationWindow", "%v is negative", cfg.DownscaleStabilizationWindow)
	}
	up, err := fill("Behavior.ScaleUp", cfg.Behavior.ScaleUp, DefaultScaleUp())
	if err != nil {
		return nil, err
	}
	defDown := DefaultScaleDown()
	// maybeInitScaleDownStabilizationWindow: an unset scale-down window
	// takes the controller's downscale stabilization window.
	defDown.StabilizationWindow = Duration(cfg.DownscaleStabilizationWindow)
	down, err := fill("Behavior.ScaleDown", cfg.Behavior.ScaleDown, defDown)
	if err != nil {
		return nil, err
	}
	a := &Autoscaler{cfg: cfg, up: up, down: down, tol: tolerances{down: cfg.Tolerance, up: cfg.Tolerance}}
	if !cfg.Behavior.IsZero() {
		if up.Tolerance != nil {
			a.tol.up = *up.Tolerance
		}
		if down.Tolerance != nil {
			a.tol.down = *down.Tolerance
		}
	}
	return a, nil
}

// fill applies the API defaults of one direction, field by field, as the
// API server's defaulting does.
func fill(field string, r *Rules, def Rules) (Rules, error) {
	if r == nil {
		return def, nil
	}
	out := *r
	if out.StabilizationWindow == nil {
		out.StabilizationWindow = def.StabilizationWindow
	}
	if *out.StabilizationWindow < 0 || *out.StabilizationWindow > time.Hour {
		return out, invalid(field+".StabilizationWindow", "%v is outside 0..3600 s", *out.StabilizationWindow)
	}
	switch out.SelectPolicy {
	case "":
		out.SelectPolicy = SelectMax
	case SelectMax, SelectMin, SelectDisabled:
	default:
		return out, invalid(field+".SelectPolicy", "%q: want Max, Min or Disabled", out.SelectPolicy)
	}
	if len(out.Policies) == 0 {
		out.Policies = def.Policies
	}
	for i, p := range out.Policies {
		if p.Type != PodsPolicy && p.Type != PercentPolicy {
			return out, invalid(fmt.Sprintf("%s.Policies[%d].Type", field, i), "%q: want Pods or Percent", p.Type)
		}
		if p.Value <= 0 {
			return out, invalid(fmt.Sprintf("%s.Policies[%d].Value", field, i), "%d is not positive", p.Value)
		}
		if p.Period <= 0 || p.Period > 30*time.Minute {
			return out, invalid(fmt.Sprintf("%s.Policies[%d].Period", field, i), "%v is outside (0, 1800 s]", p.Period)
		}
	}
	if out.Tolerance != nil && !(*out.Tolerance >= 0) {
		return out, invalid(field+".Tolerance", "%v is negative", *out.Tolerance)
	}
	return out, nil
}

// Config returns the configuration with its defaults filled in.
func (a *Autoscaler) Config() Config { return a.cfg }

// Rules returns the scale-up and scale-down rules in force when the HPA
// has a behavior (with an absent behavior they are not used).
func (a *Autoscaler) Rules() (up, down Rules) { return a.up, a.down }

// Tolerances returns the scale-down and scale-up tolerances in force.
func (a *Autoscaler) Tolerances() (down, up float64) { return a.tol.down, a.tol.up }

// LastRecommendation returns the raw recommendation of the last sync,
// before stabilization, policies and bounds.
func (a *Autoscaler) LastRecommendation() int32 { return a.lastRaw }

// Seed records replicas as the recommendation at now, as if the
// autoscaler had been running and recommending that count: the
// stabilization windows then hold it as they would in a long-running HPA,
// instead of starting with the first sync's count.
func (a *Autoscaler) Seed(now time.Time, replicas int32) {
	a.recs = append(a.recs, recommendation{now, replicas})
	a.started = true
}

// Sync is one reconciliation at now with current replicas (the scale
// subresource's count, ready or not): it returns the replica count to set
// (reconcileAutoscaler).
func (a *Autoscaler) Sync(now time.Time, current int32, in Input) int32 {
	// recordInitialRecommendation: the first sync of an HPA records the
	// current count as a recommendation.
	if !a.started {
		a.recs = append(a.recs, recommendation{now, current})
		a.started = true
	}
	var desired int32
	switch {
	case current == 0:
		// The controller does not scale a target scaled to zero; KEDA
		// activates it.
		return 0
	case current > a.cfg.MaxReplicas:
		desired = a.cfg.MaxReplicas
	case current < a.cfg.MinReplicas:
		desired = a.cfg.MinReplicas
	default:
		raw, ok := current, in.Valid
		if ok {
			raw, ok = a.replicas(now, current, in)
		}
		a.lastRaw = raw
		if !ok {
			// computeReplicasForMetrics failed: reconcileAutoscaler
			// returns before normalizing, so nothing is recorded.
			return current
		}
		if a.cfg.Behavior.IsZero() {
			desired = a.normalizeNoBehavior(now, current, raw)
		} else {
			desired = a.normalize(now, current, raw)
		}
	}
	if desired != current && !a.cfg.Behavior.IsZero() {
		// storeScaleEvent keeps nothing for an HPA without behavior.
		a.record(now, current, desired)
	}
	a.lastDesired = desired
	return desired
}

// tolerances is replica_calculator.go's Tolerances.
type tolerances struct{ down, up float64 }

// isWithin is Tolerances.isWithin: (1 − down) ≤ ratio ≤ (1 + up).
func (t tolerances) isWithin(ratio float64) bool {
	return 1-t.down <= ratio && ratio <= 1+t.up
}

// replicas is the metric-based recommendation (replica_calculator.go);
// false when the controller could not compute one.
func (a *Autoscaler) replicas(now time.Time, current int32, in Input) (int32, bool) {
	target := a.cfg.Target
	switch a.cfg.Metric {
	case ExternalAverageValue:
		// GetExternalPerPodMetricReplicas.
		ratio := in.Value / (target * float64(current))
		if a.tol.isWithin(ratio) {
			return current, true
		}
		return int32(math.Ceil(in.Value / target)), true
	case ExternalValue:
		// GetExternalMetricReplicas and getUsageRatioReplicaCount: the
		// ratio multiplies the ready pods (getReadyPodsCount), not the
		// current count.
		ratio := in.Value / target
		if a.tol.isWithin(ratio) {
			return current, true
		}
		ready := current
		if len(in.Pods) > 0 {
			ready = 0
			for _, p := range in.Pods {
				if !p.Pending && !p.Terminating && p.Ready {
					ready++
				}
			}
		}
		return int32(math.Ceil(ratio * float64(ready))), true
	}
	return a.podReplicas(now, current, in.Pods)
}

// podReplicas is the Pods and Resource calculation (calcPlainMetricReplicas
// and GetResourceReplicas), with groupPods' treatment of unready, missing
// and ignored pods.
func (a *Autoscaler) podReplicas(now time.Time, current int32, pods []Pod) (int32, bool) {
	if len(pods) == 0 {
		return 0, false // "no pods returned by selector"
	}
	cpu := a.cfg.Metric == ResourceUtilization
	var values []float64
	unready, missing := 0, 0
	for _, p := range pods {
		switch {
		case p.Terminating:
			// ignored
		case p.Pending:
			unready++
		case !p.HasMetric:
			missing++
		case cpu && a.cpuUnready(now, p):
			unready++
		default:
			values = append(values, p.Value)
		}
	}
	if len(values) == 0 {
		return 0, false // "did not receive metrics for targeted pods"
	}
	ready := len(values)
	ratio := a.usageRatio(values)
	scaleUpWithUnready := unready > 0 && ratio > 1
	if !scaleUpWithUnready && missing == 0 {
		if a.tol.isWithin(ratio) {
			return current, true
		}
		return int32(math.Ceil(ratio * float64(ready))), true
	}
	if missing > 0 {
		fill := -1.0
		switch {
		case ratio < 1 && cpu:
			// GetResourceReplicas: a missing pod uses max(100 %, target)
			// of its request on a scale-down.
			fill = max(1, a.cfg.Target)
		case ratio < 1:
			// calcPlainMetricReplicas: exactly the target.
			fill = a.cfg.Target
		case ratio > 1:
			fill = 0
		}
		if fill >= 0 {
			for range missing {
				values = append(values, fill)
			}
		}
	}
	if scaleUpWithUnready {
		for range unready {
			values = append(values, 0)
		}
	}
	newRatio := a.usageRatio(values)
	if a.tol.isWithin(newRatio) || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1) {
		return current, true
	}
	out := int32(math.Ceil(newRatio * float64(len(values))))
	if (newRatio < 1 && out > current) || (newRatio > 1 && out < current) {
		return current, true
	}
	return out, true
}

// usageRatio is GetMetricUsageRatio, or for CPU GetResourceUtilizationRatio,
// which truncates the utilization to a whole percent before dividing by
// the (whole-percent) target.
func (a *Autoscaler) usageRatio(values []float64) float64 {
	sum := 0.0
	for _, v := range values {
		sum += v
	}
	mean := sum / float64(len(values))
	if a.cfg.Metric != ResourceUtilization {
		return mean / a.cfg.Target
	}
	// 1e-9 absorbs the float error of a fraction that is a whole percent.
	utilization := math.Floor(100*mean + 1e-9)
	return utilization / math.Round(100*a.cfg.Target)
}

// cpuUnready is groupPods' rule for CPU samples of pods with a metric.
func (a *Autoscaler) cpuUnready(now time.Time, p Pod) bool {
	if p.Started.IsZero() || p.ReadyChanged.IsZero() {
		return true
	}
	if p.Started.Add(a.cfg.CPUInitializationPeriod).After(now) {
		// Within initialisation: ignore an unready pod, or a sample whose
		// window began before the pod became ready.
		return !p.Ready || p.MetricTime.Before(p.ReadyChanged.Add(p.MetricWindow))
	}
	// Later: ignore a pod that is unready and has never been ready.
	return !p.Ready && p.Started.Add(a.cfg.InitialReadinessDelay).After(p.ReadyChanged)
}

// normalizeNoBehavior is normalizeDesiredReplicas, the path of an HPA
// without behavior: stabilizeRecommendation over the controller's
// downscale window, then convertDesiredReplicasWithRules.
func (a *Autoscaler) normalizeNoBehavior(now time.Time, current, raw int32) int32 {
	stab := raw
	cutoff := now.Add(-a.cfg.DownscaleStabilizationWindow)
	old := -1
	for i, r := range a.recs {
		if r.at.Before(cutoff) {
			old = i
		} else if r.replicas > stab {
			stab = r.replicas
		}
	}
	if old >= 0 {
		a.recs[old] = recommendation{now, raw}
	} else {
		a.recs = append(a.recs, recommendation{now, raw})
	}
	// calculateScaleUpLimit: max(2 × current, 4).
	limit := int32(math.Max(ScaleUpLimitFactor*float64(current), ScaleUpLimitMinimum))
	maxAllowed := min(a.cfg.MaxReplicas, limit)
	switch {
	case stab < a.cfg.MinReplicas:
		return a.cfg.MinReplicas
	case stab > maxAllowed:
		return maxAllowed
	}
	return stab
}

// normalize applies stabilization, then the rate policies and the
// min/max bounds (normalizeDesiredReplicasWithBehaviors).
func (a *Autoscaler) normalize(now time.Time, current, raw int32) int32 {
	stab := a.stabilize(now, current, raw)
	return a.limitRate(now, current, stab)
}

func (a *Autoscaler) stabilize(now time.Time, current, raw int32) int32 {
	upCut := now.Add(-*a.up.StabilizationWindow)
	downCut := now.Add(-*a.down.StabilizationWindow)
	upRec, downRec := raw, raw
	old := -1
	for i, r := range a.recs {
		if r.at.After(upCut) {
			upRec = min(upRec, r.replicas)
		}
		if r.at.After(downCut) {
			downRec = max(downRec, r.replicas)
		}
		if r.at.Before(upCut) && r.at.Before(downCut) {
			old = i
		}
	}
	rec := current
	if rec < upRec {
		rec = upRec
	}
	if rec > downRec {
		rec = downRec
	}
	if old >= 0 {
		a.recs[old] = recommendation{now, raw}
	} else {
		a.recs = append(a.recs, recommendation{now, raw})
	}
	return rec
}

func (a *Autoscaler) limitRate(now time.Time, current, desired int32) int32 {
	switch {
	case desired > current:
		limit := a.scaleUpLimit(now, current)
		if limit < current {
			limit = current
		}
		allowed := min(a.cfg.MaxReplicas, limit)
		if desired > allowed {
			return allowed
		}
	case desired < current:
		limit := a.scaleDownLimit(now, current)
		if limit > current {
			limit = current
		}
		allowed := max(a.cfg.MinReplicas, limit)
		if desired < allowed {
			return allowed
		}
	}
	return desired
}

func changeInPeriod(now time.Time, period time.Duration, events []scaleEvent) int32 {
	cut := now.Add(-period)
	var n int32
	for _, e := range events {
		if e.at.After(cut) {
			n += e.change
		}
	}
	return n
}

func (a *Autoscaler) scaleUpLimit(now time.Time, current int32) int32 {
	r := a.up
	if r.SelectPolicy == SelectDisabled {
		return current
	}
	var result int32 = math.MinInt32
	pick := func(x, y int32) int32 { return max(x, y) }
	if r.SelectPolicy == SelectMin {
		result = math.MaxInt32
		pick = func(x, y int32) int32 { return min(x, y) }
	}
	for _, p := range r.Policies {
		start := current - changeInPeriod(now, p.Period, a.upEvents) + changeInPeriod(now, p.Period, a.downEvents)
		var proposed int32
		if p.Type == PodsPolicy {
			proposed = start + p.Value
		} else {
			proposed = int32(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
		}
		result = pick(result, proposed)
	}
	return result
}

func (a *Autoscaler) scaleDownLimit(now time.Time, current int32) int32 {
	r := a.down
	if r.SelectPolicy == SelectDisabled {
		return current
	}
	var result int32 = math.MaxInt32
	pick := func(x, y int32) int32 { return min(x, y) }
	if r.SelectPolicy == SelectMin {
		result = math.MinInt32
		pick = func(x, y int32) int32 { return max(x, y) }
	}
	for _, p := range r.Policies {
		start := current - changeInPeriod(now, p.Period, a.upEvents) + changeInPeriod(now, p.Period, a.downEvents)
		var proposed int32
		if p.Type == PodsPolicy {
			proposed = start - p.Value
		} else {
			proposed = int32(float64(start) * (1 - float64(p.Value)/100))
		}
		result = pick(result, proposed)
	}
	return result
}

// record keeps the scale event for the policies' periods, dropping events
// older than the longest period.
func (a *Autoscaler) record(now time.Time, current, desired int32) {
	longest := func(r Rules) time.Duration {
		var d time.Duration
		for _, p := range r.Policies {
			d = max(d, p.Period)
		}
		return d
	}
	prune := func(ev []scaleEvent, keep time.Duration) []scaleEvent {
		cut := now.Add(-keep)
		out := ev[:0]
		for _, e := range ev {
			if e.at.After(cut) {
				out = append(out, e)
			}
		}
		return out
	}
	keep := max(longest(a.up), longest(a.down))
	if desired > current {
		a.upEvents = append(prune(a.upEvents, keep), scaleEvent{now, desired - current})
	} else {
		a.downEvents = append(prune(a.downEvents, keep), scaleEvent{now, current - desired})
	}
}
