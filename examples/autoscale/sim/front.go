package sim

import (
	"context"
	"fmt"
	"sync"

	"github.com/otel-runway/runway/examples/autoscale/lab"
)

// Job is one simulation: a scenario under one signal.
type Job struct {
	Scenario lab.Scenario
	Signal   lab.Signal
}

// RunAll runs the jobs on workers goroutines (at least one) and returns
// their runs in the jobs' order. progress, if not nil, is called after
// each job with the number done. The first error stops the others.
func RunAll(ctx context.Context, jobs []Job, workers int, progress func(done, total int)) ([]lab.Run, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runs := make([]lab.Run, len(jobs))
	next := make(chan int)
	var mu sync.Mutex
	var firstErr error
	done := 0
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r, err := Run(ctx, jobs[i].Scenario, jobs[i].Signal, nil)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				runs[i] = r
				done++
				if progress != nil {
					progress(done, len(jobs))
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range jobs {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return runs, firstErr
}

// Seeds returns n copies of sc with seeds sc.Seed, sc.Seed+1, ….
func Seeds(sc lab.Scenario, n int) []lab.Scenario {
	out := make([]lab.Scenario, n)
	for i := range out {
		out[i] = sc
		out[i].Seed = sc.Seed + uint64(i)
	}
	return out
}

// Fronts sweeps every signal over the targets that hold the steady-state
// utilizations utils (lab.Scenario.AtUtilization), each over seeds seeds,
// and returns the front report (fronts marked, interpolated at equal
// replica-seconds, with its verdict). autoInitial sizes the initial pool
// to each target at the starting rate.
func Fronts(ctx context.Context, sc lab.Scenario, sigs []lab.Signal, utils []float64, seeds, workers int, autoInitial bool, progress func(done, total int)) (*lab.FrontReport, error) {
	if len(utils) == 0 || seeds < 1 {
		return nil, fmt.Errorf("fronts: want at least one target and one seed")
	}
	type key struct {
		sig  int
		util int
	}
	var jobs []Job
	var keys []key
	for si, sig := range sigs {
		for ui, u := range utils {
			if t, unit := sig.TargetOf(sc.TargetsAt(u)); !lab.Reachable(&sc, unit, t) {
				continue // Finish lists it
			}
			c := sc.AtUtilization(u, autoInitial).WithDefaults()
			if err := c.Validate(); err != nil {
				return nil, fmt.Errorf("fronts: utilization %v: %w", u, err)
			}
			for _, s := range Seeds(c, seeds) {
				jobs = append(jobs, Job{s, sig})
				keys = append(keys, key{si, ui})
			}
		}
	}
	runs, err := RunAll(ctx, jobs, workers, progress)
	rep := &lab.FrontReport{Mode: "sim", Scenario: sc, Utilizations: utils, Seeds: seeds, Interrupted: err != nil}
	for si, sig := range sigs {
		for ui, u := range utils {
			var rs []lab.Run
			for i, k := range keys {
				if k == (key{si, ui}) && runs[i].Summary.Signal != "" && !runs[i].Summary.Interrupted {
					rs = append(rs, runs[i])
				}
			}
			target, unit := sig.TargetOf(sc.TargetsAt(u))
			if len(rs) == 0 && lab.Reachable(&sc, unit, target) {
				continue
			}
			rep.Points = append(rep.Points, lab.PointFrom(rs, sig.Name, u, target, unit))
		}
	}
	rep.Finish()
	return rep, err
}
