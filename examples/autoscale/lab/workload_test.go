package lab

import (
	"math"
	"strings"
	"testing"
)

// The targets at a utilization: RPS ρ·K/S, CPU ρ·K·cpu/cores, and in
// flight the M/M/K mean number in a pod: at K = 4, ρ = 0.75 Erlang C is
// 0.5094, so L = 3 + 0.5094 · 0.75/0.25 = 4.528 (not the 3 that Little's
// law at W = S gives); M/M/1 at 0.5 holds 1.
func TestTargetsAtUtilization(t *testing.T) {
	p, _ := ParseProfile("step:low=100,high=400,at=300,dur=1200")
	sc := Scenario{Profile: p, Service: IOService(4, 16, 0.1), MinReplicas: 1, MaxReplicas: 50}
	tg := sc.TargetsAt(0.75)
	if math.Abs(tg.RPS-30) > 1e-9 || math.Abs(tg.CPU-0.06) > 1e-9 || math.Abs(tg.InFlight-4.528) > 0.001 {
		t.Errorf("TargetsAt(0.75) = %+v, want 30 req/s, 6%% CPU, 4.528 in flight", tg)
	}
	if c := ErlangC(4, 3); math.Abs(c-0.5094) > 0.0001 {
		t.Errorf("ErlangC(4, 3) = %v", c)
	}
	if l := InFlightAt(1, 0.5, 1); math.Abs(l-1) > 1e-12 {
		t.Errorf("M/M/1 at 0.5: L = %v, want 1", l)
	}
	// Constant service halves the queue (Allen–Cunneen, exact for M/D/1's
	// Pollaczek–Khinchine: Lq = ρ²/(2(1−ρ))).
	if l := InFlightAt(1, 0.5, 0); math.Abs(l-0.75) > 1e-12 {
		t.Errorf("M/D/1 at 0.5: L = %v, want 0.75", l)
	}
	at := sc.AtUtilization(0.5, true)
	if at.Threshold != at.Targets.InFlight || at.Initial != 5 || at.Utilization != 0.5 {
		t.Errorf("AtUtilization(0.5) = threshold %v, initial %d (want 100 req/s / 20 = 5)", at.Threshold, at.Initial)
	}
	// A mix at 5 % heavy (10×) starts at 1.45 × the mean service time:
	// the RPS target that holds ρ is lower by as much.
	sc.Shift = &Shift{Kind: "mix", From: 0.05, To: 0.4, Heavy: 10, At: 300}
	if got := sc.TargetsAt(0.5).RPS; math.Abs(got-20/1.45) > 1e-9 {
		t.Errorf("mix: RPS target %v, want %v", got, 20/1.45)
	}
	if m := sc.MeanAt(400); math.Abs(m-0.46) > 1e-12 {
		t.Errorf("mix: mean service after the shift %v, want 0.46", m)
	}
}

func TestParseShift(t *testing.T) {
	s, err := ParseShift("slowdown:x=3,at=60,len=120")
	if err != nil || s.Kind != "slowdown" || s.Factor != 3 || s.At != 60 || s.Len != 120 {
		t.Fatalf("slowdown: %+v, %v", s, err)
	}
	if s.factor(59) != 1 || s.factor(60) != 3 || s.factor(179) != 3 || s.factor(180) != 1 {
		t.Errorf("slowdown factors: %v %v %v %v", s.factor(59), s.factor(60), s.factor(179), s.factor(180))
	}
	m, err := ParseShift("mix:from=0.05,to=0.4,at=10")
	if err != nil || m.Heavy != 10 || m.share(9) != 0.05 || m.share(1e6) != 0.4 {
		t.Fatalf("mix: %+v, %v", m, err)
	}
	if s, err := ParseShift(""); s != nil || err != nil {
		t.Errorf("no shift: %v, %v", s, err)
	}
	for _, bad := range []string{"slow:x=3", "slowdown:x=0", "slowdown:y=2", "mix:from=2", "mix:to=x", "slowdown:at=-1"} {
		if _, err := ParseShift(bad); err == nil {
			t.Errorf("ParseShift(%q) accepted", bad)
		} else if !strings.Contains(err.Error(), "shift") {
			t.Errorf("ParseShift(%q): %v does not name the shift", bad, err)
		}
	}
}

