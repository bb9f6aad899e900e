package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otel-runway/runway/examples/autoscale/sim"
)

// TestMain lets the test binary serve as the live pods' demo server, as
// the lab's binary does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == demoServer {
		os.Exit(serveDemo(os.Args[2:]))
	}
	os.Exit(m.Run())
}

func simOptions(dir string) options {
	return options{
		mode: "sim", profile: "step:low=50,high=200,at=120,dur=600", signals: "inflight,rate:1m,irate:1m,avgirate:1m,cpu,rps:1m",
		workload: "io", dist: "exp", lb: "round-robin", queue: 16, cv: 1, cores: 1, timeout: 10, minR: 1, maxR: 20,
		startup: -1, polling: 30, upWindow: -1, downWindow: -1, seed: 1,
		jsonFile: filepath.Join(dir, "r.json"), csvFile: filepath.Join(dir, "r.csv"), chartFile: filepath.Join(dir, "r.svg"),
	}
}

// A sim comparison prints one table row per signal and writes the JSON
// (one summary per signal and its series), the CSV and the chart.
func TestSimComparison(t *testing.T) {
	dir := t.TempDir()
	o := simOptions(dir)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), o, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []string{"inflight", "rate:1m", "irate:1m", "avgirate:1m", "cpu", "rps:1m"} {
		if !strings.Contains(out.String(), "  "+sig+" ") {
			t.Errorf("table lacks %s:\n%s", sig, out.String())
		}
	}
	if !strings.Contains(errOut.String(), "done in") {
		t.Errorf("no progress on stderr: %q", errOut.String())
	}
	b, err := os.ReadFile(o.jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Runs []struct {
			Summary struct {
				Signal          string    `json:"signal"`
				TimeToCapacityS []float64 `json:"time_to_capacity_s"`
				ReplicaSeconds  float64   `json:"replica_seconds"`
			} `json:"summary"`
			Series []json.RawMessage `json:"series"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 6 {
		t.Fatalf("JSON has %d runs, want 6", len(rep.Runs))
	}
	for _, r := range rep.Runs {
		if len(r.Series) != 120 || len(r.Summary.TimeToCapacityS) != 1 || r.Summary.ReplicaSeconds <= 0 {
			t.Errorf("%s: %d samples, time to capacity %v, %v replica·s", r.Summary.Signal, len(r.Series), r.Summary.TimeToCapacityS, r.Summary.ReplicaSeconds)
		}
	}
	for _, f := range []string{o.csvFile, o.chartFile} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	// -q silences progress.
	o.quiet = true
	errOut.Reset()
	o.jsonFile, o.csvFile, o.chartFile = "", "", ""
	if err := run(context.Background(), o, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if errOut.Len() != 0 {
		t.Errorf("-q still wrote %q", errOut.String())
	}
}

// Stopped (Ctrl-C), the tool prints what it measured.
func TestInterruptedPrintsTheTable(t *testing.T) {
	o := simOptions(t.TempDir())
	o.quiet = true
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	if err := run(ctx, o, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Interrupted") || !strings.Contains(out.String(), "inflight") {
		t.Errorf("output:\n%s", out.String())
	}
	b, _ := os.ReadFile(o.jsonFile)
	if !strings.Contains(string(b), `"interrupted": true`) {
		t.Error("the JSON does not say it was interrupted")
	}
}

func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*options)
		want string
	}{
		{"mode", func(o *options) { o.mode = "both" }, "-mode"},
		{"profile", func(o *options) { o.profile = "square" }, "profile"},
		{"signals", func(o *options) { o.signals = "memory" }, "signal"},
		{"lb", func(o *options) { o.lb = "hash" }, "lb"},
		{"workload", func(o *options) { o.workload = "gpu" }, "-workload"},
		{"cpu workload live", func(o *options) { o.mode, o.workload = "live", "cpu" }, "-workload cpu"},
		{"targets", func(o *options) { o.targets = "0.5,1.2" }, "-targets"},
		{"shift", func(o *options) { o.shift = "slowdown:x=-1" }, "shift"},
		{"latency budget live", func(o *options) { o.mode, o.latencyBudget = "live", true }, "-latency-budget"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := simOptions(t.TempDir())
			tc.edit(&o)
			err := run(context.Background(), o, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run = %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

// The default HPA is the one KEDA creates for a ScaledObject without
// advanced.horizontalPodAutoscalerConfig.behavior: no behavior field.
// -behavior picks one; the flags that only a behavior has fail without.
func TestBehaviorFlag(t *testing.T) {
	o := simOptions(t.TempDir())
	sc, _, err := scenario(o)
	if err != nil {
		t.Fatal(err)
	}
	if !sc.Behavior.IsZero() || sc.BehaviorName != "none" || sc.DownscaleWindow != 300 {
		t.Errorf("sim default: behavior %q (zero %v), downscale window %v; want none, 300 s", sc.BehaviorName, sc.Behavior.IsZero(), sc.DownscaleWindow)
	}
	live := o
	live.mode = "live"
	if sc, _, err := scenario(live); err != nil || !sc.Behavior.IsZero() || sc.DownscaleWindow != 10 {
		t.Errorf("live default: %v, zero %v, window %v; want none, 10 s", err, sc.Behavior.IsZero(), sc.DownscaleWindow)
	}
	live.behavior = "default"
	sc, _, err = scenario(live)
	if err != nil || sc.Behavior.IsZero() || sc.Behavior.ScaleUp.Policies[0].Period != 2*time.Second || sc.Behavior.ScaleDown.StabilizationWindow != nil {
		t.Errorf("live -behavior default: %v %+v; want 2 s policies and the controller's window", err, sc.Behavior)
	}
	o.behavior = "fast-up"
	if sc, _, err := scenario(o); err != nil || sc.BehaviorName != "fast-up" || sc.Behavior.ScaleUp.Policies[1].Value != 10 {
		t.Errorf("-behavior fast-up: %v %+v", err, sc.Behavior)
	}
	for flag, mod := range map[string]func(*options){
		"-behavior":      func(o *options) { o.behavior = "fast" },
		"-up-window":     func(o *options) { o.upWindow = 30 },
		"-policy-period": func(o *options) { o.period = 30 },
	} {
		o := simOptions(t.TempDir())
		mod(&o)
		if _, _, err := scenario(o); err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%s: err %v, want one naming it", flag, err)
		}
	}
}

// -targets sweeps every signal over the targets and seeds: the table
// marks the fronts, compares them at equal replica-seconds and ends with
// the verdict; the chart and JSON hold every point.
func TestFrontsCommand(t *testing.T) {
	o := simOptions(t.TempDir())
	o.quiet = true
	o.profile, o.signals, o.targets, o.seeds = "step:low=50,high=150,at=120,dur=400", "inflight,avgirateup:1m,rps:1m,cpu", "0.5,0.7,0.9", 2
	o.shift = "slowdown:x=2,at=200,len=100"
	var out bytes.Buffer
	if err := run(context.Background(), o, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"slowdown ×2 at 200 s", "At equal replica·s", "\n  verdict: at equal replica·s", "avgirateup:1m", "% CPU", "req/s"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	b, err := os.ReadFile(o.jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Points []struct {
			Signal string `json:"signal"`
			Failed struct {
				N int `json:"n"`
			} `json:"failed_pct"`
		} `json:"points"`
		Verdict string `json:"verdict"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Points) != 4*3 || rep.Points[0].Failed.N != 2 || !strings.HasPrefix(rep.Verdict, "verdict:") {
		t.Errorf("JSON: %d points, first over %d seeds, verdict %q", len(rep.Points), rep.Points[0].Failed.N, rep.Verdict)
	}
	if svg, err := os.ReadFile(o.chartFile); err != nil || strings.Count(string(svg), "<circle") != 2*4*3 {
		t.Errorf("chart: %v, %d points", err, strings.Count(string(svg), "<circle"))
	}
}

