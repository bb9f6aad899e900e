// Command autoscale is runway's autoscaling lab: it runs the Kubernetes
// HPA algorithm (with KEDA's Prometheus trigger in front) in a closed loop
// over a pool of pods, and compares scaling on requests in flight (the
// gauge, and the time-weighted counter through rate() and irate()), CPU
// and RPS on the same arrivals: time to capacity, p50/p95/p99, errors,
// replica-seconds and scale events.
//
//	go run ./examples/autoscale                          a short live comparison
//	go run ./examples/autoscale -mode sim -profile step:low=200,high=2000,at=300,dur=1800 -max 200
//	go run ./examples/autoscale -mode sim -targets 0.5,0.6,0.7,0.8,0.9 -seeds 5 -chart fronts.svg
//	go run ./examples/autoscale -mode sim -latency-budget
//	go run ./examples/autoscale -mode sim -sweep sweep.json -recommend -scaledobject keda.yaml
//
// Live mode starts real demo servers on 127.0.0.1 (this binary itself in
// its demo-server role, or -server BINARY) with a concurrency limit, a
// front proxy and an open-loop Poisson load, and scrapes each replica's
// /metrics. Sim mode is a discrete-event
// simulation of the same pool with the same autoscaler code; it runs
// hours of traffic over hundreds of pods in seconds. Progress goes to
// stderr (-q silences it); Ctrl-C stops and prints what was measured.
// Every run ends with a one-line verdict.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/otel-runway/runway/examples/autoscale/hpa"
	"github.com/otel-runway/runway/examples/autoscale/lab"
	"github.com/otel-runway/runway/examples/autoscale/live"
	"github.com/otel-runway/runway/examples/autoscale/sim"
	"github.com/otel-runway/runway/examples/internal/demo"
)

