package lab

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Shift changes the service time of the requests that arrive in a window
// [At, At+Len) (Len 0: until the end), at unchanged arrivals:
//
//   - slowdown: a dependency slows down; every request waits Factor times
//     its service time, its CPU unchanged (the extra time is waiting).
//   - mix: the share of a heavy route, whose requests take Heavy times the
//     service time (and Heavy times the CPU), goes from From to To.
type Shift struct {
	Kind   string  `json:"kind"`
	At     float64 `json:"at_s"`
	Len    float64 `json:"len_s,omitempty"`
	Factor float64 `json:"factor,omitempty"`
	From   float64 `json:"from,omitempty"`
	To     float64 `json:"to,omitempty"`
	Heavy  float64 `json:"heavy,omitempty"`
}

// ParseShift reads a shift specification:
//
//	slowdown:x=5,at=300,len=600      service time ×5 from 300 s for 600 s
//	mix:from=0.05,to=0.4,at=300,heavy=10,len=0
//	                                 the heavy route's share 5 % → 40 % at 300 s
func ParseShift(spec string) (*Shift, error) {
	if spec == "" {
		return nil, nil
	}
	kind, args, _ := strings.Cut(spec, ":")
	kv := map[string]float64{}
	for _, part := range strings.Split(args, ",") {
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		f, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("shift %s: %q: want key=number", kind, part)
		}
		kv[k] = f
	}
	get := func(k string, def float64) float64 {
		if v, ok := kv[k]; ok {
			delete(kv, k)
			return v
		}
		return def
	}
	var s Shift
	switch kind {
	case "slowdown":
		s = Shift{Kind: kind, Factor: get("x", 5), At: get("at", 300), Len: get("len", 600)}
	case "mix":
		s = Shift{Kind: kind, From: get("from", 0.05), To: get("to", 0.4), Heavy: get("heavy", 10), At: get("at", 300), Len: get("len", 0)}
	default:
		return nil, fmt.Errorf("shift %q: want slowdown:x=,at=,len= or mix:from=,to=,heavy=,at=,len=", kind)
	}
	for k := range kv {
		return nil, fmt.Errorf("shift %s: unknown key %q", kind, k)
	}
	return &s, s.validate()
}

func (s *Shift) validate() error {
	switch {
	case s.Kind != "slowdown" && s.Kind != "mix":
		return fmt.Errorf("shift: kind %q: want slowdown or mix", s.Kind)
	case s.At < 0 || s.Len < 0:
		return fmt.Errorf("shift %s: at %v and len %v must not be negative", s.Kind, s.At, s.Len)
	case s.Kind == "slowdown" && !(s.Factor > 0):
		return fmt.Errorf("shift slowdown: x %v is not positive", s.Factor)
	case s.Kind == "mix" && (s.From < 0 || s.From > 1 || s.To < 0 || s.To > 1 || !(s.Heavy > 0)):
		return fmt.Errorf("shift mix: shares %v → %v must be in [0, 1] and heavy %v positive", s.From, s.To, s.Heavy)
	}
	return nil
}

// describe is the shift for a report's header ("" for none).
func (s *Shift) describe() string {
	if s == nil {
		return ""
	}
	switch s.Kind {
	case "slowdown":
		return fmt.Sprintf(" · slowdown ×%g at %g s for %g s", s.Factor, s.At, s.Len)
	case "mix":
		return fmt.Sprintf(" · heavy route (×%g) %g%% → %g%% at %g s", s.Heavy, 100*s.From, 100*s.To, s.At)
	}
	return ""
}

// in reports whether t is in the shift's window.
func (s *Shift) in(t float64) bool {
	return t >= s.At && (s.Len == 0 || t < s.At+s.Len)
}

// share is the heavy route's share at t (mix).
func (s *Shift) share(t float64) float64 {
	if s.in(t) {
		return s.To
	}
	return s.From
}

