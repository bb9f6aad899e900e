package lab

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
)

// Service is the model of one pod: Slots requests served at once, up to
// Queue more waiting (first in, first out; more are refused with 503), a
// service-time distribution, and CPU.
//
// CPU is explicit: a request in service uses CPU cores' worth CPU of one
// core (1 for a CPU-bound handler, a few per cent for an I/O-bound one),
// and the pod's CPU request is Cores. A CPU-bound service has as many
// slots as cores: more concurrency would only share the same cores.
type Service struct {
	Slots int `json:"slots"`
	// Queue is the wait queue's length; negative is unbounded.
	Queue int `json:"queue"`
	// Mean is the mean service time in seconds.
	Mean float64 `json:"mean_s"`
	// Dist is exp, const, lognormal or pareto (with CV) or empirical
	// (Samples).
	Dist    string    `json:"dist"`
	CV      float64   `json:"cv,omitempty"`
	Samples []float64 `json:"-"`
	// CPU is the CPU (cores) one request in service uses.
	CPU float64 `json:"cpu_per_request"`
	// Cores is the pod's CPU request, the base of CPU utilization.
	Cores float64 `json:"cores"`
	// Timeout is the client's timeout in seconds: a request not done by
	// then is abandoned (and leaves the queue or its slot).
	Timeout float64 `json:"timeout_s"`
}

// Capacity is the most requests per second one pod completes.
func (s *Service) Capacity() float64 { return float64(s.Slots) / s.Mean }

// Validate reports the first bad field.
func (s *Service) Validate() error {
	switch {
	case s.Slots < 1:
		return fmt.Errorf("service: slots %d is less than 1", s.Slots)
	case !(s.Mean > 0):
		return fmt.Errorf("service: mean service time %v is not positive", s.Mean)
	case s.Dist != "exp" && s.Dist != "const" && s.Dist != "lognormal" && s.Dist != "pareto" && s.Dist != "empirical":
		return fmt.Errorf("service: dist %q: want exp, const, lognormal, pareto or empirical", s.Dist)
	case (s.Dist == "lognormal" || s.Dist == "pareto") && !(s.CV > 0):
		return fmt.Errorf("service: %s needs a positive cv", s.Dist)
	case s.Dist == "empirical" && len(s.Samples) == 0:
		return fmt.Errorf("service: empirical needs samples")
	case !(s.Cores > 0):
		return fmt.Errorf("service: cores %v is not positive", s.Cores)
	case s.CPU < 0:
		return fmt.Errorf("service: cpu per request %v is negative", s.CPU)
	case !(s.Timeout > 0):
		return fmt.Errorf("service: timeout %v is not positive", s.Timeout)
	}
	return nil
}

// IOService is an I/O-bound pod: slots of mean service time with a little
// CPU each, one core requested.
func IOService(slots, queue int, mean float64) Service {
	return Service{Slots: slots, Queue: queue, Mean: mean, Dist: "exp", CPU: 0.02, Cores: 1, Timeout: 10}
}

// CPUService is a CPU-bound pod: one slot per core, each busy slot using
// a whole core.
func CPUService(cores, queue int, mean float64) Service {
	return Service{Slots: cores, Queue: queue, Mean: mean, Dist: "exp", CPU: 1, Cores: float64(cores), Timeout: 10}
}

// SweepFit is what a sweep result says about one pod.
type SweepFit struct {
	Service   Service
	Threshold float64
	// CPUFrom says where the CPU per request came from: "measured" (the
	// levels' cpu_cores), "cpu workload" (the demo's mode=cpu, a core per
	// request) or "assumed I/O-bound".
	CPUFrom string
}

// FromSweep reads a sweep JSON (examples/loadtest -mode sweep -json) and
// fits a pod: the service time from the lowest concurrency level (its
// mean, and a lognormal spread from its p95/p50), the slots from the
// highest throughput times that service time (Little's law at the
// plateau), and the sweep's recommended threshold. The CPU a request
// uses is measured when the levels carry the server's CPU (cpu_cores,
// cores used over the level): the lowest level's cores over the requests
// in service there; a sweep of the demo's CPU workload (mode=cpu in its
// target) uses a core per request; otherwise the pod is taken as
// I/O-bound (2 % of a core). A CPU-bound pod (a request using half a core
// or more) requests the cores its slots use. Only the fields it needs are
// read, by name, so other fields may change.
func FromSweep(r io.Reader) (SweepFit, error) {
	var doc struct {
		Target string `json:"target"`
		Levels []struct {
			CPUCores      float64 `json:"cpu_cores"`
			Concurrency   float64 `json:"concurrency"`
			P50S          float64 `json:"p50_s"`
			P95S          float64 `json:"p95_s"`
			MeanS         float64 `json:"mean_s"`
			ThroughputRPS float64 `json:"throughput_rps"`
		} `json:"levels"`
		Recommendation struct {
			Threshold float64 `json:"threshold"`
		} `json:"recommendation"`
	}
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return SweepFit{}, fmt.Errorf("sweep: %w", err)
	}
	if len(doc.Levels) == 0 {
		return SweepFit{}, fmt.Errorf("sweep: no levels")
	}
	first := doc.Levels[0]
	best := 0.0
	for _, l := range doc.Levels {
		if l.Concurrency < first.Concurrency {
			first = l
		}
		best = max(best, l.ThroughputRPS)
	}
	if !(first.MeanS > 0) || !(best > 0) {
		return SweepFit{}, fmt.Errorf("sweep: the lowest level has no latency or throughput")
	}
	svc := Service{Queue: -1, Mean: first.MeanS, Dist: "exp", CPU: 0.02, Cores: 1, Timeout: 10}
	if first.P50S > 0 && first.P95S > first.P50S {
		sigma := math.Log(first.P95S/first.P50S) / 1.6449
		svc.Dist, svc.CV = "lognormal", math.Sqrt(math.Exp(sigma*sigma)-1)
	} else {
		svc.Dist = "const"
	}
	svc.Slots = max(1, int(math.Round(best*first.MeanS)))
	from := "assumed I/O-bound"
	busy := first.ThroughputRPS * first.MeanS // requests in service
	switch {
	case first.CPUCores > 0 && busy > 0:
		svc.CPU, from = first.CPUCores/busy, "measured"
	case strings.Contains(doc.Target, "mode=cpu"):
		svc.CPU, from = 1, "cpu workload"
	}
	if svc.CPU >= 0.5 {
		svc.Cores = math.Ceil(float64(svc.Slots) * svc.CPU)
	}
	th := doc.Recommendation.Threshold
	if !(th > 0) {
		th = 0.75 * float64(svc.Slots)
	}
	return SweepFit{Service: svc, Threshold: th, CPUFrom: from}, nil
}
