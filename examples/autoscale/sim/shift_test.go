package sim

import (
	"context"
	"math"
	"testing"

	"github.com/otel-runway/runway/examples/autoscale/lab"
)

// A slowdown multiplies the service time at unchanged arrivals: with
// more slots than requests (M/M/∞) Little's law gives the mean number in
// flight, λ·S before and λ·3S during a ×3 slowdown, and the CPU stays
// λ·S·cpu (the extra time is waiting). A mix shift's mean in flight is
// λ·S·(1 − p + p·H).
func TestSlowdownMultipliesServiceTime(t *testing.T) {
	p, _ := lab.ParseProfile("step:low=50,high=50,at=300,dur=1500")
	svc := lab.IOService(1000, -1, 0.1)
	sc := lab.Scenario{Profile: p, Service: svc, Threshold: 5, MinReplicas: 1, MaxReplicas: 1, Seed: 4,
		Shift: &lab.Shift{Kind: "slowdown", Factor: 3, At: 300, Len: 900}}
	sigs, _ := lab.ParseSignals("cpu")
	run, err := Run(context.Background(), sc, sigs[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	mean := func(from, to float64, f func(*lab.Sample) (float64, bool)) (float64, int) {
		sum, n := 0.0, 0
		for i := range run.Series {
			s := &run.Series[i]
			if s.T >= from && s.T < to {
				if v, ok := f(s); ok {
					sum += v
					n++
				}
			}
		}
		return sum / float64(n), n
	}
	inFlight := func(s *lab.Sample) (float64, bool) { return float64(s.InFlight), true }
	cpu := func(s *lab.Sample) (float64, bool) {
		if s.Signal == nil {
			return 0, false
		}
		return *s.Signal, true
	}
	for _, part := range []struct {
		name     string
		from, to float64
		want     float64
	}{{"before", 0, 300, 5}, {"during", 360, 1200, 15}} {
		got, n := mean(part.from, part.to, inFlight)
		c, _ := mean(part.from+30, part.to, cpu)
		t.Logf("%s: mean in flight %.2f over %d samples (λ·W = %v), CPU %.4f cores", part.name, got, n, part.want, c)
		// Samples 5 s apart of a Poisson(L) count, 3 s of service at most:
		// nearly independent, so 4 standard errors of √(L/n).
		if tol := 4 * math.Sqrt(part.want/float64(n)); math.Abs(got-part.want) > tol {
			t.Errorf("%s: mean in flight %.2f, want λ·W = %v ± %.2f", part.name, got, part.want, tol)
		}
		if math.Abs(c-0.1) > 0.01 {
			t.Errorf("%s: CPU %.3f cores, want λ·S·cpu = 0.1 (a slowdown adds waiting, not CPU)", part.name, c)
		}
	}

	sc.Shift = &lab.Shift{Kind: "mix", From: 0.05, To: 0.4, Heavy: 10, At: 300}
	run, err = Run(context.Background(), sc, sigs[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []struct {
		name     string
		from, to float64
		want     float64
	}{{"mix before", 0, 300, 50 * 0.145}, {"mix after", 360, 1500, 50 * 0.46}} {
		got, n := mean(part.from, part.to, inFlight)
		t.Logf("%s: mean in flight %.2f over %d samples (λ·S·(1 − p + p·H) = %v)", part.name, got, n, part.want)
		if tol := 4 * math.Sqrt(part.want/float64(n)) * 2; math.Abs(got-part.want) > tol {
			t.Errorf("%s: mean in flight %.2f, want %v ± %.2f", part.name, got, part.want, tol)
		}
	}
}

// A slowdown on a pool of M/M/4 pods at the same arrivals: the pool the
// in-flight signal holds grows with the load λ·S, and the recorded time to
// capacity is measured from the shift's start.
func TestSlowdownScalesInFlight(t *testing.T) {
	p, _ := lab.ParseProfile("step:low=100,high=100,at=300,dur=1200")
	sc := lab.Scenario{Profile: p, Service: lab.IOService(4, 16, 0.1), MinReplicas: 1, MaxReplicas: 60, StartupDelay: 30, Seed: 2,
		Shift: &lab.Shift{Kind: "slowdown", Factor: 3, At: 300, Len: 600}}
	sc = sc.AtUtilization(0.7, true)
	sigs, _ := lab.ParseSignals("inflight")
	run, err := Run(context.Background(), sc, sigs[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Summary.TimeToCapacityS) != 1 || run.Summary.TimeToCapacityS[0] < 0 {
		t.Fatalf("time to capacity %v, want one step, reached", run.Summary.TimeToCapacityS)
	}
	var before, during int
	for _, s := range run.Series {
		if s.T == 295 {
			before = s.Ready
		}
		if s.T == 895 {
			during = s.Ready
		}
	}
	// 100 req/s × 0.1 s at ρ 0.7 of 4 slots: 4 pods; ×3: about 11.
	if !(before >= 4 && during >= 3*before-2) {
		t.Errorf("ready pods before %d, during %d: want about 3×", before, during)
	}
}

// The fronts: every signal at every utilization over the seeds, marked,
// interpolated, with a verdict; RPS's measured utilization follows its
// target's.
func TestFronts(t *testing.T) {
	p, _ := lab.ParseProfile("step:low=50,high=150,at=120,dur=600")
	sc := lab.Scenario{Profile: p, Service: lab.IOService(4, 16, 0.1), MinReplicas: 1, MaxReplicas: 30, StartupDelay: 30, Seed: 1}
	sigs, _ := lab.ParseSignals("inflight,rps:1m")
	rep, err := Fronts(context.Background(), sc, sigs, []float64{0.5, 0.8}, 3, 2, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Points) != 4 || rep.Verdict == "" {
		t.Fatalf("%d points, verdict %q", len(rep.Points), rep.Verdict)
	}
	for _, pt := range rep.Points {
		if pt.ReplicaSeconds.N != 3 || !pt.OnFailedFront && !pt.OnP95Front && len(rep.Points) < 3 {
			t.Errorf("%+v", pt)
		}
	}
	rps5, rps8 := rep.Points[2], rep.Points[3]
	if !(rps8.MeasuredUtilization.Mean > rps5.MeasuredUtilization.Mean && rps8.ReplicaSeconds.Mean < rps5.ReplicaSeconds.Mean) {
		t.Errorf("rps at 0.8 vs 0.5: utilization %v vs %v, replica·s %v vs %v", rps8.MeasuredUtilization, rps5.MeasuredUtilization, rps8.ReplicaSeconds, rps5.ReplicaSeconds)
	}
	// The same seeds give the same fronts.
	again, _ := Fronts(context.Background(), sc, sigs, []float64{0.5, 0.8}, 3, 1, true, nil)
	if again.Points[1].FailedPct != rep.Points[1].FailedPct {
		t.Errorf("not deterministic: %v vs %v", again.Points[1].FailedPct, rep.Points[1].FailedPct)
	}
}
