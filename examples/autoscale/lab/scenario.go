package lab

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/otel-runway/runway/examples/autoscale/hpa"
)

// Scenario is one closed-loop experiment: a pool of pods, the traffic and
// the autoscaler's settings. Times are in seconds.
type Scenario struct {
	Profile Profile `json:"profile"`
	Service Service `json:"service"`
	// Shift, when set, changes the service time over a window at
	// unchanged arrivals (a dependency slowdown, a request-mix shift).
	Shift *Shift `json:"shift,omitempty"`
	// Threshold is the in-flight target per pod; Targets derive the
	// others (overridable).
	Threshold float64 `json:"threshold"`
	Targets   Targets `json:"targets"`
	// Utilization, when set, is the steady-state utilization the targets
	// were chosen to hold (AtUtilization).
	Utilization float64 `json:"utilization,omitempty"`

	MinReplicas int `json:"min_replicas"`
	MaxReplicas int `json:"max_replicas"`
	// Initial is the replica count at t=0 (ready); default MinReplicas.
	Initial int `json:"initial_replicas"`
	// StartupDelay is the time from a pod's creation to its readiness;
	// PendingDelay the part of it before its containers run (phase
	// Pending, default 0): for the rest it is Running but not Ready, with
	// no metric yet, which the HPA counts as missing, not unready.
	StartupDelay float64 `json:"startup_delay_s"`
	PendingDelay float64 `json:"pending_delay_s"`
	// LB is random, round-robin or least-request.
	LB string `json:"lb"`
	// ScrapeInterval is Prometheus' scrape interval; CPUWindow is
	// metrics-server's window; SyncPeriod is the HPA's.
	ScrapeInterval float64 `json:"scrape_interval_s"`
	CPUWindow      float64 `json:"cpu_window_s"`
	SyncPeriod     float64 `json:"sync_period_s"`
	// UseCachedMetrics and PollingInterval are KEDA's.
	UseCachedMetrics bool    `json:"use_cached_metrics"`
	PollingInterval  float64 `json:"polling_interval_s"`
	// Behavior is the HPA's behavior: the zero Behavior is none (what
	// KEDA creates when the ScaledObject sets none); with one, nil
	// directions are Kubernetes' defaults. BehaviorName names it in
	// reports ("none" when zero).
	Behavior     hpa.Behavior `json:"-"`
	BehaviorName string       `json:"behavior"`
	// Tolerance is the controller's tolerance (default 0.1).
	Tolerance float64 `json:"tolerance"`
	// DownscaleWindow is the controller's downscale stabilization window
	// (--horizontal-pod-autoscaler-downscale-stabilization, default 300 s):
	// the scale-down window without behavior, or of a behavior that sets
	// none.
	DownscaleWindow float64 `json:"downscale_stabilization_s"`
	// SampleInterval is the time-series resolution; TransitionSpan how
	// long after a step counts as the transition; Headroom the utilization
	// under which capacity is sufficient (default 0.9).
	SampleInterval float64 `json:"sample_interval_s"`
	TransitionSpan float64 `json:"transition_span_s"`
	Headroom       float64 `json:"headroom"`
	Seed           uint64  `json:"seed"`
	// Warmup is how long the pool runs at the profile's first rate with
	// its initial replicas and no autoscaling before t=0, so that their
	// series are as old as a long-running pod's (default 180 s; negative
	// for none).
	Warmup float64 `json:"warmup_s"`
}

