package lab

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Report is a comparison: one run per signal on the same arrivals.
type Report struct {
	Mode     string   `json:"mode"`
	Scenario Scenario `json:"scenario"`
	Runs     []Run    `json:"runs"`
	// Recommendation is set when the tool was asked for one.
	Recommendation *Recommendation `json:"recommendation,omitempty"`
	Interrupted    bool            `json:"interrupted,omitempty"`
}

func fmtTTC(v []float64) string {
	if len(v) == 0 {
		return "-"
	}
	parts := make([]string, len(v))
	for i, x := range v {
		if x < 0 {
			parts[i] = "never"
		} else {
			parts[i] = strconv.FormatFloat(x, 'f', 0, 64)
		}
	}
	return strings.Join(parts, "/")
}

func ms(v float64) string { return strconv.FormatFloat(v*1000, 'f', 0, 64) }

// WriteTable writes the side-by-side table.
func WriteTable(w io.Writer, r *Report) error {
	var b strings.Builder
	sc := &r.Scenario
	fmt.Fprintf(&b, "  %s mode · profile %s%s · %d–%d replicas · pod: %d slots, queue %d, mean service %.0f ms (%s), start-up %.0f s\n",
		r.Mode, sc.Profile.Name, sc.Shift.describe(), sc.MinReplicas, sc.MaxReplicas, sc.Service.Slots, sc.Service.Queue, sc.Service.Mean*1000, sc.Service.Dist, sc.StartupDelay)
	fmt.Fprintf(&b, "  targets per pod: %.2f in flight = %.1f req/s = %.0f%% CPU · scrape %.0f s · HPA sync %.0f s · behavior %s · lb %s\n\n",
		sc.Targets.InFlight, sc.Targets.RPS, 100*sc.Targets.CPU, sc.ScrapeInterval, sc.SyncPeriod, sc.BehaviorName, sc.LB)
	// The signal column fits the longest name (at least 12).
	nw := 12
	for _, run := range r.Runs {
		nw = max(nw, utf8.RuneCountInString(run.Summary.Signal))
	}
	fmt.Fprintf(&b, "  %-*s %9s %7s %7s %7s %9s │ %7s %7s %9s │ %10s %6s %5s\n", nw,
		"signal", "to cap. s", "p50 ms", "p95 ms", "p99 ms", "err+t/o", "tr p95", "tr p99", "tr err+t/o", "replica·s", "events", "peak")
	fmt.Fprintf(&b, "  %s\n", strings.Repeat("─", 100+nw))
	for _, run := range r.Runs {
		s := run.Summary
		fmt.Fprintf(&b, "  %-*s %9s %7s %7s %7s %9d │ %7s %7s %10d │ %10.0f %6d %5d", nw,
			s.Signal, fmtTTC(s.TimeToCapacityS), ms(s.P50S), ms(s.P95S), ms(s.P99S), s.Errors+s.Timeouts,
			ms(s.TransitionP95S), ms(s.TransitionP99S), s.TransitionErrors+s.TransitionTimeouts,
			s.ReplicaSeconds, s.ScaleEvents, s.PeakReplicas)
		if s.Interrupted {
			b.WriteString("  (interrupted)")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n  to cap.: seconds from each step until the ready pods serve the new rate under ")
	fmt.Fprintf(&b, "%.0f%% utilization; tr: requests arriving within %.0f s of a step.\n", 100*sc.Headroom, sc.TransitionSpan)
	fmt.Fprintf(&b, "\n  %s\n", RunVerdict(r.Runs))
	if rec := r.Recommendation; rec != nil {
		b.WriteString("\n")
		writeRecommendation(&b, rec)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as indented JSON: the scenario, then per
// signal a summary object and its time series.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// CSVHeader is the header of WriteCSV: one row per signal and sample.
var CSVHeader = []string{"signal", "t_s", "offered_rps", "arrived_rps", "replicas", "ready", "desired", "signal_per_pod", "in_flight", "p50_s", "p95_s", "done", "errors", "timeouts"}

// WriteCSV writes every run's time series.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, run := range r.Runs {
		for _, x := range run.Series {
			sig := ""
			if x.Signal != nil {
				sig = f(*x.Signal)
			}
			if err := cw.Write([]string{run.Summary.Signal, f(x.T), f(x.OfferedRPS), f(x.ArrivedRPS),
				strconv.Itoa(x.Replicas), strconv.Itoa(x.Ready), strconv.Itoa(x.Desired), sig, strconv.Itoa(x.InFlight),
				f(x.P50S), f(x.P95S), strconv.Itoa(x.Done), strconv.Itoa(x.Errors), strconv.Itoa(x.Timeouts)}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
