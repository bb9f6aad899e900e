package lab

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
)

// The 95 % interval is t(0.975, n−1)·s/√n: for 1..5, mean 3, s = √2.5,
// t(4) = 2.776.
func TestStatConfidenceInterval(t *testing.T) {
	s := NewStat([]float64{1, 2, 3, 4, 5})
	want := 2.776 * math.Sqrt(2.5) / math.Sqrt(5)
	if s.Mean != 3 || math.Abs(s.Half-want) > 1e-9 || s.N != 5 {
		t.Errorf("NewStat = %+v, want 3 ± %v", s, want)
	}
	if s := NewStat([]float64{7, math.NaN()}); s.Mean != 7 || s.Half != 0 || s.N != 1 {
		t.Errorf("one value (and a NaN): %+v", s)
	}
	if s := NewStat(nil); !math.IsNaN(s.Mean) {
		t.Errorf("no values: %+v", s)
	}
	if TQuantile(1) != 12.706 || TQuantile(30) != 2.042 || math.Abs(TQuantile(1000)-1.96) > 0.01 {
		t.Errorf("t quantiles: %v %v %v", TQuantile(1), TQuantile(30), TQuantile(1000))
	}
}

// A point is on the front unless another costs no more and does no
// worse, and is better in one of the two.
func TestParetoDominance(t *testing.T) {
	cost := []float64{100, 200, 300, 400, 200, 500}
	metric := []float64{5, 3, 4, 1, 3, 1}
	// 2 (300, 4) is dominated by 1 (200, 3); 5 (500, 1) by 3 (400, 1);
	// 1 and 4 are equal: neither dominates.
	got := Pareto(cost, metric)
	want := []int{0, 1, 4, 3}
	if len(got) != len(want) {
		t.Fatalf("front = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("front = %v, want %v (ordered by cost)", got, want)
		}
	}
}

func pt(sig string, util, cost, failed, half float64) FrontPoint {
	return FrontPoint{Signal: sig, Utilization: util, ReplicaSeconds: Stat{Mean: cost, Half: cost / 100, N: 5},
		FailedPct: Stat{Mean: failed, Half: half, N: 5}, P95S: Stat{Mean: 0.1 + failed/100, Half: 0.001, N: 5}}
}

// Interpolation at equal cost is linear between the two front points
// around the cost, intervals too, and undefined outside the front.
func TestInterpolateAtEqualCost(t *testing.T) {
	front := []FrontPoint{pt("a", 0.5, 100, 4, 0.4), pt("a", 0.7, 200, 2, 0.2), pt("a", 0.9, 400, 1, 0.1)}
	failed := func(p *FrontPoint) Stat { return p.FailedPct }
	for _, tc := range []struct {
		cost, mean, half float64
		ok               bool
	}{{150, 3, 0.3, true}, {200, 2, 0.2, true}, {300, 1.5, 0.15, true}, {100, 4, 0.4, true}, {50, 0, 0, false}, {401, 0, 0, false}} {
		s, ok := Interpolate(front, tc.cost, failed)
		if ok != tc.ok || ok && (math.Abs(s.Mean-tc.mean) > 1e-9 || math.Abs(s.Half-tc.half) > 1e-9) {
			t.Errorf("at %v: %+v, %v; want %v ± %v, %v", tc.cost, s, ok, tc.mean, tc.half, tc.ok)
		}
	}
}

// The comparison at equal cost interpolates each front over the range
// they share, and the verdict names the clear winner, or a tie when the
// intervals overlap.
func TestEqualCostVerdict(t *testing.T) {
	points := []FrontPoint{
		pt("inflight", 0.5, 300, 0.5, 0.05), pt("inflight", 0.7, 200, 1.0, 0.05), pt("inflight", 0.9, 120, 3, 0.1),
		pt("rps:1m", 0.5, 250, 1.5, 0.05), pt("rps:1m", 0.7, 180, 2.5, 0.05), pt("rps:1m", 0.9, 100, 5, 0.1),
		// Dominated by rps at 0.7: off the front, not interpolated.
		pt("rps:1m", 0.8, 190, 9, 0.1),
	}
	MarkFronts(points)
	if points[6].OnFailedFront || !points[4].OnFailedFront {
		t.Fatalf("front marks: %+v", points)
	}
	levels := EqualCost(points, 4)
	if len(levels) != 4 || levels[0].ReplicaSeconds != 120 || levels[3].ReplicaSeconds != 250 {
		t.Fatalf("levels: %+v", levels)
	}
	for _, l := range levels {
		if !(l.FailedPct[0].Mean < l.FailedPct[1].Mean) {
			t.Errorf("at %v: inflight %v, rps %v", l.ReplicaSeconds, l.FailedPct[0], l.FailedPct[1])
		}
	}
	v := FrontVerdict(points, levels)
	if !strings.HasPrefix(v, "verdict: at equal replica·s (120–250; tie: 95% intervals overlap)") || !strings.Contains(v, "fewest failures: inflight at 4/4 levels") ||
		!strings.Contains(v, "at utilization 0.70 fewest failures: inflight") || strings.Contains(v, "\n") {
		t.Errorf("verdict: %s", v)
	}
	// Wide intervals: a tie.
	for i := range points {
		points[i].FailedPct.Half = 5
	}
	if v := FrontVerdict(points, EqualCost(points, 4)); !strings.Contains(v, "fewest failures: tie (inflight, rps:1m) at 4/4") {
		t.Errorf("overlapping intervals: %s", v)
	}
	// A signal whose front stays cheaper than the others' is named with
	// its own range.
	cheap := append(points[:6:6], pt("cpu", 0.5, 60, 20, 0.1), pt("cpu", 0.9, 50, 30, 0.1))
	for i := range cheap {
		cheap[i].FailedPct.Half = 0.05
	}
	MarkFronts(cheap)
	if v := FrontVerdict(cheap, EqualCost(cheap, 4)); !strings.Contains(v, "cpu never costs that much (its front: 50–60 replica·s, 20.00±0.05–30.00±0.05 % failed)") {
		t.Errorf("a cheaper front: %s", v)
	}
	// Disjoint ranges: no levels, and a verdict that says so.
	far := []FrontPoint{pt("a", 0.5, 100, 1, 0.1), pt("a", 0.7, 110, 0.5, 0.1), pt("b", 0.5, 500, 1, 0.1), pt("b", 0.7, 510, 0.5, 0.1)}
	MarkFronts(far)
	if l := EqualCost(far, 4); l != nil {
		t.Errorf("disjoint fronts: %+v", l)
	}
}