// WithDefaults fills the zero fields.
func (s Scenario) WithDefaults() Scenario {
	def := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	if s.Initial == 0 {
		s.Initial = s.MinReplicas
	}
	if s.LB == "" {
		s.LB = "round-robin"
	}
	def(&s.ScrapeInterval, 15)
	def(&s.CPUWindow, 15)
	def(&s.SyncPeriod, 15)
	def(&s.PollingInterval, 30)
	def(&s.SampleInterval, 5)
	def(&s.TransitionSpan, 120)
	def(&s.Headroom, 0.9)
	def(&s.Warmup, 180)
	def(&s.DownscaleWindow, 300)
	if s.BehaviorName == "" && s.Behavior.IsZero() {
		s.BehaviorName = "none"
	}
	s.Warmup = max(s.Warmup, 0)
	base := s.Service
	base.Mean = s.MeanAt(0)
	base.CPU *= s.Shift.cpuFactor(0)
	t := DeriveTargets(s.Threshold, &base)
	def(&s.Targets.InFlight, t.InFlight)
	def(&s.Targets.RPS, t.RPS)
	def(&s.Targets.CPU, t.CPU)
	return s
}

// Validate reports the first bad field.
func (s *Scenario) Validate() error {
	if err := s.Service.Validate(); err != nil {
		return err
	}
	if err := s.Profile.validate(); err != nil {
		return err
	}
	if s.Shift != nil {
		if err := s.Shift.validate(); err != nil {
			return err
		}
	}
	switch {
	case !(s.Threshold > 0):
		return fmt.Errorf("threshold %v is not positive", s.Threshold)
	case s.MinReplicas < 1 || s.MaxReplicas < s.MinReplicas:
		return fmt.Errorf("replicas: min %d, max %d", s.MinReplicas, s.MaxReplicas)
	case s.Initial < s.MinReplicas || s.Initial > s.MaxReplicas:
		return fmt.Errorf("initial replicas %d outside %d..%d", s.Initial, s.MinReplicas, s.MaxReplicas)
	case s.LB != "random" && s.LB != "round-robin" && s.LB != "least-request":
		return fmt.Errorf("lb %q: want random, round-robin or least-request", s.LB)
	case s.StartupDelay < 0:
		return fmt.Errorf("startup delay %v is negative", s.StartupDelay)
	case s.PendingDelay < 0 || s.PendingDelay > s.StartupDelay:
		return fmt.Errorf("pending delay %v outside 0..the startup delay %v", s.PendingDelay, s.StartupDelay)
	case s.Targets.CPU >= 1:
		return fmt.Errorf("the CPU target %.0f%% derived from threshold %v is not below 100%%: lower the threshold", 100*s.Targets.CPU, s.Threshold)
	}
	return nil
}

// Needed is the ready pods rate λ needs to run under the headroom at the
// base service time.
func (s *Scenario) Needed(rate float64) int {
	return max(1, int(math.Ceil(rate/(s.Headroom*s.Service.Capacity())-1e-9)))
}

// NeededAt is the ready pods rate λ needs under the headroom at the
// service time of the requests arriving at t.
func (s *Scenario) NeededAt(t, rate float64) int {
	return max(1, int(math.Ceil(rate*s.MeanAt(t)/(s.Headroom*float64(s.Service.Slots))-1e-9)))
}

// Steps are the times the load rises sharply: the profile's steps and the
// start of a shift, in order.
func (s *Scenario) Steps() []float64 {
	steps := append([]float64(nil), s.Profile.Steps...)
	if s.Shift != nil && s.Shift.factor(s.Shift.At) > s.Shift.factor(max(s.Shift.At-1, 0)) {
		steps = append(steps, s.Shift.At)
		slices.Sort(steps)
		steps = slices.Compact(steps)
	}
	return steps
}

// Arrivals are the scenario's requests from from seconds on: the
// profile's arrivals with the service times of the shift.
func (s *Scenario) Arrivals(from float64) *Arrivals {
	a := NewArrivals(&s.Profile, &s.Service, s.Seed, from)
	a.shift = s.Shift
	return a
}

// epoch is the time.Time of t=0 for the HPA's clock.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(t float64) time.Time { return epoch.Add(time.Duration(t * float64(time.Second))) }

// PodState is one pod as the controller sees it.
type PodState struct {
	ID      int
	Ready   bool
	Created float64
	ReadyAt float64
}