// factor is the mean service time at t over the base mean.
func (s *Shift) factor(t float64) float64 {
	if s == nil {
		return 1
	}
	switch s.Kind {
	case "slowdown":
		if s.in(t) {
			return s.Factor
		}
	case "mix":
		p := s.share(t)
		return 1 - p + p*s.Heavy
	}
	return 1
}

// MeanAt is the mean service time of the requests arriving at t.
func (s *Scenario) MeanAt(t float64) float64 { return s.Service.Mean * s.Shift.factor(t) }

// CVAt is the coefficient of variation of the service time of the
// requests arriving at t (for a mix, of the mixture).
func (s *Scenario) CVAt(t float64) float64 {
	c := s.Service.cv()
	if s.Shift == nil || s.Shift.Kind != "mix" {
		return c
	}
	p, h := s.Shift.share(t), s.Shift.Heavy
	m1 := 1 - p + p*h
	m2 := (1 + c*c) * (1 - p + p*h*h)
	return math.Sqrt(max(m2/(m1*m1)-1, 0))
}

// cv is the service time's coefficient of variation.
func (s *Service) cv() float64 {
	switch s.Dist {
	case "exp":
		return 1
	case "const":
		return 0
	case "empirical":
		var sum, sq float64
		for _, x := range s.Samples {
			sum += x
			sq += x * x
		}
		n := float64(len(s.Samples))
		m := sum / n
		return math.Sqrt(max(sq/n-m*m, 0)) / m
	}
	return s.CV
}

// ErlangC is the probability that an arrival waits in an M/M/k queue
// offered a erlangs (a < k).
func ErlangC(k int, a float64) float64 {
	if a >= float64(k) {
		return 1
	}
	// Erlang B by its recurrence, then C from B.
	b := 1.0
	for i := 1; i <= k; i++ {
		b = a * b / (float64(i) + a*b)
	}
	rho := a / float64(k)
	return b / (1 - rho + rho*b)
}

// InFlightAt is the mean number of requests in a pod (in service and
// waiting) that runs at utilization rho: k·ρ in service plus the M/M/k
// queue, scaled by (1 + CV²)/2 for other service times (Allen–Cunneen).
func InFlightAt(k int, rho, cv float64) float64 {
	a := rho * float64(k)
	lq := ErlangC(k, a) * rho / (1 - rho)
	return a + lq*(1+cv*cv)/2
}

// TargetsAt are the per-pod targets that hold every pod at utilization
// rho in a steady state of the scenario's starting workload: RPS ρ·K/S,
// CPU ρ·K·cpu/cores (a whole percent, as averageUtilization is), and in flight the mean number in a pod at ρ (which
// counts the queue: more than ρ·K).
func (s *Scenario) TargetsAt(rho float64) Targets {
	k := s.Service.Slots
	m := s.MeanAt(0)
	cpu := s.Service.CPU * s.Shift.cpuFactor(0)
	return Targets{
		InFlight: InFlightAt(k, rho, s.CVAt(0)),
		RPS:      rho * float64(k) / m,
		// averageUtilization is a whole percent (at least 1).
		CPU: max(1, math.Round(100*rho*float64(k)*cpu/s.Service.Cores)) / 100,
	}
}

// cpuFactor is the mean CPU of a request in service at t over the base
// CPU: a slowdown adds waiting, not CPU; a heavy request does Heavy times
// the work in Heavy times the time.
func (s *Shift) cpuFactor(t float64) float64 {
	if s != nil && s.Kind == "slowdown" && s.in(t) {
		return 1 / s.Factor
	}
	return 1
}

// AtUtilization returns the scenario with every signal's target set to
// hold pods at utilization rho (TargetsAt), its threshold the in-flight
// one and, if autoInitial, its initial replicas what that target holds at
// the starting rate.
func (s Scenario) AtUtilization(rho float64, autoInitial bool) Scenario {
	s.Targets = s.TargetsAt(rho)
	s.Threshold = s.Targets.InFlight
	s.Utilization = rho
	if autoInitial {
		s.Initial = min(s.MaxReplicas, max(s.MinReplicas, int(math.Ceil(s.Profile.Rate(0)/s.Targets.RPS-1e-9))))
	}
	return s
}