type options struct {
	mode, profile, signals, sweep, workload, dist, lb string
	behavior                                          string
	jsonFile, csvFile, chartFile, scaledObject        string
	quiet, recommend, cached                          bool
	threshold, serviceMS, cv, cores, startup          float64
	scrape, sync, cpuWindow, polling, timeout         float64
	upWindow, downWindow, period                      float64
	slots, queue, minR, maxR, initial                 int
	seed                                              uint64
	prometheus                                        string

	targets, shift, server, namespace, deployment string
	frontsFrom                                    string
	seeds, workers                                int
	latencyBudget                                 bool
	failureBudget, cpuPerRequest                  float64
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == demoServer {
		os.Exit(serveDemo(os.Args[2:]))
	}
	o := options{}
	fs := flag.NewFlagSet("autoscale", flag.ExitOnError)
	fs.StringVar(&o.mode, "mode", "live", "live (real demo processes) or sim (simulation)")
	fs.StringVar(&o.profile, "profile", "", "arrival profile: step:…, ramp:…, spike:…, diurnal:…, burst:… or csv:FILE (default depends on -mode)")
	fs.StringVar(&o.signals, "signals", "", "signals to compare: inflight, rate[:w], irate[:w], avgirate[:w], avgirateup[:w] (the recommended form), cpu, rps[:w], fixed (default depends on -mode)")
	fs.StringVar(&o.targets, "targets", "", "compare at equal cost: sweep each signal's target over these steady-state utilizations (e.g. 0.5,0.6,0.7,0.8,0.9) and print the fronts")
	fs.StringVar(&o.frontsFrom, "fronts-from", "", "print the fronts (table, verdict, and -chart, -json) of a -targets JSON report instead of running")
	fs.IntVar(&o.seeds, "seeds", 0, "seeds per point with -targets, -latency-budget or -recommend (default 5; 3 with -recommend)")
	fs.IntVar(&o.workers, "workers", 0, "sim: simulations run at once (default the CPUs)")
	fs.StringVar(&o.shift, "shift", "", "change the service time at unchanged arrivals: slowdown:x=5,at=300,len=600 or mix:from=0.05,to=0.4,heavy=10,at=300")
	fs.BoolVar(&o.latencyBudget, "latency-budget", false, "sim: vary each stage of the signal path (scrape, KEDA cache, HPA sync, start-up, a 1-second path) and print the table")
	fs.Float64Var(&o.failureBudget, "failure-budget", 0.1, "with -recommend: the failures allowed, percent of the requests")
	fs.StringVar(&o.server, "server", "", "live: the demo server binary to run (default: this binary, in its demo-server role)")
	fs.StringVar(&o.namespace, "namespace", lab.Namespace, "with -recommend: the namespace of the Deployment the ScaledObject scales")
	fs.StringVar(&o.deployment, "deployment", lab.Deployment, "with -recommend: the Deployment the ScaledObject scales")
	fs.Float64Var(&o.cpuPerRequest, "cpu-per-request", 0, "cores one request in service uses (default: 0.02 io, 1 cpu, or what the sweep measured)")
	fs.StringVar(&o.jsonFile, "json", "", "write the report (a summary per signal and the time series) as JSON to FILE")
	fs.StringVar(&o.csvFile, "csv", "", "write the time series as CSV to FILE")
	fs.StringVar(&o.chartFile, "chart", "", "write an SVG chart of load, replicas and p95 to FILE")
	fs.BoolVar(&o.quiet, "q", false, "no progress on stderr")
	fs.StringVar(&o.sweep, "sweep", "", "fit the pod (service time, slots, threshold) from a sweep JSON")
	fs.BoolVar(&o.recommend, "recommend", false, "sim: search thresholds, query forms and behaviors, and print the best ScaledObject")
	fs.StringVar(&o.scaledObject, "scaledobject", "", "with -recommend: write the ScaledObject YAML to FILE")
	fs.Float64Var(&o.threshold, "threshold", 0, "in-flight target per pod (default: the sweep's, or 75% of the slots)")
	fs.StringVar(&o.workload, "workload", "io", "io (slots of waiting) or cpu (one slot per core, each using a core)")
	fs.IntVar(&o.slots, "slots", 0, "requests served at once per pod (default 4; cpu: the cores)")
	fs.IntVar(&o.queue, "queue", 16, "wait queue per pod; more are refused with 503 (-1: unbounded)")
	fs.Float64Var(&o.serviceMS, "service-ms", 0, "mean service time, ms (default: 50 live, 100 sim)")
	fs.StringVar(&o.dist, "dist", "exp", "service-time distribution: exp, const, lognormal, pareto (each request asks the demo for its own time)")
	fs.Float64Var(&o.cv, "cv", 1, "coefficient of variation of a lognormal or pareto service time")
	fs.Float64Var(&o.cores, "cores", 1, "CPU request per pod (cores)")
	fs.Float64Var(&o.timeout, "timeout", 10, "client timeout, seconds")
	fs.IntVar(&o.minR, "min", 1, "minReplicas")
	fs.IntVar(&o.maxR, "max", 0, "maxReplicas (default: 6 live, 50 sim)")
	fs.IntVar(&o.initial, "initial", 0, "replicas at the start (default: what the threshold holds at the starting rate)")
	fs.Float64Var(&o.startup, "startup", -1, "seconds from a pod's creation to readiness (default: 2 live, 30 sim)")
	fs.StringVar(&o.lb, "lb", "round-robin", "load balancing: random, round-robin, least-request")
	fs.Float64Var(&o.scrape, "scrape", 0, "scrape interval, s (default: 1 live, 15 sim)")
	fs.Float64Var(&o.sync, "sync", 0, "HPA sync period, s (default: 1 live, 15 sim)")
	fs.Float64Var(&o.cpuWindow, "cpu-window", 0, "metrics-server CPU window, s (default: the scrape interval)")
	fs.Float64Var(&o.polling, "polling", 30, "KEDA pollingInterval, s (used with -cached)")
	fs.BoolVar(&o.cached, "cached", false, "KEDA useCachedMetrics: the HPA reads the value of the last poll")
	fs.StringVar(&o.behavior, "behavior", "none", "the HPA's behavior: none (no behavior field, what KEDA creates by default: at most max(2×, 4) replicas per sync up, the downscale window down), default (behavior: {}, Kubernetes' policies), fast-up or fast-up-short-down (-recommend's)")
	fs.Float64Var(&o.upWindow, "up-window", -1, "with a -behavior: scale-up stabilization window, s (default: Kubernetes' 0)")
	fs.Float64Var(&o.downWindow, "down-window", -1, "the controller's downscale stabilization window, s, which a behavior without its own takes (default: 10 live, Kubernetes' 300 sim)")
	fs.Float64Var(&o.period, "policy-period", 0, "with -behavior default: period of the policies, s (default: 2 live, Kubernetes' 15 sim)")
	fs.StringVar(&o.prometheus, "prometheus", "", "live: scrape and query through a real Prometheus, the binary at PATH (e.g. /usr/bin/prometheus)")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed (arrivals, service times, load balancing)")
	fs.Parse(os.Args[1:])
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "autoscale: unexpected arguments %q\n", fs.Args())
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "autoscale: %v\n", err)
		os.Exit(1)
	}
}

