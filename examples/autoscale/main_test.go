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
)

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
