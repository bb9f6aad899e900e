package lab

import (
	"slices"

	"github.com/otel-runway/runway/examples/autoscale/promql"
)

// Scrape is what one scrape of a pod's /metrics reads.
type Scrape struct {
	InFlight     float64 // runway_requests_in_flight
	InFlightTime float64 // runway_requests_in_flight_time_seconds_total
	Requests     float64 // runway_requests_total, all statuses
	CPUSeconds   float64 // the container's CPU seconds
}

type series struct {
	id      int
	samples [4][]promql.Sample
	gone    bool
	goneAt  float64
}

// Store holds the scraped series of every pod, as Prometheus would, for
// long enough to evaluate the signals' windows. Targets are kept in the
// order they appeared, so sums are deterministic.
type Store struct {
	keep    float64
	targets []*series
	byID    map[int]*series
}

// NewStore keeps keep seconds of samples.
func NewStore(keep float64) *Store {
	return &Store{keep: keep, byID: map[int]*series{}}
}

// Add records a scrape of pod id at t.
func (s *Store) Add(id int, t float64, v Scrape) {
	x := s.byID[id]
	if x == nil {
		x = &series{id: id}
		s.byID[id] = x
		s.targets = append(s.targets, x)
	}
	vals := [4]float64{v.InFlight, v.InFlightTime, v.Requests, v.CPUSeconds}
	for i := range x.samples {
		ss := x.samples[i]
		if len(ss) > 0 && ss[0].T < t-s.keep {
			cut := 0
			for cut < len(ss) && ss[cut].T < t-s.keep {
				cut++
			}
			ss = append(ss[:0], ss[cut:]...)
		}
		x.samples[i] = append(ss, promql.Sample{T: t, V: vals[i]})
	}
}

// Gone marks pod id's target as gone at t: its gauge and its up series
// disappear at once (staleness markers), its counters stay in range
// vectors for a window.
func (s *Store) Gone(id int, t float64) {
	if x := s.byID[id]; x != nil && !x.gone {
		x.gone, x.goneAt = true, t
	}
}

func (s *Store) prune(t float64) {
	s.targets = slices.DeleteFunc(s.targets, func(x *series) bool {
		if x.gone && x.goneAt < t-s.keep {
			delete(s.byID, x.id)
			return true
		}
		return false
	})
}

// Query evaluates the signal's query at t: the total over pods. ok is
// false when no series has a value (the query returns nothing).
func (s *Store) Query(sig Signal, t float64) (v float64, ok bool) {
	s.prune(t)
	for _, x := range s.targets {
		var y float64
		var has bool
		switch sig.Kind {
		case InFlight:
			if x.gone {
				continue
			}
			y, has = promql.Last(x.samples[0], t, 300)
		case Rate:
			y, has = promql.Rate(x.samples[1], t, sig.Window)
		case IRate:
			y, has = promql.IRate(x.samples[1], t, sig.Window)
		case AvgIRate:
			y, has = promql.AvgOverTimeIRate(x.samples[1], t, 60, sig.Window, 1)
		case AvgIRateUp:
			// "and up": only the targets whose up series is present.
			if x.gone {
				continue
			}
			y, has = promql.AvgOverTimeIRate(x.samples[1], t, 60, sig.Window, 1)
		case RPS:
			y, has = promql.Rate(x.samples[2], t, sig.Window)
		}
		if has {
			v += y
			ok = true
		}
	}
	return v, ok
}

// CPU is one pod's CPU usage over the last window as metrics-server
// reports it: cores used between the last scrape and the scrape a window
// earlier, the time of the last scrape, and the window it covers.
func (s *Store) CPU(id int, t, window float64) (cores, at, win float64, ok bool) {
	x := s.byID[id]
	if x == nil || x.gone {
		return 0, 0, 0, false
	}
	ss := x.samples[3]
	i := len(ss) - 1
	for i >= 0 && ss[i].T > t {
		i--
	}
	if i < 1 {
		return 0, 0, 0, false
	}
	j := i - 1
	for j > 0 && ss[i].T-ss[j].T < window {
		j--
	}
	d := ss[i].T - ss[j].T
	if d <= 0 {
		return 0, 0, 0, false
	}
	return (ss[i].V - ss[j].V) / d, ss[i].T, d, true
}
