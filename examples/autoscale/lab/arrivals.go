package lab

import (
	"math"
	"math/rand/v2"
)

// Request is one arrival: when it comes, the service time it needs and
// the CPU (cores) it uses while in service.
type Request struct {
	At, Service, CPU float64
}

// Arrivals yields the Poisson arrivals of a profile (by thinning at the
// profile's highest rate), and its bursts, each with a service time, from
// a seed: the same seed gives every signal the same sequence.
type Arrivals struct {
	p     *Profile
	svc   *Service
	max   float64
	t     float64
	rng   *rand.Rand
	srng  *rand.Rand
	hrng  *rand.Rand
	shift *Shift

	poisson   float64 // the next Poisson arrival, or +Inf after the end
	havePois  bool
	nextBurst float64
	left      int // requests left in the current burst
}

// NewArrivals starts the sequence of p for svc at from seconds (negative
// for a warm-up at the profile's first rate).
func NewArrivals(p *Profile, svc *Service, seed uint64, from float64) *Arrivals {
	return &Arrivals{p: p, svc: svc, max: p.MaxRate(), t: from, rng: rand.New(rand.NewPCG(seed, 1)), srng: rand.New(rand.NewPCG(seed, 2)), hrng: rand.New(rand.NewPCG(seed, 4))}
}

// Next returns the next arrival, or ok false after the profile's end.
func (a *Arrivals) Next() (r Request, ok bool) {
	end := a.p.Duration()
	if !a.havePois {
		a.poisson, a.havePois = a.nextPoisson(end), true
		if a.p.BurstSize > 0 {
			a.nextBurst = a.p.BurstEvery * math.Ceil(max(a.t, 0)/a.p.BurstEvery+1e-12)
		}
	}
	if a.p.BurstSize > 0 && a.left == 0 && a.nextBurst <= a.poisson && a.nextBurst <= end {
		a.left = a.p.BurstSize
	}
	if a.left > 0 {
		a.left--
		at := a.nextBurst
		if a.left == 0 {
			a.nextBurst += a.p.BurstEvery
		}
		return a.request(at), true
	}
	if math.IsInf(a.poisson, 1) {
		return Request{}, false
	}
	at := a.poisson
	a.poisson = a.nextPoisson(end)
	return a.request(at), true
}

// request draws the service time of an arrival at t, shifted: slowed
// down (the same CPU over a longer time), or a heavy route's.
func (a *Arrivals) request(t float64) Request {
	r := Request{At: t, Service: a.svc.draw(a.srng), CPU: a.svc.CPU}
	// The heavy route's draw is made for every request, so the sequence
	// of service times does not depend on the shift's window.
	heavy := a.hrng.Float64()
	if sh := a.shift; sh != nil {
		switch sh.Kind {
		case "slowdown":
			if sh.in(t) {
				r.Service *= sh.Factor
				r.CPU /= sh.Factor
			}
		case "mix":
			if heavy < sh.share(t) {
				r.Service *= sh.Heavy
			}
		}
	}
	return r
}

// nextPoisson draws the next Poisson arrival after a.t, +Inf past end.
func (a *Arrivals) nextPoisson(end float64) float64 {
	if a.max <= 0 {
		return math.Inf(1)
	}
	for {
		a.t += a.rng.ExpFloat64() / a.max
		if a.t > end {
			return math.Inf(1)
		}
		if a.rng.Float64()*a.max <= a.p.Rate(a.t) {
			return a.t
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
	case "pareto":
		// Mean s.Mean, coefficient of variation s.CV: shape
		// α = 1 + √(1 + 1/CV²) (CV² = 1/(α(α−2))), scale mean·(α−1)/α.
		alpha := 1 + math.Sqrt(1+1/(s.CV*s.CV))
		xm := s.Mean * (alpha - 1) / alpha
		return xm * math.Pow(1-r.Float64(), -1/alpha)
	}
	return r.ExpFloat64() * s.Mean
}
