package lab

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/otel-runway/runway/examples/autoscale/hpa"
	"github.com/otel-runway/runway/examples/scalequery"
)

// SignalKind is what an autoscaler scales on.
type SignalKind int

// The signals compared.
const (
	// InFlight is the gauge: sum(runway_requests_in_flight).
	InFlight SignalKind = iota
	// Rate is the time-weighted in-flight through Prometheus' rate():
	// sum(rate(runway_requests_in_flight_time_seconds_total[w])).
	Rate
	// IRate is the same counter through irate().
	IRate
	// AvgIRate is irate() averaged over a window by a subquery:
	// sum(avg_over_time(irate(..._in_flight_time_seconds_total[1m])[w:1s])).
	AvgIRate
	// AvgIRateUp is AvgIRate kept only for the pods that are still scrape
	// targets: sum(avg_over_time(irate(...)[w:1s]) and on(namespace, pod) up).
	// up goes stale when a target leaves discovery, so a removed pod drops
	// out of the sum at once instead of staying in the range and subquery
	// windows for up to two minutes.
	AvgIRateUp
	// CPU is the Resource metric: CPU utilization of the pods' request,
	// as metrics-server reports it.
	CPU
	// RPS is sum(rate(runway_requests_total[w])) against a target per pod.
	RPS
	// Fixed does not scale: the pool stays at its minimum.
	Fixed
)

// Signal is one signal to compare.
type Signal struct {
	Name   string
	Kind   SignalKind
	Window float64 // the range of rate/irate, seconds
}

// The workload the lab's queries select: the Deployment's pods, in its
// namespace. Live mode gives its Prometheus targets these labels (pod
// names as a ReplicaSet makes them), so the same queries run there.
const (
	Namespace  = "default"
	Deployment = "runway-demo"
)

// PodName is the name of the lab's pod id, as the ReplicaSet of
// Deployment would name it (<deployment>-<hash>-<5 characters>).
func PodName(id int) string { return fmt.Sprintf("%s-lab-%05d", Deployment, id) }

// Spec is the scalequery spec of the signal's query for the Deployment
// in namespace (Prometheus signals only: ok is false for cpu and fixed).
func (s Signal) Spec(namespace, deployment string) (spec scalequery.Spec, ok bool) {
	spec = scalequery.Spec{Namespace: namespace, Deployment: deployment, Window: time.Duration(s.Window * float64(time.Second)).Round(time.Second)}
	switch s.Kind {
	case InFlight:
		spec.Form, spec.Window = scalequery.Gauge, 0
	case Rate:
		spec.Form = scalequery.Rate
	case IRate:
		spec.Form = scalequery.IRate
	case AvgIRate:
		spec.Form = scalequery.AvgIRate
	case AvgIRateUp:
		spec.Form = scalequery.TimeWeighted
	case RPS:
		spec.Form = scalequery.RPS
	default:
		return scalequery.Spec{}, false
	}
	return spec, true
}

// Query is the KEDA trigger query (or the HPA metric) of the signal, on
// the lab's Namespace and Deployment.
func (s Signal) Query() string {
	switch s.Kind {
	case CPU:
		return "resource cpu, target averageUtilization"
	case Fixed:
		return "none"
	}
	spec, _ := s.Spec(Namespace, Deployment)
	q, err := spec.Query()
	if err != nil {
		return "invalid: " + err.Error()
	}
	return q
}

func promDuration(s float64) string {
	d := time.Duration(s * float64(time.Second))
	if d%time.Minute == 0 {
		return fmt.Sprintf("%dm", int(d/time.Minute))
	}
	return fmt.Sprintf("%ds", int(d/time.Second))
}

// ParseSignals reads a comma-separated list: inflight, rate, irate,
// avgirate, avgirateup, cpu, rps, fixed; rate, irate, avgirate, avgirateup
// and rps take a window as rate:30s (default 1m; for avgirate and
// avgirateup, the averaging window).
func ParseSignals(list string) ([]Signal, error) {
	var out []Signal
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		base, win, hasWin := strings.Cut(name, ":")
		s := Signal{Name: name, Window: 60}
		if hasWin {
			d, err := time.ParseDuration(win)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("signal %q: window %q: want a duration such as 30s", name, win)
			}
			s.Window = d.Seconds()
		}
		switch base {
		case "inflight":
			s.Kind = InFlight
		case "rate":
			s.Kind = Rate
		case "irate":
			s.Kind = IRate
		case "avgirate":
			s.Kind = AvgIRate
		case "avgirateup":
			s.Kind = AvgIRateUp
		case "cpu":
			s.Kind = CPU
		case "rps":
			s.Kind = RPS
		case "fixed":
			s.Kind = Fixed
		default:
			return nil, fmt.Errorf("signal %q: want inflight, rate, irate, avgirate, avgirateup, cpu, rps or fixed", name)
		}
		windowed := s.Kind == Rate || s.Kind == IRate || s.Kind == AvgIRate || s.Kind == AvgIRateUp || s.Kind == RPS
		if hasWin && !windowed {
			return nil, fmt.Errorf("signal %q: only rate, irate, avgirate, avgirateup and rps take a window", name)
		}
		if !hasWin && windowed {
			s.Name = base + ":1m"
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("signals: none given")
	}
	return out, nil
}

// Targets are the per-pod targets of the signals, derived from one
// in-flight threshold so that each signal asks for the same pod load: N
// requests in flight is N/S requests per second (Little's law at the
// service time S) and N/S × CPU-per-request / cores of CPU, rounded to
// the whole percent an HPA's averageUtilization takes.
type Targets struct {
	InFlight float64 `json:"in_flight"`
	RPS      float64 `json:"rps"`
	CPU      float64 `json:"cpu_utilization"`
}

// DeriveTargets returns the targets of threshold n for svc.
func DeriveTargets(n float64, svc *Service) Targets {
	rps := n / svc.Mean
	// averageUtilization is a whole percent (at least 1).
	cpu := max(1, math.Round(100*rps*svc.Mean*svc.CPU/svc.Cores)) / 100
	return Targets{InFlight: n, RPS: rps, CPU: cpu}
}

// metric returns the HPA metric form and target of s.
func (s Signal) metric(t Targets) (hpa.MetricKind, float64) {
	switch s.Kind {
	case CPU:
		return hpa.ResourceUtilization, t.CPU
	case RPS:
		return hpa.ExternalAverageValue, t.RPS
	}
	return hpa.ExternalAverageValue, t.InFlight
}