// scenario builds the scenario and signals from the options.
func scenario(o options) (lab.Scenario, []lab.Signal, error) {
	isLive := o.mode == "live"
	if o.mode != "live" && o.mode != "sim" {
		return lab.Scenario{}, nil, fmt.Errorf("-mode %q: want live or sim", o.mode)
	}
	pick := func(v, liveDef, simDef float64) float64 {
		if v > 0 {
			return v
		}
		if isLive {
			return liveDef
		}
		return simDef
	}
	pickString := func(v, liveDef, simDef string) string {
		if v != "" {
			return v
		}
		if isLive {
			return liveDef
		}
		return simDef
	}
	p, err := lab.ParseProfile(pickString(o.profile, "step:low=60,high=240,at=8,dur=30", "step:low=100,high=400,at=300,dur=1800"))
	if err != nil {
		return lab.Scenario{}, nil, err
	}
	sigList := pickString(o.signals, "inflight,rate:15s,avgirateup:15s,rps:15s", "inflight,rate:1m,irate:1m,avgirateup:1m,cpu,rps:1m")
	sigs, err := lab.ParseSignals(sigList)
	if err != nil {
		return lab.Scenario{}, nil, err
	}
	mean := pick(o.serviceMS, 50, 100) / 1000
	var svc lab.Service
	threshold := o.threshold
	switch {
	case o.sweep != "":
		f, err := os.Open(o.sweep)
		if err != nil {
			return lab.Scenario{}, nil, err
		}
		fit, err := lab.FromSweep(f)
		f.Close()
		if err != nil {
			return lab.Scenario{}, nil, err
		}
		svc = fit.Service
		svc.Queue = o.queue
		if threshold == 0 {
			threshold = fit.Threshold
		}
	case o.workload == "cpu" && isLive:
		return lab.Scenario{}, nil, fmt.Errorf("-workload cpu runs in -mode sim only: live pods share this machine's CPUs, so their capacity would not be their own")
	case o.workload == "cpu":
		svc = lab.CPUService(max(1, int(o.cores)), o.queue, mean)
		svc.Dist, svc.CV = o.dist, o.cv
	case o.workload == "io":
		svc = lab.IOService(4, o.queue, mean)
		svc.Cores = o.cores
		svc.Dist, svc.CV = o.dist, o.cv
	default:
		return lab.Scenario{}, nil, fmt.Errorf("-workload %q: want io or cpu", o.workload)
	}
	if o.slots > 0 {
		svc.Slots = o.slots
	}
	if o.cpuPerRequest > 0 {
		svc.CPU = o.cpuPerRequest
	}
	shift, err := lab.ParseShift(o.shift)
	if err != nil {
		return lab.Scenario{}, nil, err
	}
	svc.Timeout = o.timeout
	if threshold == 0 {
		threshold = 0.75 * float64(svc.Slots)
	}
	maxR := o.maxR
	if maxR == 0 {
		maxR = 6
		if !isLive {
			maxR = 50
		}
	}
	startup := o.startup
	if startup < 0 {
		startup = 2
		if !isLive {
			startup = 30
		}
	}
	sc := lab.Scenario{
		Profile: p, Service: svc, Shift: shift, Threshold: threshold,
		MinReplicas: o.minR, MaxReplicas: maxR, Initial: o.initial, StartupDelay: startup, LB: o.lb,
		ScrapeInterval: pick(o.scrape, 1, 15), SyncPeriod: pick(o.sync, 1, 15), CPUWindow: o.cpuWindow,
		UseCachedMetrics: o.cached, PollingInterval: o.polling, Seed: o.seed,
	}
	if sc.Initial == 0 {
		// As many as the autoscaler would hold at the starting rate.
		sc.Initial = min(maxR, max(o.minR, int(math.Ceil(p.Rate(0)*sc.MeanAt(0)/threshold))))
	}
	if isLive {
		sc.SampleInterval, sc.TransitionSpan, sc.Warmup = 1, 15, 8
	}
	if sc.CPUWindow == 0 {
		sc.CPUWindow = sc.ScrapeInterval
	}
	sc.Behavior, sc.BehaviorName, err = behavior(o, isLive)
	if err != nil {
		return lab.Scenario{}, nil, err
	}
	sc.DownscaleWindow = o.downWindow
	if sc.DownscaleWindow < 0 {
		sc.DownscaleWindow = 300
		if isLive {
			sc.DownscaleWindow = 10
		}
	}
	sc = sc.WithDefaults()
	return sc, sigs, sc.Validate()
}

