package lab

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
)

// Point is the offered arrival rate (requests per second) at T seconds.
type Point struct {
	T, RPS float64
}

// Profile is an arrival rate over time: linear between its points, with
// steps where two points share a time. Arrivals are Poisson at that rate.
type Profile struct {
	Name   string  `json:"name"`
	Points []Point `json:"points"`
	// Steps are the times the rate rises sharply: the starts of the
	// transitions the comparison measures.
	Steps []float64 `json:"steps"`
	// Burst, when set, adds BurstSize requests at once every BurstEvery
	// seconds (from BurstEvery on) to the Poisson arrivals.
	BurstSize  int     `json:"burst_size,omitempty"`
	BurstEvery float64 `json:"burst_every_s,omitempty"`
}

// Duration is the time of the last point.
func (p *Profile) Duration() float64 { return p.Points[len(p.Points)-1].T }

// Rate is the offered rate at t (the later value at a step).
func (p *Profile) Rate(t float64) float64 {
	pts := p.Points
	if t <= pts[0].T {
		return pts[0].RPS
	}
	i := sort.Search(len(pts), func(i int) bool { return pts[i].T > t })
	if i == len(pts) {
		return pts[len(pts)-1].RPS
	}
	a, b := pts[i-1], pts[i]
	if b.T == a.T {
		return b.RPS
	}
	return a.RPS + (b.RPS-a.RPS)*(t-a.T)/(b.T-a.T)
}

// MaxRate is the highest rate of the profile.
func (p *Profile) MaxRate() float64 {
	m := 0.0
	for _, x := range p.Points {
		m = max(m, x.RPS)
	}
	return m
}

// TargetAfter is the rate a step at s leads to: the highest rate within
// the following span (the end of a ramp, the top of a step or spike).
func (p *Profile) TargetAfter(s, span float64) float64 {
	m := p.Rate(s)
	for _, x := range p.Points {
		if x.T >= s && x.T <= s+span {
			m = max(m, x.RPS)
		}
	}
	return m
}

// Scale returns the profile with every rate multiplied by f.
func (p Profile) Scale(f float64) Profile {
	q := p
	q.Points = make([]Point, len(p.Points))
	for i, x := range p.Points {
		q.Points[i] = Point{x.T, x.RPS * f}
	}
	return q
}

func (p *Profile) validate() error {
	if len(p.Points) < 2 {
		return fmt.Errorf("profile %s: want at least two points", p.Name)
	}
	for i, x := range p.Points {
		if x.RPS < 0 || math.IsNaN(x.RPS) || math.IsInf(x.RPS, 0) {
			return fmt.Errorf("profile %s: rate %v at %v s", p.Name, x.RPS, x.T)
		}
		if i > 0 && x.T < p.Points[i-1].T {
			return fmt.Errorf("profile %s: time %v s before %v s", p.Name, x.T, p.Points[i-1].T)
		}
	}
	if p.Duration() <= 0 {
		return fmt.Errorf("profile %s: zero duration", p.Name)
	}
	return nil
}

// ParseProfile reads a profile specification:
//
//	step:low=20,high=80,at=60,dur=300         low, then high from at
//	ramp:from=20,to=80,start=60,end=180,dur=300
//	spike:base=20,peak=80,at=60,len=30,dur=300
//	diurnal:min=20,max=80,period=600,dur=1200   a sinusoid, lowest at 0
//	burst:base=5,n=40,every=10,dur=300         Poisson at base, plus n requests at once every 'every' s
//	csv:FILE                                   rows "seconds,rps" (a header is skipped)
func ParseProfile(spec string) (Profile, error) {
	kind, args, _ := strings.Cut(spec, ":")
	if kind == "csv" {
		f, err := os.Open(args)
		if err != nil {
			return Profile{}, fmt.Errorf("profile: %w", err)
		}
		defer f.Close()
		return ReadCSVProfile(args, f)
	}
	kv := map[string]float64{}
	if args != "" {
		for _, part := range strings.Split(args, ",") {
			k, v, ok := strings.Cut(part, "=")
			if !ok {
				return Profile{}, fmt.Errorf("profile %s: %q: want key=value", kind, part)
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return Profile{}, fmt.Errorf("profile %s: %s: %w", kind, k, err)
			}
			kv[k] = f
		}
	}
	get := func(k string, def float64) float64 {
		if v, ok := kv[k]; ok {
			delete(kv, k)
			return v
		}
		return def
	}
	var p Profile
	switch kind {
	case "step":
		low, high, at, dur := get("low", 20), get("high", 80), get("at", 60), get("dur", 300)
		p = Profile{Points: []Point{{0, low}, {at, low}, {at, high}, {dur, high}}, Steps: []float64{at}}
	case "ramp":
		from, to, start, end, dur := get("from", 20), get("to", 80), get("start", 60), get("end", 180), get("dur", 300)
		p = Profile{Points: []Point{{0, from}, {start, from}, {end, to}, {dur, to}}, Steps: []float64{start}}
	case "spike":
		base, peak, at, length, dur := get("base", 20), get("peak", 80), get("at", 60), get("len", 30), get("dur", 300)
		p = Profile{Points: []Point{{0, base}, {at, base}, {at, peak}, {at + length, peak}, {at + length, base}, {dur, base}}, Steps: []float64{at}}
	case "diurnal":
		lo, hi, period, dur := get("min", 20), get("max", 80), get("period", 600), get("dur", 1200)
		n := int(math.Ceil(dur / period * 48))
		for i := 0; i <= n; i++ {
			t := dur * float64(i) / float64(n)
			r := lo + (hi-lo)*(1-math.Cos(2*math.Pi*t/period))/2
			p.Points = append(p.Points, Point{t, r})
		}
		for s := 0.0; s < dur; s += period {
			p.Steps = append(p.Steps, s)
		}
	case "burst":
		base, n, every, dur := get("base", 5), get("n", 40), get("every", 10), get("dur", 300)
		if n < 1 || every <= 0 {
			return Profile{}, fmt.Errorf("profile burst: want n ≥ 1 and every > 0")
		}
		p = Profile{Points: []Point{{0, base}, {dur, base}}, BurstSize: int(n), BurstEvery: every}
	default:
		return Profile{}, fmt.Errorf("profile %q: want step, ramp, spike, diurnal, burst or csv", kind)
	}
	for k := range kv {
		return Profile{}, fmt.Errorf("profile %s: unknown key %q", kind, k)
	}
	p.Name = spec
	return p, p.validate()
}

// ReadCSVProfile reads rows of "seconds,rps". Steps are where the rate
// rises by more than half between consecutive rows.
func ReadCSVProfile(name string, r io.Reader) (Profile, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return Profile{}, fmt.Errorf("profile %s: %w", name, err)
	}
	p := Profile{Name: "csv:" + name}
	for i, row := range rows {
		if len(row) < 2 {
			return Profile{}, fmt.Errorf("profile %s: row %d: want seconds,rps", name, i+1)
		}
		t, err1 := strconv.ParseFloat(strings.TrimSpace(row[0]), 64)
		v, err2 := strconv.ParseFloat(strings.TrimSpace(row[1]), 64)
		if err1 != nil || err2 != nil {
			if i == 0 {
				continue // header
			}
			return Profile{}, fmt.Errorf("profile %s: row %d: %q", name, i+1, row)
		}
		if n := len(p.Points); n > 0 && v > 1.5*p.Points[n-1].RPS {
			p.Steps = append(p.Steps, p.Points[n-1].T)
		}
		p.Points = append(p.Points, Point{t, v})
	}
	return p, p.validate()
}
