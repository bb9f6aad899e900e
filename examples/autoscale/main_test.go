package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