// The shifted arrivals: the same arrival times; in a slowdown's window
// every service time is ×3 and its CPU ÷3 (the same CPU-seconds); in a
// mix, the heavy route's share and the mean service time follow it.
func TestShiftedArrivals(t *testing.T) {
	p, _ := ParseProfile("step:low=200,high=200,at=500,dur=1000")
	base := Scenario{Profile: p, Service: IOService(4, 16, 0.1), Seed: 5}
	slow := base
	slow.Shift = &Shift{Kind: "slowdown", Factor: 3, At: 500}
	a, b := base.Arrivals(0), slow.Arrivals(0)
	var before, during, cpuBefore, cpuDuring float64
	var nb, nd int
	for {
		x, ok := a.Next()
		y, ok2 := b.Next()
		if !ok || !ok2 {
			if ok != ok2 {
				t.Fatal("the shift changed the number of arrivals")
			}
			break
		}
		if x.At != y.At {
			t.Fatalf("arrival at %v became %v", x.At, y.At)
		}
		if y.At < 500 {
			before += y.Service
			cpuBefore += y.Service * y.CPU
			nb++
			if y.Service != x.Service {
				t.Fatalf("before the shift: service %v became %v", x.Service, y.Service)
			}
		} else {
			during += y.Service
			cpuDuring += y.Service * y.CPU
			nd++
			if math.Abs(y.Service-3*x.Service) > 1e-12 {
				t.Fatalf("slowdown: service %v became %v, want ×3", x.Service, y.Service)
			}
		}
	}
	if r := (during / float64(nd)) / (before / float64(nb)); math.Abs(r-3) > 0.1 {
		t.Errorf("mean service during / before = %v, want 3", r)
	}
	if r := (cpuDuring / float64(nd)) / (cpuBefore / float64(nb)); math.Abs(r-1) > 0.05 {
		t.Errorf("CPU-seconds per request during / before = %v, want 1 (a slowdown is waiting)", r)
	}

	mix := base
	mix.Shift = &Shift{Kind: "mix", From: 0.05, To: 0.4, Heavy: 10, At: 500}
	c := mix.Arrivals(0)
	var sum [2]float64
	var n, heavy [2]int
	for {
		r, ok := c.Next()
		if !ok {
			break
		}
		i := 0
		if r.At >= 500 {
			i = 1
		}
		sum[i] += r.Service
		n[i]++
		if r.Service > 0.1*4 { // far in an exponential's tail: mostly the heavy route
			heavy[i]++
		}
	}
	for i, want := range []float64{0.145, 0.46} {
		if m := sum[i] / float64(n[i]); math.Abs(m-want)/want > 0.05 {
			t.Errorf("mix part %d: mean service %v, want %v", i, m, want)
		}
	}
	if !(float64(heavy[1])/float64(n[1]) > 5*float64(heavy[0])/float64(n[0])) {
		t.Errorf("long requests before %d/%d, after %d/%d: the heavy share did not rise", heavy[0], n[0], heavy[1], n[1])
	}
}

// Pareto service times have the mean and tail they are given: shape
// α = 1 + √(1 + 1/CV²), P(X > x) = (x_m / x)^α.
func TestParetoServiceTimes(t *testing.T) {
	svc := Service{Slots: 4, Mean: 0.1, Dist: "pareto", CV: 3, Cores: 1, Timeout: 10}
	if err := svc.Validate(); err != nil {
		t.Fatal(err)
	}
	p, _ := ParseProfile("step:low=1000,high=1000,at=1,dur=400")
	a := NewArrivals(&p, &svc, 9, 0)
	alpha := 1 + math.Sqrt(1+1/9.0)
	xm := 0.1 * (alpha - 1) / alpha
	var n, over int
	var sum float64
	for {
		r, ok := a.Next()
		if !ok {
			break
		}
		n++
		sum += r.Service
		if r.Service > 0.5 {
			over++
		}
	}
	if m := sum / float64(n); math.Abs(m-0.1) > 0.01 {
		t.Errorf("mean %v, want 0.1", m)
	}
	want := math.Pow(xm/0.5, alpha)
	if got := float64(over) / float64(n); math.Abs(got-want) > 4*math.Sqrt(want/float64(n)) {
		t.Errorf("P(X > 5 × mean) = %v, want %v (an exponential's is %v)", got, want, math.Exp(-5))
	}
	if bad := (Service{Slots: 1, Mean: 0.1, Dist: "pareto", Cores: 1, Timeout: 1}); bad.Validate() == nil {
		t.Error("pareto without a cv is accepted")
	}
}

// A sweep of a CPU-bound server is fitted with its CPU: measured when the
// levels carry the server's cores, a core per request for the demo's CPU
// workload; otherwise the pod is I/O-bound.
func TestFromSweepCPU(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		cpu       float64
		cores     float64
		from      string
	}{
		{"measured", `{"target":"http://x/api","levels":[{"concurrency":1,"p50_s":0.05,"p95_s":0.06,"mean_s":0.05,"throughput_rps":19.6,"cpu_cores":0.882},
			{"concurrency":2,"p50_s":0.05,"p95_s":0.06,"mean_s":0.05,"throughput_rps":39,"cpu_cores":1.8}]}`, 0.9, 2, "measured"},
		{"demo cpu workload", `{"target":"http://127.0.0.1:1/work?mode=cpu&ms=50","levels":[{"concurrency":1,"p50_s":0.05,"mean_s":0.05,"throughput_rps":20},
			{"concurrency":2,"p50_s":0.05,"mean_s":0.05,"throughput_rps":40}]}`, 1, 2, "cpu workload"},
		{"io", `{"target":"http://x/work?ms=50","levels":[{"concurrency":1,"p50_s":0.05,"mean_s":0.05,"throughput_rps":20}]}`, 0.02, 1, "assumed I/O-bound"},
	} {
		fit, err := FromSweep(strings.NewReader(tc.doc))
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(fit.Service.CPU-tc.cpu) > 1e-9 || fit.Service.Cores != tc.cores || fit.CPUFrom != tc.from {
			t.Errorf("%s: cpu %v, cores %v, from %q; want %v, %v, %q", tc.name, fit.Service.CPU, fit.Service.Cores, fit.CPUFrom, tc.cpu, tc.cores, tc.from)
		}
	}
}
