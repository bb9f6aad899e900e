package sim

import (
	"context"
	"math"
	"testing"

	"github.com/otel-runway/runway/examples/autoscale/lab"
)

func constant(rate, dur float64) lab.Profile {
	return lab.Profile{Name: "constant", Points: []lab.Point{{T: 0, RPS: rate}, {T: dur, RPS: rate}}}
}

// erlangC returns P(wait) and the mean wait of an M/M/k queue with
// offered load a = λ·S erlangs and mean service time s.
func erlangC(k int, a, s float64) (pWait, meanWait float64) {
	sum, term := 0.0, 1.0
	for i := 0; i < k; i++ {
		if i > 0 {
			term *= a / float64(i)
		}
		sum += term
	}
	last := term * a / float64(k) // a^k / k!
	rho := a / float64(k)
	top := last / (1 - rho)
	pWait = top / (sum + top)
	return pWait, pWait * s / (float64(k) - a)
}

// One pod with K=4 servers, exponential service of 100 ms, Poisson
// arrivals at 30/s (ρ = 0.75) and an unbounded queue is an M/M/4 queue:
// the share of requests that wait and their mean wait must match the
// Erlang-C formulas.
func TestErlangC(t *testing.T) {
	t.Parallel()
	svc := lab.IOService(4, -1, 0.1)
	svc.Timeout = 1e6
	for _, tc := range []struct {
		name string
		rate float64
	}{{"rho 0.75", 30}, {"rho 0.9", 36}} {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && tc.rate > 30 {
				t.Skip("the heavier load runs without -short")
			}
			sc := lab.Scenario{Profile: constant(tc.rate, 4*3600), Service: svc, Threshold: 1, MinReplicas: 1, MaxReplicas: 1, Seed: 7, SampleInterval: 60}
			run, err := Run(context.Background(), sc, lab.Signal{Name: "fixed", Kind: lab.Fixed}, nil)
			if err != nil {
				t.Fatal(err)
			}
			pw, mw := erlangC(4, tc.rate*0.1, 0.1)
			s := run.Summary
			t.Logf("P(wait) %.4f (Erlang C %.4f), mean wait %.5f s (Erlang C %.5f), %d requests", s.WaitedFraction, pw, s.MeanWaitS, mw, s.Requests)
			if math.Abs(s.WaitedFraction-pw)/pw > 0.03 {
				t.Errorf("P(wait) = %.4f, Erlang C %.4f: more than 3%% apart", s.WaitedFraction, pw)
			}
			if math.Abs(s.MeanWaitS-mw)/mw > 0.05 {
				t.Errorf("mean wait = %.5f, Erlang C %.5f: more than 5%% apart", s.MeanWaitS, mw)
			}
			if math.Abs(s.MeanS-(mw+0.1))/(mw+0.1) > 0.03 {
				t.Errorf("mean latency = %.5f, want W = Wq + S = %.5f", s.MeanS, mw+0.1)
			}
		})
	}
}

// Under constant load λ the autoscaler settles at ceil(λ·W / N) pods,
// W the mean latency, N the in-flight target per pod (and the RPS and
// CPU targets derived from it), for the signals averaged over a window
// (rate, rps, cpu). The instant ones (the gauge, and irate over one
// 15 s scrape) carry the Poisson noise of the count, about √(λW), and the
// 300 s scale-down window keeps their highest recommendation: they settle
// at or above ceil(λ·W/N), within ceil((λ·W + 3√(λ·W))/N). So does the
// averaged irate, for another reason: range vectors ignore staleness
// markers, so a removed pod's last irate points stay in the average for
// up to a window (its irate for a minute, then the minute averaged over),
// and after each scale-down the sum reads high and scales back up. The
// averaged irate kept to the pods that are still targets ("and up") drops
// a removed pod at once and settles like rate.
func TestConvergence(t *testing.T) {
	t.Parallel()
	svc := lab.IOService(4, -1, 0.1)
	const rate, n = 100.0, 3.0
	for _, name := range []string{"inflight", "rate", "irate", "avgirate", "avgirateup", "rps", "cpu"} {
		t.Run(name, func(t *testing.T) {
			sigs, err := lab.ParseSignals(name)
			if err != nil {
				t.Fatal(err)
			}
			sc := lab.Scenario{Profile: constant(rate, 1800), Service: svc, Threshold: n, MinReplicas: 1, MaxReplicas: 20, Seed: 3, StartupDelay: 10}
			run, err := Run(context.Background(), sc, sigs[0], nil)
			if err != nil {
				t.Fatal(err)
			}
			// λ·W over the settled part, by Little's law from the true
			// number of requests in the pods.
			l, k := 0.0, 0
			for _, x := range run.Series {
				if x.T >= 1200 {
					l += float64(x.InFlight)
					k++
				}
			}
			l /= float64(k)
			want := int(math.Ceil(l / n))
			hi := want
			if name == "inflight" || name == "irate" || name == "avgirate" {
				hi = int(math.Ceil((l + 3*math.Sqrt(l)) / n))
			}
			for _, x := range run.Series {
				if x.T >= 1200 && (x.Desired < want || x.Desired > hi) {
					t.Fatalf("at %v s desired %d, want ceil(λ·W/N) = ceil(%.2f / %v) = %d (up to %d)", x.T, x.Desired, l, n, want, hi)
				}
			}
			t.Logf("settled at %d pods; λ·W = %.2f", want, l)
		})
	}
}

