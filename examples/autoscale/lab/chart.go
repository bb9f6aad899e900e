package lab

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
)

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"}

// WriteChart writes an SVG of three panels sharing the time axis: the
// offered load, the ready replicas per signal, and the p95 latency per
// signal (log scale).
func WriteChart(w io.Writer, r *Report) error {
	const (
		width, left, right = 960.0, 70.0, 150.0
		panelH, gap, top   = 170.0, 40.0, 40.0
	)
	plotW := width - left - right
	height := top + 3*panelH + 2*gap + 40
	end := r.Scenario.Profile.Duration()
	for _, run := range r.Runs {
		if n := len(run.Series); n > 0 {
			end = min(end, run.Series[n-1].T+r.Scenario.SampleInterval)
		}
	}
	end = max(end, 1)
	x := func(t float64) float64 { return left + plotW*t/end }
	var b strings.Builder
	esc := func(s string) string {
		var e strings.Builder
		xml.EscapeText(&e, []byte(s))
		return e.String()
	}
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="20" font-size="14">%s</text>`+"\n", left, esc(fmt.Sprintf("%s · %s · threshold %.2f in flight per pod", r.Mode, r.Scenario.Profile.Name, r.Scenario.Threshold)))

	panel := func(i int, title string, lo, hi float64, logY bool, ticks []float64, tickFmt func(float64) string) (func(float64) float64, float64) {
		y0 := top + float64(i)*(panelH+gap)
		y := func(v float64) float64 {
			if logY {
				v = math.Log10(max(v, lo))
				return y0 + panelH - panelH*(v-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))
			}
			return y0 + panelH - panelH*(v-lo)/(hi-lo)
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#999"/>`+"\n", left, y0, plotW, panelH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", left, y0-6, esc(title))
		for _, tv := range ticks {
			if tv < lo || tv > hi {
				continue
			}
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#eee"/>`, left, left+plotW, y(tv), y(tv))
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-4, y(tv)+4, tickFmt(tv))
		}
		for _, st := range r.Scenario.Steps() {
			if st <= end {
				fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#bbb" stroke-dasharray="4 3"/>`+"\n", x(st), x(st), y0, y0+panelH)
			}
		}
		return y, y0
	}
	line := func(pts [][2]float64, y func(float64) float64, color string, width float64) {
		if len(pts) == 0 {
			return
		}
		var p strings.Builder
		for i, pt := range pts {
			cmd := "L"
			if i == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&p, "%s%.1f %.1f ", cmd, x(pt[0]), y(pt[1]))
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="%.1f"/>`+"\n", strings.TrimSpace(p.String()), color, width)
	}
	linTicks := func(hi float64) []float64 {
		step := math.Pow(10, math.Floor(math.Log10(max(hi, 1e-9))))
		if hi/step < 3 {
			step /= 2
		}
		var t []float64
		for v := 0.0; v <= hi; v += step {
			t = append(t, v)
		}
		return t
	}
	num := func(v float64) string { return fmt.Sprintf("%g", math.Round(v*100)/100) }

	// Load.
	maxRate := 0.0
	for _, run := range r.Runs {
		for _, s := range run.Series {
			maxRate = max(maxRate, s.OfferedRPS, s.ArrivedRPS)
		}
	}
	maxRate = max(maxRate*1.1, 1)
	y, _ := panel(0, "load (req/s): offered (black), arrived (grey)", 0, maxRate, false, linTicks(maxRate), num)
	if len(r.Runs) > 0 {
		var off, arr [][2]float64
		for _, s := range r.Runs[0].Series {
			off = append(off, [2]float64{s.T, s.OfferedRPS})
			arr = append(arr, [2]float64{s.T + r.Scenario.SampleInterval/2, s.ArrivedRPS})
		}
		line(arr, y, "#aaa", 1)
		line(off, y, "#000", 1.5)
	}
	// Replicas.
	maxRep := 1.0
	for _, run := range r.Runs {
		for _, s := range run.Series {
			maxRep = max(maxRep, float64(s.Replicas))
		}
	}
	maxRep = math.Ceil(maxRep * 1.1)
	y, _ = panel(1, "ready replicas per signal (needed at the offered rate: dotted)", 0, maxRep, false, linTicks(maxRep), num)
	var need [][2]float64
	if len(r.Runs) > 0 {
		for _, s := range r.Runs[0].Series {
			need = append(need, [2]float64{s.T, float64(r.Scenario.NeededAt(s.T, s.OfferedRPS))})
		}
	}
	for i, run := range r.Runs {
		var pts [][2]float64
		for _, s := range run.Series {
			pts = append(pts, [2]float64{s.T, float64(s.Ready)})
		}
		line(pts, y, palette[i%len(palette)], 1.5)
	}
	if len(need) > 0 {
		var p strings.Builder
		for i, pt := range need {
			cmd := "L"
			if i == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&p, "%s%.1f %.1f ", cmd, x(pt[0]), y(pt[1]))
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="#000" stroke-width="1" stroke-dasharray="2 3"/>`+"\n", strings.TrimSpace(p.String()))
	}
	// p95.
	lo, hi := math.Inf(1), 0.0
	for _, run := range r.Runs {
		for _, s := range run.Series {
			if s.P95S > 0 {
				lo, hi = min(lo, s.P95S), max(hi, s.P95S)
			}
		}
	}
	if hi == 0 {
		lo, hi = 0.001, 1
	}
	lo = math.Pow(10, math.Floor(math.Log10(lo)))
	hi = math.Pow(10, math.Ceil(math.Log10(hi*1.01)))
	var lt []float64
	for v := lo; v <= hi*1.001; v *= 10 {
		lt = append(lt, v)
	}
	y, _ = panel(2, "p95 latency per signal, per sample interval (log scale)", lo, hi, true, lt, func(v float64) string {
		if v < 1 {
			return fmt.Sprintf("%g ms", v*1000)
		}
		return fmt.Sprintf("%g s", v)
	})
	for i, run := range r.Runs {
		var pts [][2]float64
		for _, s := range run.Series {
			if s.P95S > 0 {
				pts = append(pts, [2]float64{s.T, s.P95S})
			}
		}
		line(pts, y, palette[i%len(palette)], 1.2)
	}
	// Time axis and legend.
	axisY := top + 3*panelH + 2*gap
	for _, tv := range linTicks(end) {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x(tv), axisY+16, num(tv))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">time (s)</text>`+"\n", left+plotW/2, axisY+32)
	for i, run := range r.Runs {
		ly := top + panelH + gap + 14 + float64(i)*18
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="3"/>`, left+plotW+10, left+plotW+30, ly-4, ly-4, palette[i%len(palette)])
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", left+plotW+35, ly, esc(run.Summary.Signal))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