// behavior is the HPA's behavior field: none by default, as KEDA creates
// the HPA of a ScaledObject without one; live mode compresses time, so the
// policy periods of -behavior default are 2 s there.
func behavior(o options, isLive bool) (hpa.Behavior, string, error) {
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	var b hpa.Behavior
	switch o.behavior {
	case "none", "":
		if o.upWindow >= 0 {
			return b, "", fmt.Errorf("-up-window needs a -behavior: an HPA without behavior has no scale-up window")
		}
		if o.period > 0 {
			return b, "", fmt.Errorf("-policy-period needs -behavior default: an HPA without behavior has no policies")
		}
		return b, "none", nil
	case "default":
		b = hpa.DefaultBehavior()
		period := o.period
		if period == 0 && isLive {
			period = 2
		}
		if period > 0 {
			for _, r := range []*hpa.Rules{b.ScaleUp, b.ScaleDown} {
				r.Policies = append([]hpa.Policy(nil), r.Policies...)
				for i := range r.Policies {
					r.Policies[i].Period = sec(period)
				}
			}
		}
	default:
		found := false
		for _, nb := range lab.Behaviors() {
			if nb.Name == o.behavior && !nb.Behavior.IsZero() {
				b, found = nb.Behavior, true
			}
		}
		if !found {
			return b, "", fmt.Errorf("-behavior %q: want none, default, fast-up or fast-up-short-down", o.behavior)
		}
		if o.period > 0 {
			return b, "", fmt.Errorf("-policy-period applies to -behavior default only")
		}
	}
	if o.upWindow >= 0 {
		up := hpa.DefaultScaleUp()
		if b.ScaleUp != nil {
			up = *b.ScaleUp
		}
		up.StabilizationWindow = hpa.Duration(sec(o.upWindow))
		b.ScaleUp = &up
	}
	return b, o.behavior, nil
}

