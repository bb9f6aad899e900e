package lab

import (
	"math"
)

// Sample is one row of a run's time series.
type Sample struct {
	T float64 `json:"t_s"`
	// OfferedRPS is the profile's rate; ArrivedRPS what arrived.
	OfferedRPS float64 `json:"offered_rps"`
	ArrivedRPS float64 `json:"arrived_rps"`
	// Replicas are the pods that exist (starting, ready, draining), Ready
	// those serving, Desired the autoscaler's last decision.
	Replicas int `json:"replicas"`
	Ready    int `json:"ready"`
	Desired  int `json:"desired"`
	// Signal is the signal's value per pod at the last sync (for CPU, the
	// utilization fraction); null when unknown.
	Signal *float64 `json:"signal"`
	// InFlight is the true number of requests in the pods at the sample.
	InFlight int `json:"in_flight"`
	// P50, P95 of the requests that completed in the interval.
	P50S     float64 `json:"p50_s"`
	P95S     float64 `json:"p95_s"`
	Done     int     `json:"done"`
	Errors   int     `json:"errors"`
	Timeouts int     `json:"timeouts"`
}

// Summary is what one signal achieved.
type Summary struct {
	Signal string  `json:"signal"`
	Query  string  `json:"query"`
	Target float64 `json:"target"`
	// Arrived counts the arrivals from t=0; Requests those that ended
	// (done, refused or timed out) by the end of the run.
	Arrived  int     `json:"arrived"`
	Requests int     `json:"requests"`
	P50S     float64 `json:"p50_s"`
	P95S     float64 `json:"p95_s"`
	P99S     float64 `json:"p99_s"`
	MeanS    float64 `json:"mean_s"`
	Errors   int     `json:"errors"`
	Timeouts int     `json:"timeouts"`
	// The same over the transitions (requests arriving within
	// TransitionSpan after a step).
	TransitionRequests int     `json:"transition_requests"`
	TransitionP50S     float64 `json:"transition_p50_s"`
	TransitionP95S     float64 `json:"transition_p95_s"`
	TransitionP99S     float64 `json:"transition_p99_s"`
	TransitionErrors   int     `json:"transition_errors"`
	TransitionTimeouts int     `json:"transition_timeouts"`
	// TimeToCapacityS is, per step, the seconds until the ready pods could
	// serve the new rate under the headroom; -1 if never.
	TimeToCapacityS []float64 `json:"time_to_capacity_s"`
	ReplicaSeconds  float64   `json:"replica_seconds"`
	// Utilization is the pods' busy slot-seconds over the slot-seconds
	// paid for (replica-seconds × slots).
	Utilization  float64 `json:"utilization"`
	ScaleEvents  int     `json:"scale_events"`
	PeakReplicas int     `json:"peak_replicas"`
	// MeanWaitS and WaitedFraction are the queueing delay before service
	// and the share of requests that waited at all.
	MeanWaitS      float64 `json:"mean_wait_s"`
	WaitedFraction float64 `json:"waited_fraction"`
	Interrupted    bool    `json:"interrupted,omitempty"`
}

// Run is one signal's run: its summary and time series.
type Run struct {
	Summary Summary  `json:"summary"`
	Series  []Sample `json:"series"`
}

// Recorder collects what a run measures. Times are seconds from the
// start; sim and live call it the same way.
type Recorder struct {
	sc    *Scenario
	sig   Signal
	bins  []Sample
	hists []Hist

	steps            []float64
	busy             float64
	all, trans       Hist
	errs, tos        int
	transErrs, trTOs int
	waitSum          float64
	waited, started  int

	podsT, podsN float64
	replicaSec   float64
	readyLog     []Point // (t, ready)
	events       int
	peak         int
	lastDesired  int
	lastSignal   float64
	arrived      int
}

// NewRecorder records a run of sig in sc.
func NewRecorder(sc *Scenario, sig Signal) *Recorder {
	n := int(math.Ceil(sc.Profile.Duration()/sc.SampleInterval)) + 1
	r := &Recorder{sc: sc, sig: sig, bins: make([]Sample, n), hists: make([]Hist, n), lastSignal: math.NaN(), steps: sc.Steps()}
	for i := range r.bins {
		r.bins[i].T = float64(i) * sc.SampleInterval
		r.bins[i].OfferedRPS = sc.Profile.Rate(r.bins[i].T)
	}
	return r
}

func (r *Recorder) bin(t float64) int {
	i := int(t / r.sc.SampleInterval)
	return min(max(i, 0), len(r.bins)-1)
}

func (r *Recorder) inTransition(t float64) bool {
	for _, s := range r.steps {
		if t >= s && t < s+r.sc.TransitionSpan {
			return true
		}
	}
	return false
}

// Arrived counts an arrival at t.
func (r *Recorder) Arrived(t float64) {
	r.arrived++
	r.bins[r.bin(t)].ArrivedRPS++
}

// Started records that a request arriving at arrived began service at t.
func (r *Recorder) Started(arrived, t float64) {
	r.started++
	w := t - arrived
	r.waitSum += w
	if w > 0 {
		r.waited++
	}
}