// The same seed gives the same run.
func TestDeterministic(t *testing.T) {
	p, _ := lab.ParseProfile("step:low=50,high=200,at=60,dur=400")
	sc := lab.Scenario{Profile: p, Service: lab.IOService(4, 16, 0.1), Threshold: 3, MinReplicas: 2, MaxReplicas: 30, Seed: 11, StartupDelay: 20, LB: "random"}
	sig := lab.Signal{Name: "rate", Kind: lab.Rate, Window: 60}
	a, _ := Run(context.Background(), sc, sig, nil)
	b, _ := Run(context.Background(), sc, sig, nil)
	if a.Summary.Requests != b.Summary.Requests || a.Summary.P95S != b.Summary.P95S || a.Summary.ReplicaSeconds != b.Summary.ReplicaSeconds {
		t.Fatalf("two runs differ: %+v vs %+v", a.Summary, b.Summary)
	}
}

// Least-request balancing (the less loaded of two random pods) waits less
// than random balancing over the same fixed pool and arrivals.
func TestLeastRequestBeatsRandom(t *testing.T) {
	p := constant(140, 900)
	p95 := map[string]float64{}
	for _, lb := range []string{"random", "round-robin", "least-request"} {
		sc := lab.Scenario{Profile: p, Service: lab.IOService(4, -1, 0.1), Threshold: 1, MinReplicas: 4, MaxReplicas: 4, LB: lb, Seed: 9}
		sc.Service.Timeout = 1e6
		run, err := Run(context.Background(), sc, lab.Signal{Name: "fixed", Kind: lab.Fixed}, nil)
		if err != nil {
			t.Fatal(err)
		}
		p95[lb] = run.Summary.P95S
	}
	t.Logf("p95 at ρ = 0.875: %v", p95)
	if !(p95["least-request"] < p95["round-robin"] && p95["round-robin"] < p95["random"]) {
		t.Errorf("p95 %v: want least-request < round-robin < random", p95)
	}
}

// KEDA's useCachedMetrics with a 60 s polling interval makes the HPA act
// on older values: capacity arrives no sooner than without the cache.
func TestCachedMetricsAreSlower(t *testing.T) {
	p, _ := lab.ParseProfile("step:low=50,high=200,at=300,dur=900")
	ttc := map[bool]float64{}
	for _, cached := range []bool{false, true} {
		sc := lab.Scenario{Profile: p, Service: lab.IOService(4, 16, 0.1), Threshold: 3, MinReplicas: 1, MaxReplicas: 30, Initial: 2,
			StartupDelay: 30, Seed: 4, UseCachedMetrics: cached, PollingInterval: 60}
		run, err := Run(context.Background(), sc, lab.Signal{Name: "inflight", Kind: lab.InFlight}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ttc[cached] = run.Summary.TimeToCapacityS[0]
	}
	t.Logf("time to capacity: fresh %v s, cached %v s", ttc[false], ttc[true])
	if ttc[false] <= 0 || ttc[true] < ttc[false] {
		t.Errorf("time to capacity fresh %v s, cached %v s: the cache should not be faster", ttc[false], ttc[true])
	}
}

// Under constant load, in the same run (same seed, same arrivals), the
// averaged irate oscillates: each scale-down leaves the removed pod's last
// irate points in its windows, the sum reads high and the HPA scales back
// up. Kept to the pods that are still targets ("and up"), it settles and
// stays: no scale event once settled. Both scale the same way up to then
// (the new-pod and burst behaviour are those of the averaged irate).
func TestAvgIRateUpSettles(t *testing.T) {
	t.Parallel()
	svc := lab.IOService(4, -1, 0.1)
	const settled = 600.0
	events := map[string]int{}
	desired := map[string][]int{}
	for _, name := range []string{"avgirate", "avgirateup"} {
		sigs, err := lab.ParseSignals(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := lab.Scenario{Profile: constant(100, 1800), Service: svc, Threshold: 3, MinReplicas: 1, MaxReplicas: 20, Seed: 3, StartupDelay: 10}
		run, err := Run(context.Background(), sc, sigs[0], nil)
		if err != nil {
			t.Fatal(err)
		}
		last := -1
		for _, x := range run.Series {
			if x.T < settled {
				continue
			}
			if last >= 0 && x.Desired != last {
				events[name]++
			}
			last = x.Desired
			desired[name] = append(desired[name], x.Desired)
		}
		t.Logf("%s: %d changes of the desired count after %g s (%d scale events in all, %.0f replica·s, %d errors, %d timeouts)",
			name, events[name], settled, run.Summary.ScaleEvents, run.Summary.ReplicaSeconds, run.Summary.Errors, run.Summary.Timeouts)
	}
	if events["avgirateup"] != 0 {
		t.Errorf("avgirateup changed its desired count %d times after %g s, want 0: %v", events["avgirateup"], settled, desired["avgirateup"])
	}
	if events["avgirate"] == 0 {
		t.Errorf("avgirate settled too (%v): the run no longer shows the oscillation avgirateup removes", desired["avgirate"])
	}
}