func run(ctx context.Context, o options, stdout, stderr io.Writer) error {
	if o.frontsFrom != "" {
		f, err := os.Open(o.frontsFrom)
		if err != nil {
			return err
		}
		rep, err := lab.ReadFrontJSON(f)
		f.Close()
		if err != nil {
			return err
		}
		if err := lab.WriteFrontTable(stdout, rep); err != nil {
			return err
		}
		return writeOutputs(o, func(w io.Writer) error { return lab.WriteFrontJSON(w, rep) }, nil,
			func(w io.Writer) error { return lab.WriteFrontChart(w, rep) })
	}
	sc, sigs, err := scenario(o)
	if err != nil {
		return err
	}
	logf := func(format string, args ...any) {
		if !o.quiet {
			fmt.Fprintf(stderr, format, args...)
		}
	}
	utils, err := parseUtilizations(o.targets)
	if err != nil {
		return err
	}
	seeds := o.seeds
	if seeds <= 0 {
		seeds = 5
		if o.recommend && utils == nil {
			seeds = 3
		}
	}
	workers := o.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	progress := func(what string) func(done, total int) {
		return func(done, total int) { logf("\r%s: %d/%d simulations", what, done, total) }
	}
	switch {
	case o.latencyBudget:
		if o.mode != "sim" {
			return fmt.Errorf("-latency-budget runs in -mode sim only")
		}
		u := 0.7
		if len(utils) > 0 {
			u = utils[0]
		}
		sc = sc.AtUtilization(u, o.initial == 0)
		rows, err := sim.Budget(ctx, sc, sigs, sim.BudgetVariants(), seeds, workers, progress("latency budget"))
		logf("\n")
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		fmt.Fprintf(stdout, "  latency budget · profile %s · targets at utilization %.2f · %d seeds (mean ± 95%% interval) · Δ: against the first row\n\n", sc.Profile.Name, u, seeds)
		if err := sim.WriteBudget(stdout, rows); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\n  %s\n", budgetVerdict(rows))
		return nil
	case utils != nil && !o.recommend:
		rep, err := fronts(ctx, o, sc, sigs, utils, seeds, workers, logf)
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		if rep.Interrupted {
			fmt.Fprintln(stdout, "  Interrupted: what was measured so far")
		}
		if err := lab.WriteFrontTable(stdout, rep); err != nil {
			return err
		}
		return writeOutputs(o, func(w io.Writer) error { return lab.WriteFrontJSON(w, rep) }, nil,
			func(w io.Writer) error { return lab.WriteFrontChart(w, rep) })
	}
	rep := &lab.Report{Mode: o.mode, Scenario: sc}
	var runErr error
	if o.mode == "live" {
		bin, args, cleanup, err := server(o)
		if err != nil {
			return err
		}
		defer cleanup()
		for _, sig := range sigs {
			logf("live: %s (%s)\n", sig.Name, sig.Query())
			r, err := live.Run(ctx, live.Config{Server: bin, ServerArgs: args, Scenario: sc, Signal: sig, Prometheus: o.prometheus, Log: logf})
			if err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			rep.Runs = append(rep.Runs, r)
			if err != nil {
				runErr = err
				break
			}
		}
	} else {
		for _, sig := range sigs {
			start := time.Now()
			last := time.Time{}
			r, err := sim.Run(ctx, sc, sig, func(t float64) {
				if time.Since(last) > 500*time.Millisecond {
					last = time.Now()
					logf("\rsim: %-12s %6.0f / %.0f s", sig.Name, t, sc.Profile.Duration())
				}
			})
			logf("\rsim: %-12s done in %v%s\n", sig.Name, time.Since(start).Round(time.Millisecond), strings.Repeat(" ", 10))
			if err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			rep.Runs = append(rep.Runs, r)
			if err != nil {
				runErr = err
				break
			}
		}
		if o.recommend && runErr == nil {
			if utils == nil {
				utils = []float64{0.5, 0.6, 0.7, 0.8, 0.9}
			}
			rec, err := sim.Recommend(ctx, sc, sigs, sim.RecommendConfig{
				Utilizations: utils, Seeds: seeds, Workers: workers, BudgetPct: o.failureBudget,
				AutoInitial: o.initial == 0, Namespace: o.namespace, Deployment: o.deployment,
			}, progress("recommend"))
			logf("\n")
			if err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			if err != nil {
				runErr = err
			}
			rep.Recommendation = rec
			if rec != nil && o.scaledObject != "" {
				if err := os.WriteFile(o.scaledObject, []byte(rec.ScaledObject), 0o644); err != nil {
					return err
				}
			}
		}
	}
	rep.Interrupted = runErr != nil
	if rep.Interrupted {
		fmt.Fprintln(stdout, "  Interrupted: what was measured so far")
	}
	if err := lab.WriteTable(stdout, rep); err != nil {
		return err
	}
	return writeOutputs(o, func(w io.Writer) error { return lab.WriteJSON(w, rep) },
		func(w io.Writer) error { return lab.WriteCSV(w, rep) }, func(w io.Writer) error { return lab.WriteChart(w, rep) })
}

// fronts sweeps the targets: in sim over every seed at once; live one run
// after another (keep it short: signals × targets × seeds runs of the
// profile).
func fronts(ctx context.Context, o options, sc lab.Scenario, sigs []lab.Signal, utils []float64, seeds, workers int, logf func(string, ...any)) (*lab.FrontReport, error) {
	if o.mode == "sim" {
		rep, err := sim.Fronts(ctx, sc, sigs, utils, seeds, workers, o.initial == 0, func(done, total int) { logf("\rfronts: %d/%d simulations", done, total) })
		logf("\n")
		return rep, err
	}
	bin, args, cleanup, err := server(o)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	rep := &lab.FrontReport{Mode: "live", Scenario: sc, Utilizations: utils, Seeds: seeds}
	var runErr error
	for _, sig := range sigs {
		for _, u := range utils {
			c := sc.AtUtilization(u, o.initial == 0)
			var runs []lab.Run
			for k := range seeds {
				c.Seed = sc.Seed + uint64(k)
				logf("live: %s at utilization %.2f, seed %d\n", sig.Name, u, c.Seed)
				r, err := live.Run(ctx, live.Config{Server: bin, ServerArgs: args, Scenario: c, Signal: sig, Prometheus: o.prometheus, Log: logf})
				if err != nil {
					runErr = err
					break
				}
				runs = append(runs, r)
			}
			if len(runs) > 0 {
				target, unit := sig.TargetOf(sc.TargetsAt(u))
				rep.Points = append(rep.Points, lab.PointFrom(runs, sig.Name, u, target, unit))
			}
			if runErr != nil {
				break
			}
		}
		if runErr != nil {
			break
		}
	}
	rep.Interrupted = runErr != nil
	rep.Finish()
	return rep, runErr
}

