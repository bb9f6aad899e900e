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
// arrivals and an unbounded queue is an M/M/4 queue: the share of
// requests that wait and their mean wait must match the Erlang-C
// formulas, from ρ = 0.5 to 0.95.
//
// Each load runs 8 seeds of 20 simulated minutes. The tolerance comes
// from the seeds' own spread: the mean of the 8 must lie within 4
// standard errors (the seeds' sample standard deviation / √8) of the
// formula, which a correct simulator misses with a probability of about
// 0.5 % per check (Student's t, 7 degrees of freedom). So that a wide
// spread cannot make the check vacuous, the standard error itself must
// stay under 1.5× the largest measured: 2.5 % of P(wait) (measured 1.6 %
// at ρ = 0.5, 0.4–0.7 % above) and 7.5 % of the mean wait and latency
// (measured at most 5.0 % and 4.1 %, at ρ = 0.95). Measured
// distances from the formulas: 0.1–1.4 standard errors, at most +3.1 %
// (the mean wait at ρ = 0.95).
func TestErlangC(t *testing.T) {
	t.Parallel()
	svc := lab.IOService(4, -1, 0.1)
	svc.Timeout = 1e6
	const seeds = 8
	for _, tc := range []struct {
		name  string
		rate  float64
		short bool
	}{{"rho 0.5", 20, false}, {"rho 0.75", 30, true}, {"rho 0.9", 36, false}, {"rho 0.95", 38, true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if testing.Short() && !tc.short {
				t.Skip("ρ 0.75 and 0.95 run under -short, the others without")
			}
			var pws, mws, ws []float64
			requests := 0
			for seed := uint64(1); seed <= seeds; seed++ {
				sc := lab.Scenario{Profile: constant(tc.rate, 1200), Service: svc, Threshold: 1, MinReplicas: 1, MaxReplicas: 1, Seed: seed, SampleInterval: 60}
				run, err := Run(context.Background(), sc, lab.Signal{Name: "fixed", Kind: lab.Fixed}, nil)
				if err != nil {
					t.Fatal(err)
				}
				pws = append(pws, run.Summary.WaitedFraction)
				mws = append(mws, run.Summary.MeanWaitS)
				ws = append(ws, run.Summary.MeanS)
				requests += run.Summary.Requests
			}
			pw, mw := erlangC(4, tc.rate*0.1, 0.1)
			for _, c := range []struct {
				what     string
				got      []float64
				want     float64
				maxRelSE float64
			}{
				{"P(wait)", pws, pw, 0.025},
				{"mean wait", mws, mw, 0.075},
				{"mean latency (Wq + S)", ws, mw + 0.1, 0.075},
			} {
				m, se := meanSE(c.got)
				t.Logf("%s %.5f ± %.5f (SE, %d seeds, %d requests), Erlang C %.5f: %+.1f %%, %.1f SE",
					c.what, m, se, seeds, requests, c.want, 100*(m-c.want)/c.want, math.Abs(m-c.want)/se)
				if se/c.want > c.maxRelSE {
					t.Errorf("%s: the seeds' standard error %.5f is over %.1f %% of %.5f", c.what, se, 100*c.maxRelSE, c.want)
				}
				if math.Abs(m-c.want) > 4*se {
					t.Errorf("%s = %.5f, Erlang C %.5f: more than 4 standard errors (%.5f) apart", c.what, m, c.want, se)
				}
			}
		})
	}
}

// meanSE returns the mean of xs and its standard error (the sample
// standard deviation over √n).
func meanSE(xs []float64) (mean, se float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	ss := 0.0
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss/float64(len(xs)-1)) / math.Sqrt(float64(len(xs)))
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
	// The cache polls at 15 s and every 60 s after (… 255 s, 315 s): the
	// step at 300 s reaches the HPA one 15 s sync later than fresh
	// reads at best, so cached must be strictly slower.
	if ttc[false] <= 0 || ttc[true] <= ttc[false] {
		t.Errorf("time to capacity fresh %v s, cached %v s: the cache should be slower", ttc[false], ttc[true])
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