// A single comparison still ends with a verdict line naming the signals
// that did best, and says it is not at equal cost.
func TestRunVerdict(t *testing.T) {
	runs := []Run{
		{Summary: Summary{Signal: "inflight", Requests: 1000, Errors: 2, P95S: 0.2, ReplicaSeconds: 140}},
		{Summary: Summary{Signal: "rps:15s", Requests: 1000, Errors: 190, P95S: 0.3, ReplicaSeconds: 74}},
	}
	v := RunVerdict(runs)
	for _, want := range []string{"fewest failures inflight (0.20 %)", "lowest p95 inflight (200 ms)", "fewest replica·s rps:15s (74)", "not at equal cost"} {
		if !strings.Contains(v, want) {
			t.Errorf("verdict lacks %q: %s", want, v)
		}
	}
	var tb bytes.Buffer
	if err := WriteTable(&tb, sampleReport()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tb.String(), "\n  verdict: ") {
		t.Errorf("the table has no verdict:\n%s", tb.String())
	}
}

// The front report's table, JSON and chart.
func TestFrontOutputs(t *testing.T) {
	sc := sampleReport().Scenario
	rep := &FrontReport{Mode: "sim", Scenario: sc, Utilizations: []float64{0.5, 0.7, 0.9}, Seeds: 5, Points: []FrontPoint{
		pt("inflight", 0.5, 300, 0.5, 0.05), pt("inflight", 0.7, 200, 1.0, 0.05), pt("inflight", 0.9, 120, 3, 0.1),
		pt("cpu", 0.5, 250, 1.5, 0.05), pt("cpu", 0.7, 180, 2.5, 0.05), pt("cpu", 0.9, 100, 5, 0.1),
	}}
	rep.Points[5].TimeToCapacityS = Stat{Mean: math.NaN(), Half: math.NaN()}
	// A pod of 4 slots and 8 queued never holds 12: that target is left out.
	never := pt("inflight", 0.95, 50, 80, 1)
	never.Target, never.Unit = 12, "in flight"
	rep.Points = append(rep.Points, never)
	rep.Finish()
	if len(rep.Points) != 6 || len(rep.Unreachable) != 1 || !strings.Contains(rep.Unreachable[0], "inflight at ρ 0.95 (12.00 in flight per pod)") {
		t.Fatalf("unreachable target: %d points, %q", len(rep.Points), rep.Unreachable)
	}
	var tb bytes.Buffer
	if err := WriteFrontTable(&tb, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"At equal replica·s", "verdict: ", "0.50±0.05*"} {
		if !strings.Contains(tb.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, tb.String())
		}
	}
	var js bytes.Buffer
	if err := WriteFrontJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Points []struct {
			Signal string `json:"signal"`
			Failed *Stat  `json:"failed_pct"`
			TTC    *Stat  `json:"time_to_capacity_s"`
		} `json:"points"`
		Verdict string `json:"verdict"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Points) != 6 || back.Points[0].Failed.Mean != 0.5 || back.Points[5].TTC != nil || back.Verdict != rep.Verdict {
		t.Errorf("JSON: %s", js.String())
	}
	// Read back, the report renders the same table.
	again, err := ReadFrontJSON(bytes.NewReader(js.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var tb2 bytes.Buffer
	if err := WriteFrontTable(&tb2, again); err != nil {
		t.Fatal(err)
	}
	if tb2.String() != tb.String() {
		t.Errorf("the table read back differs:\n%s\nwant:\n%s", tb2.String(), tb.String())
	}
	var svg bytes.Buffer
	if err := WriteFrontChart(&svg, rep); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&svg)
	circles, paths := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the chart is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "circle":
				circles++
			case "path":
				paths++
			}
		}
	}
	if circles != 2*6 || paths != 2*2 {
		t.Errorf("chart: %d points and %d front lines, want 12 and 4", circles, paths)
	}
}
