package lab

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/otel-runway/runway/examples/autoscale/hpa"
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
	// targets: sum(avg_over_time(irate(...)[w:1s]) and on(service, pod) up).
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

// Query is the KEDA trigger query (or the HPA metric) of the signal.
func (s Signal) Query() string {
	w := promDuration(s.Window)
	switch s.Kind {
	case InFlight:
		return `sum(runway_requests_in_flight{service="runway-demo"})`
	case Rate:
		return fmt.Sprintf(`sum(rate(runway_requests_in_flight_time_seconds_total{service="runway-demo"}[%s]))`, w)
	case IRate:
		return fmt.Sprintf(`sum(irate(runway_requests_in_flight_time_seconds_total{service="runway-demo"}[%s]))`, w)
	case AvgIRate:
		return fmt.Sprintf(`sum(avg_over_time(irate(runway_requests_in_flight_time_seconds_total{service="runway-demo"}[1m])[%s:1s]))`, w)
	case AvgIRateUp:
		return fmt.Sprintf(`sum(avg_over_time(irate(runway_requests_in_flight_time_seconds_total{service="runway-demo"}[1m])[%s:1s]) and on(service, pod) up{service="runway-demo"})`, w)
	case RPS:
		return fmt.Sprintf(`sum(rate(runway_requests_total{service="runway-demo"}[%s]))`, w)
	case CPU:
		return "resource cpu, target averageUtilization"
	}
	return "none"
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