// -latency-budget runs each stage of the signal path and ends with the
// comparison of the 1-second path with the Prometheus path.
func TestLatencyBudgetCommand(t *testing.T) {
	o := simOptions(t.TempDir())
	o.quiet = true
	o.profile, o.signals, o.seeds, o.latencyBudget = "step:low=50,high=150,at=120,dur=300", "inflight", 2, true
	var out bytes.Buffer
	if err := run(context.Background(), o, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, v := range sim.BudgetVariants() {
		if !strings.Contains(out.String(), v.Name) {
			t.Errorf("table lacks %q", v.Name)
		}
	}
	if !strings.Contains(out.String(), "verdict: a 1-second path against the Prometheus path: inflight ") {
		t.Errorf("output:\n%s", out.String())
	}
}

// Live mode needs neither the repository nor a Go toolchain: run from an
// empty directory, the binary serves as its own demo pods.
func TestLiveOutsideTheRepository(t *testing.T) {
	if testing.Short() {
		t.Skip("live: about 20 s")
	}
	t.Chdir(t.TempDir())
	t.Setenv("PATH", "")
	o := simOptions(t.TempDir())
	o.mode, o.quiet = "live", true
	o.profile, o.signals, o.maxR = "step:low=20,high=60,at=3,dur=8", "inflight", 3
	o.jsonFile, o.csvFile, o.chartFile = "", "", ""
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, o, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "  inflight ") || !strings.Contains(out.String(), "verdict: fewest failures inflight") {
		t.Errorf("output:\n%s", out.String())
	}
}
