package sweep

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// lv builds a level from its concurrency, throughput and p95.
func lv(c int, rps, p95 float64) Level {
	return Level{Concurrency: c, ThroughputRPS: rps, P95S: p95, MeanS: p95 * 0.8, OK: 100}
}

func TestAnalyze(t *testing.T) {
	cases := []struct {
		name        string
		levels      []Level
		saturation  int
		confirmed   bool
		p95Doubling int
		statuses    []string
	}{
		{
			name: "clean knee at 4",
			levels: []Level{
				lv(1, 50, .020), lv(2, 100, .020), lv(4, 200, .021), lv(8, 201, .041), lv(16, 199, .081),
			},
			saturation: 4, confirmed: true, p95Doubling: 8,
			statuses: []string{"ok", "ok", "saturated", "saturated", "saturated"},
		},
		{
			// A queueing server whose p95 doubles (at 4) before its
			// throughput stops growing (after 8).
			name: "p95 doubles before the knee",
			levels: []Level{
				lv(1, 6.6, .152), lv(2, 9.3, .215), lv(4, 11.8, .340), lv(8, 13.7, .584), lv(16, 13.5, 1.184),
			},
			saturation: 8, confirmed: false, p95Doubling: 4,
			statuses: []string{"ok", "ok", "degrading", "saturated", "saturated"},
		},
		{
			name: "no saturation (async io)",
			levels: []Level{
				lv(1, 10, .100), lv(2, 20, .101), lv(4, 40, .100), lv(8, 79, .102), lv(16, 158, .103),
			},
			statuses: []string{"ok", "ok", "ok", "ok", "ok"},
		},
		{
			// A noisy level 4 (throughput dips, p95 jumps) looks like a knee
			// at 2, but 8 beats the plateau: the dip was noise.
			name: "single noisy dip before the knee",
			levels: []Level{
				lv(1, 50, .020), lv(2, 100, .020), lv(4, 105, .050), lv(8, 400, .021), lv(16, 402, .041), lv(32, 401, .081),
			},
			saturation: 8, confirmed: true, p95Doubling: 4,
			statuses: []string{"ok", "ok", "degrading", "saturated", "saturated", "saturated"},
		},
		{
			name: "noisy dip after the knee",
			levels: []Level{
				lv(1, 50, .020), lv(2, 100, .020), lv(4, 200, .021), lv(8, 150, .060), lv(16, 199, .081),
			},
			saturation: 4, confirmed: true, p95Doubling: 8,
			statuses: []string{"ok", "ok", "saturated", "saturated", "saturated"},
		},
		{
			// Throughput flat but p95 not rising: the extra load never
			// reached the server, so it is not a knee.
			name: "flat throughput without latency",
			levels: []Level{
				lv(1, 50, .020), lv(2, 100, .020), lv(4, 104, .020), lv(8, 105, .020),
			},
			statuses: []string{"ok", "ok", "ok", "ok"},
		},
		{
			name:     "one level",
			levels:   []Level{lv(1, 50, .020)},
			statuses: []string{"ok"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := Analyze(tc.levels)
			if a.Saturation != tc.saturation || a.Confirmed != tc.confirmed {
				t.Errorf("saturation = %d (confirmed %v), want %d (confirmed %v)", a.Saturation, a.Confirmed, tc.saturation, tc.confirmed)
			}
			if a.P95Doubling != tc.p95Doubling {
				t.Errorf("p95 doubling = %d, want %d", a.P95Doubling, tc.p95Doubling)
			}
			if !slices.Equal(a.Statuses, tc.statuses) {
				t.Errorf("statuses = %v, want %v", a.Statuses, tc.statuses)
			}
		})
	}
}

