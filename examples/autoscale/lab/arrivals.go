package lab

import (
	"math"
	"math/rand/v2"
)

// Request is one arrival: when it comes and the service time it needs.
type Request struct {
	At, Service float64
}

// Arrivals yields the Poisson arrivals of a profile (by thinning at the
// profile's highest rate), each with a service time, from a seed: the
// same seed gives every signal the same sequence.
type Arrivals struct {
	p    *Profile
	svc  *Service
	max  float64
	t    float64
	rng  *rand.Rand
	srng *rand.Rand
}

// NewArrivals starts the sequence of p for svc at from seconds (negative
// for a warm-up at the profile's first rate).
func NewArrivals(p *Profile, svc *Service, seed uint64, from float64) *Arrivals {
	return &Arrivals{p: p, svc: svc, max: p.MaxRate(), t: from, rng: rand.New(rand.NewPCG(seed, 1)), srng: rand.New(rand.NewPCG(seed, 2))}
}

// Next returns the next arrival, or ok false after the profile's end.
func (a *Arrivals) Next() (r Request, ok bool) {
	if a.max <= 0 {
		return Request{}, false
	}
	end := a.p.Duration()
	for {
		a.t += a.rng.ExpFloat64() / a.max
		if a.t > end {
			return Request{}, false
		}
		if a.rng.Float64()*a.max <= a.p.Rate(a.t) {
			return Request{At: a.t, Service: a.svc.draw(a.srng)}, true
		}
	}
}

// draw returns one service time.
func (s *Service) draw(r *rand.Rand) float64 {
	switch s.Dist {
	case "const":
		return s.Mean
	case "lognormal":
		// Mean s.Mean, coefficient of variation s.CV.
		sigma2 := math.Log(1 + s.CV*s.CV)
		mu := math.Log(s.Mean) - sigma2/2
		return math.Exp(mu + math.Sqrt(sigma2)*r.NormFloat64())
	case "empirical":
		return s.Samples[r.IntN(len(s.Samples))]
	}
	return r.ExpFloat64() * s.Mean
}
