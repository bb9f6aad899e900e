package sweep

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

var statusMark = map[string]string{
	StatusOK:        "✓ ok",
	StatusDegrading: "⚠ degrading",
	StatusSaturated: "✗ saturated",
}

// WriteTable writes the aligned per-level table and the recommendation.
func WriteTable(w io.Writer, r *Result) error {
	var b strings.Builder
	server := r.MetricsURL != ""
	fmt.Fprintf(&b, "  %5s %8s %8s %8s %8s %13s %7s %7s", "conc", "p50", "p95", "p99", "mean", "throughput", "errors", "λ·W")
	if server {
		fmt.Fprintf(&b, " %7s", "server")
	}
	fmt.Fprintf(&b, "  %s\n", "status")
	width := 71
	if server {
		width += 8
	}
	fmt.Fprintf(&b, "  %s\n", strings.Repeat("─", width+14))
	for i, l := range r.Levels {
		fmt.Fprintf(&b, "  %5d %7.3fs %7.3fs %7.3fs %7.3fs %7.1f req/s %7d %7.1f",
			l.Concurrency, l.P50S, l.P95S, l.P99S, l.MeanS, l.ThroughputRPS, l.Errors+l.Timeouts, l.LittleL)
		if server {
			if l.ServerInFlight != nil {
				fmt.Fprintf(&b, " %7.1f", *l.ServerInFlight)
			} else {
				fmt.Fprintf(&b, " %7s", "-")
			}
		}
		fmt.Fprintf(&b, "  %s", statusMark[l.Status])
		var notes []string
		if i == r.Analysis.KneeIndex {
			notes = append(notes, "← saturation")
		}
		if l.Concurrency == r.Analysis.P95Doubling {
			notes = append(notes, "← p95 doubled")
		}
		switch {
		case !l.LittleOK && l.StalledWindows > 0:
			notes = append(notes, fmt.Sprintf("λ·W ≠ %d: the step stalled", l.Concurrency))
		case !l.LittleOK:
			notes = append(notes, fmt.Sprintf("λ·W ≠ %d: client-bound", l.Concurrency))
		}
		if l.ServerAgrees != nil && !*l.ServerAgrees {
			notes = append(notes, fmt.Sprintf("server sees %.1f, not %d", *l.ServerInFlight, l.Concurrency))
		}
		if l.ScrapeErrors > 0 {
			notes = append(notes, fmt.Sprintf("%d scrapes failed", l.ScrapeErrors))
		}
		if l.Timeouts > 0 {
			notes = append(notes, fmt.Sprintf("%d timeouts", l.Timeouts))
		}
		if l.StalledWindows > 0 {
			notes = append(notes, fmt.Sprintf("%d stalled windows left out", l.StalledWindows))
		}
		if l.Runs > 1 {
			notes = append(notes, fmt.Sprintf("best of %d runs", l.Runs))
		}
		if len(notes) > 0 {
			fmt.Fprintf(&b, "  %s", strings.Join(notes, ", "))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	rec := r.Recommendation
	if r.Interrupted {
		fmt.Fprintf(&b, "  Interrupted: %d levels measured\n", len(r.Levels))
	}
	if rec.Saturated {
		fmt.Fprintf(&b, "  Saturation point : %d concurrent requests\n", rec.Saturation)
	} else {
		fmt.Fprintf(&b, "  Saturation point : none up to %d concurrent requests\n", rec.Saturation)
	}
	if rec.P95Doubling > 0 {
		fmt.Fprintf(&b, "  p95 doubling     : at %d concurrent requests (p95 ≥ 2× the level-1 p95)\n", rec.P95Doubling)
	} else {
		fmt.Fprintf(&b, "  p95 doubling     : never (p95 stays under 2× the level-1 p95)\n")
	}
	if server {
		agree, total := 0, 0
		for _, l := range r.Levels {
			if l.ServerAgrees != nil {
				total++
				if *l.ServerAgrees {
					agree++
				}
			}
		}
		fmt.Fprintf(&b, "  Server in-flight : agrees with the client's concurrency (±10 %%) at %d of %d levels\n", agree, total)
	}
	suffix := "(75% of saturation)"
	if rec.LowerBound {
		suffix = "(75% of the highest level: a lower bound)"
	}
	fmt.Fprintf(&b, "  Recommended autoscaling threshold : %d  %s\n\n", rec.Threshold, suffix)
	for _, line := range rec.Reasoning {
		fmt.Fprintf(&b, "  - %s\n", line)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// CSVHeader is the first row WriteCSV writes.
var CSVHeader = []string{
	"concurrency", "runs", "duration_s", "requests", "ok", "errors", "timeouts",
	"p50_s", "p95_s", "p99_s", "mean_s", "max_s", "throughput_rps", "raw_throughput_rps",
	"stalled_windows", "littles_law_l", "littles_law_ok", "server_in_flight", "server_agrees", "status",
}

// WriteCSV writes one row per level under CSVHeader.
func WriteCSV(w io.Writer, r *Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, l := range r.Levels {
		srv, agrees := "", ""
		if l.ServerInFlight != nil {
			srv, agrees = f(*l.ServerInFlight), strconv.FormatBool(*l.ServerAgrees)
		}
		row := []string{
			strconv.Itoa(l.Concurrency), strconv.Itoa(l.Runs), f(l.DurationS),
			strconv.Itoa(l.Requests), strconv.Itoa(l.OK), strconv.Itoa(l.Errors), strconv.Itoa(l.Timeouts),
			f(l.P50S), f(l.P95S), f(l.P99S), f(l.MeanS), f(l.MaxS), f(l.ThroughputRPS), f(l.RawThroughputRPS),
			strconv.Itoa(l.StalledWindows), f(l.LittleL), strconv.FormatBool(l.LittleOK), srv, agrees, l.Status,
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