// Querier evaluates a signal's query at t (seconds from the start): a
// Store models Prometheus; a real Prometheus can stand in.
type Querier interface {
	Query(sig Signal, t float64) (float64, bool)
}

// Controller is KEDA and the HPA for one signal, reading a Store.
type Controller struct {
	sig   Signal
	sc    *Scenario
	hpa   *hpa.Autoscaler
	cache hpa.MetricCache
	store *Store
	q     Querier
}

// SetQuerier makes the controller evaluate its Prometheus queries with q
// instead of its Store (CPU still comes from the Store, as
// metrics-server's does not go through Prometheus).
func (c *Controller) SetQuerier(q Querier) { c.q = q }

// NewController builds the autoscaler of sig for sc.
func NewController(sig Signal, sc *Scenario, store *Store) (*Controller, error) {
	kind, target := sig.metric(sc.Targets)
	maxR := sc.MaxReplicas
	if sig.Kind == Fixed {
		maxR = sc.MinReplicas
	}
	a, err := hpa.New(hpa.Config{
		MinReplicas: int32(sc.MinReplicas), MaxReplicas: int32(maxR),
		Metric: kind, Target: target, Behavior: sc.Behavior, Tolerance: sc.Tolerance,
		DownscaleStabilizationWindow: time.Duration(sc.DownscaleWindow * float64(time.Second)),
	})
	if err != nil {
		return nil, err
	}
	// The pool has been running at its initial size: the HPA's windows
	// start with that recommendation, not empty.
	a.Seed(at(0), int32(sc.Initial))
	return &Controller{
		sig: sig, sc: sc, hpa: a, store: store, q: store,
		cache: hpa.MetricCache{UseCachedMetrics: sc.UseCachedMetrics, PollingInterval: time.Duration(sc.PollingInterval * float64(time.Second))},
	}, nil
}

// Sync runs one HPA sync at t over current replicas (the pods, excluding
// those terminating): it returns the desired count and the signal's value
// per pod (for the record; NaN if unknown).
func (c *Controller) Sync(t float64, pods []PodState) (desired int, perPod float64) {
	current := len(pods)
	if c.sig.Kind == Fixed {
		return c.sc.MinReplicas, math.NaN()
	}
	var in hpa.Input
	perPod = math.NaN()
	if c.sig.Kind == CPU {
		sum, n := 0.0, 0
		for _, p := range pods {
			hp := c.pod(p, t)
			if hp.HasMetric {
				sum += hp.Value
				n++
			}
			in.Pods = append(in.Pods, hp)
		}
		// metrics-server answered; groupPods decides what a pod's
		// absence of a metric means.
		in.Valid = true
		if n > 0 {
			perPod = sum / float64(n)
		}
	} else {
		v, ok := c.cache.Value(at(t), func() (float64, bool) { return c.q.Query(c.sig, t) })
		in = hpa.Input{Value: v, Valid: ok}
		if ok && current > 0 {
			perPod = v / float64(current)
		}
	}
	return int(c.hpa.Sync(at(t), int32(current), in)), perPod
}

// pod is p as the HPA controller sees it at t: Pending for the
// PendingDelay after its creation, then Running, its Ready condition False
// from its start until it is ready; its CPU is metrics-server's over
// CPUWindow, which has a value once two samples of a ready pod exist.
func (c *Controller) pod(p PodState, t float64) hpa.Pod {
	hp := hpa.Pod{Started: at(p.Created), Ready: p.Ready, ReadyChanged: at(p.Created)}
	if !p.Ready {
		hp.Pending = t < p.Created+c.sc.PendingDelay
		return hp
	}
	hp.ReadyChanged = at(p.ReadyAt)
	if cores, mt, win, ok := c.store.CPU(p.ID, t, c.sc.CPUWindow); ok {
		hp.HasMetric, hp.Value = true, cores/c.sc.Service.Cores
		hp.MetricTime, hp.MetricWindow = at(mt), time.Duration(win*float64(time.Second))
	}
	return hp
}