func TestRecommend(t *testing.T) {
	cases := []struct {
		name       string
		levels     []Level
		threshold  int
		lowerBound bool
		reasoning  string
	}{
		{"knee at 4", []Level{lv(1, 50, .02), lv(2, 100, .02), lv(4, 200, .02), lv(8, 200, .04), lv(16, 200, .08)}, 3, false, "floor(0.75 × 4, saturation) = 3"},
		{"p95 doubling beside the knee", []Level{lv(1, 50, .02), lv(2, 100, .02), lv(4, 200, .02), lv(8, 200, .04)}, 3, false, "p95 doubles its level-1 value at 8 concurrent requests"},
		{"knee at 1 gives at least 1", []Level{lv(1, 50, .02), lv(2, 50, .04), lv(4, 50, .08)}, 1, false, "saturation at 1"},
		{"knee at 10", []Level{lv(5, 50, .1), lv(10, 100, .1), lv(20, 100, .2), lv(40, 100, .4)}, 7, false, "= 7"},
		{"throughput collapse is flagged", []Level{lv(1, 50, .02), lv(2, 100, .02), lv(4, 100, .04), lv(8, 60, .13)}, 1, false, "throughput fell 40 % from 2 to 8 concurrent requests"},
		{"no knee", []Level{lv(1, 10, .1), lv(2, 20, .1), lv(4, 40, .1)}, 3, true, "Little's law at 4: 40.0 req/s × 0.080s mean = 3.2 in flight"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Recommend(tc.levels, Analyze(tc.levels))
			if r.Threshold != tc.threshold || r.LowerBound != tc.lowerBound {
				t.Errorf("threshold %d (lower bound %v), want %d (%v)", r.Threshold, r.LowerBound, tc.threshold, tc.lowerBound)
			}
			if got := strings.Join(r.Reasoning, "\n"); !strings.Contains(got, tc.reasoning) {
				t.Errorf("reasoning lacks %q:\n%s", tc.reasoning, got)
			}
		})
	}
}

func TestWindowThroughput(t *testing.T) {
	cases := []struct {
		name    string
		counts  []int
		rps     float64
		stalled int
	}{
		{"steady", []int{10, 10, 10, 10}, 40, 0},
		{"quantised", []int{10, 12, 10, 12}, 44, 0},
		{"one stalled window", []int{10, 10, 0, 10}, 40, 1},
		{"partly stalled window", []int{10, 3, 10, 10}, 40, 1},
		{"slow but not stalled", []int{10, 6, 10, 10}, 36, 0},
		{"nothing", []int{0, 0, 0, 0}, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rps, _, stalled := windowThroughput(tc.counts, 1)
			if rps != tc.rps || stalled != tc.stalled {
				t.Errorf("rps %v, stalled %d; want %v, %d", rps, stalled, tc.rps, tc.stalled)
			}
		})
	}
}

func TestWindowCounts(t *testing.T) {
	cases := []struct {
		name    string
		step    time.Duration
		latency time.Duration
		want    int
	}{
		{"fast requests: all windows", time.Second, 10 * time.Millisecond, 10},
		{"requests as long as a window: fewer windows", time.Second, 100 * time.Millisecond, 2},
		{"requests longer than the step: one window", time.Second, 2 * time.Second, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newLevelStats(4, tc.step, 10)
			for end := time.Duration(0); end < tc.step; end += tc.latency / 4 {
				s.record(end, tc.latency, "")
			}
			counts := s.windowCounts()
			if len(counts) != tc.want {
				t.Fatalf("%d windows, want %d", len(counts), tc.want)
			}
			total := 0
			for _, c := range counts {
				total += c
			}
			if total != s.ok {
				t.Errorf("windows hold %d completions, want %d", total, s.ok)
			}
			if rps, _, stalled := windowThroughput(counts, tc.step.Seconds()); stalled != 0 || rps != float64(s.ok)/tc.step.Seconds() {
				t.Errorf("rps %v with %d stalled windows; want %v, none", rps, stalled, float64(s.ok)/tc.step.Seconds())
			}
		})
	}
}