// Done records a request that arrived at arrived and completed at t.
func (r *Recorder) Done(arrived, t float64) {
	lat := t - arrived
	r.all.Add(lat)
	if r.inTransition(arrived) {
		r.trans.Add(lat)
	}
	i := r.bin(t)
	r.bins[i].Done++
	r.hists[i].Add(lat)
}

// Busy records d seconds of a slot in service (for a request that
// arrived from t=0 on).
func (r *Recorder) Busy(d float64) { r.busy += d }

// Failed records a request refused (timeout false) or abandoned at its
// timeout (timeout true).
func (r *Recorder) Failed(arrived, t float64, timeout bool) {
	tr := r.inTransition(arrived)
	i := r.bin(t)
	if timeout {
		r.tos++
		r.bins[i].Timeouts++
		if tr {
			r.trTOs++
		}
		return
	}
	r.errs++
	r.bins[i].Errors++
	if tr {
		r.transErrs++
	}
}

// Pods records the number of pods that exist (for replica-seconds) and
// those ready, from t on.
func (r *Recorder) Pods(t float64, exist, ready int) {
	r.replicaSec += r.podsN * (t - r.podsT)
	r.podsT, r.podsN = t, float64(exist)
	r.peak = max(r.peak, exist)
	if n := len(r.readyLog); n == 0 || r.readyLog[n-1].RPS != float64(ready) {
		r.readyLog = append(r.readyLog, Point{t, float64(ready)})
	}
}

// Synced records a sync's decision and the signal per pod.
func (r *Recorder) Synced(t float64, current, desired int, perPod float64) {
	if desired != current {
		r.events++
	}
	r.lastDesired, r.lastSignal = desired, perPod
}

// Tick records the state at a sample time.
func (r *Recorder) Tick(t float64, exist, ready, inFlight int) {
	b := &r.bins[r.bin(t)]
	b.Replicas, b.Ready, b.Desired, b.InFlight = exist, ready, r.lastDesired, inFlight
	if !math.IsNaN(r.lastSignal) {
		v := r.lastSignal
		b.Signal = &v
	}
}

// Finish closes the run at end and returns it.
func (r *Recorder) Finish(end float64, interrupted bool) Run {
	r.replicaSec += r.podsN * (end - r.podsT)
	r.podsT = end
	_, target := r.sig.metric(r.sc.Targets)
	s := Summary{
		Signal: r.sig.Name, Query: r.sig.Query(), Target: target,
		Arrived:  r.arrived,
		Requests: r.all.Count() + r.errs + r.tos,
		P50S:     r.all.Quantile(0.5), P95S: r.all.Quantile(0.95), P99S: r.all.Quantile(0.99), MeanS: r.all.Mean(),
		Errors: r.errs, Timeouts: r.tos,
		TransitionRequests: r.trans.Count() + r.transErrs + r.trTOs,
		TransitionP50S:     r.trans.Quantile(0.5), TransitionP95S: r.trans.Quantile(0.95), TransitionP99S: r.trans.Quantile(0.99),
		TransitionErrors: r.transErrs, TransitionTimeouts: r.trTOs,
		ReplicaSeconds: r.replicaSec, ScaleEvents: r.events, PeakReplicas: r.peak,
		Interrupted: interrupted,
	}
	if r.sig.Kind == Fixed {
		s.Target = 0
	}
	if r.replicaSec > 0 {
		s.Utilization = r.busy / (r.replicaSec * float64(r.sc.Service.Slots))
	}
	if r.started > 0 {
		s.MeanWaitS = r.waitSum / float64(r.started)
		s.WaitedFraction = float64(r.waited) / float64(r.started)
	}
	for _, st := range r.steps {
		if st > end {
			continue
		}
		need := max(r.sc.NeededAt(st, r.sc.Profile.TargetAfter(st, r.sc.TransitionSpan)),
			r.sc.NeededAt(st+r.sc.TransitionSpan, r.sc.Profile.TargetAfter(st, r.sc.TransitionSpan)))
		s.TimeToCapacityS = append(s.TimeToCapacityS, r.timeTo(st, need, end))
	}
	// The bins that started before the end.
	nb := min(len(r.bins), max(1, int(math.Ceil(end/r.sc.SampleInterval-1e-9))))
	series := make([]Sample, nb)
	for i := range series {
		b := r.bins[i]
		b.ArrivedRPS /= r.sc.SampleInterval
		b.P50S, b.P95S = r.hists[i].Quantile(0.5), r.hists[i].Quantile(0.95)
		series[i] = b
	}
	return Run{Summary: s, Series: series}
}

func (r *Recorder) timeTo(step float64, need int, end float64) float64 {
	ready := 0.0
	for _, p := range r.readyLog {
		if p.T > step {
			if ready >= float64(need) {
				return 0
			}
			break
		}
		ready = p.RPS
	}
	if ready >= float64(need) {
		return 0
	}
	for _, p := range r.readyLog {
		if p.T > step && p.T <= end && p.RPS >= float64(need) {
			return p.T - step
		}
	}
	return -1
}