func writeOutputs(o options, js, csv, chart func(io.Writer) error) error {
	for _, out := range []struct {
		file  string
		write func(io.Writer) error
	}{{o.jsonFile, js}, {o.csvFile, csv}, {o.chartFile, chart}} {
		if out.file == "" || out.write == nil {
			continue
		}
		f, err := os.Create(out.file)
		if err != nil {
			return err
		}
		err = out.write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// parseUtilizations reads -targets: steady-state utilizations in (0, 1).
func parseUtilizations(list string) ([]float64, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	var out []float64
	for _, f := range strings.Split(list, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(v > 0 && v < 1) {
			return nil, fmt.Errorf("-targets %q: want steady-state utilizations between 0 and 1, such as 0.5,0.6,0.7,0.8,0.9", list)
		}
		out = append(out, v)
	}
	return out, nil
}

// budgetVerdict compares the usual Prometheus path (the first variant)
// with the 1-second path, per signal.
func budgetVerdict(rows []sim.BudgetRow) string {
	base := map[string]lab.FrontPoint{}
	fast := map[string]lab.FrontPoint{}
	var order []string
	for _, r := range rows {
		if _, ok := base[r.Point.Signal]; !ok {
			base[r.Point.Signal] = r.Point
			order = append(order, r.Point.Signal)
		}
		if r.Variant == "1-second path: scrape 1 s, sync 1 s" {
			fast[r.Point.Signal] = r.Point
		}
	}
	var parts []string
	for _, s := range order {
		f, ok := fast[s]
		if !ok {
			continue
		}
		b := base[s]
		parts = append(parts, fmt.Sprintf("%s %s → %s %% failed, %+.0f %% replica·s, %+.0f s to capacity", s,
			b.FailedPct.Format(1, 2), f.FailedPct.Format(1, 2), 100*(f.ReplicaSeconds.Mean/b.ReplicaSeconds.Mean-1), f.TimeToCapacityS.Mean-b.TimeToCapacityS.Mean))
	}
	return "verdict: a 1-second path against the Prometheus path: " + strings.Join(parts, "; ")
}

// demoServer is the first argument that makes this binary a demo server
// (live mode runs its replicas so, and needs no build or repository).
const demoServer = "demo-server"

// server returns the demo server binary and its leading arguments: -server,
// else this binary in its demo-server role.
func server(o options) (string, []string, func(), error) {
	if o.server != "" {
		return o.server, nil, func() {}, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", nil, nil, fmt.Errorf("live: find this binary to run the demo (give -server): %w", err)
	}
	return self, []string{demoServer}, func() {}, nil
}

// serveDemo runs the demo server (examples/server's flags that the lab
// uses) until SIGTERM, then drains.
func serveDemo(args []string) int {
	var cfg demo.Config
	fs := flag.NewFlagSet(demoServer, flag.ContinueOnError)
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:0", "listen address")
	fs.IntVar(&cfg.Limit, "limit", 0, "requests served at once")
	fs.IntVar(&cfg.LimitQueue, "limit-queue", 0, "requests waiting")
	fs.StringVar(&cfg.InstanceID, "instance-id", "", "service.instance.id")
	drain := fs.Duration("shutdown-timeout", 15*time.Second, "drain time")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := demo.Start(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo-server: %v\n", err)
		return 1
	}
	// live.Run reads this line for the addresses.
	fmt.Fprintf(os.Stderr, "demo-server: serving %s metrics at %s\n", srv.URL, srv.MetricsURL)
	<-ctx.Done()
	stop()
	sctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return 1
	}
	return 0
}
