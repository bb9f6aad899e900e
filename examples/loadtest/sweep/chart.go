package sweep

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
)

// Chart geometry, in SVG user units.
const (
	chartW      = 760
	chartH      = 560
	plotLeft    = 70
	plotRight   = 650
	latTop      = 50
	latBottom   = 270
	tputTop     = 320
	tputBottom  = 500
	legendRight = chartW - 8
)

var seriesColor = map[string]string{
	"p50": "#1b9e77", "p95": "#d95f02", "p99": "#7570b3", "throughput": "#1f4e9a",
}

// WriteSVG draws p50, p95 and p99 latency (top panel) and throughput
// (bottom panel) against concurrency, with the saturation point and the
// recommended threshold marked. The x axis is logarithmic when the levels
// span a factor of 4 or more.
func WriteSVG(w io.Writer, r *Result) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", chartW, chartH)
	title := "Concurrency sweep of " + r.Target
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", plotLeft, esc(title))
	if len(r.Levels) == 0 {
		b.WriteString(`<text x="70" y="150">no level measured</text>` + "\n</svg>\n")
		_, err := w.Write(b.Bytes())
		return err
	}

	conc := make([]float64, len(r.Levels))
	for i, l := range r.Levels {
		conc[i] = float64(l.Concurrency)
	}
	x := xScale(conc)

	// Latency panel.
	latMax := 0.0
	for _, l := range r.Levels {
		latMax = math.Max(latMax, l.P99S)
	}
	latTicks, latHi := niceTicks(latMax)
	yLat := func(v float64) float64 { return latBottom - (latBottom-latTop)*v/latHi }
	axes(&b, latTop, latBottom, latTicks, yLat, func(v float64) string { return fmtMillis(v) }, "latency")
	for _, s := range []struct {
		name string
		get  func(Level) float64
	}{
		{"p50", func(l Level) float64 { return l.P50S }},
		{"p95", func(l Level) float64 { return l.P95S }},
		{"p99", func(l Level) float64 { return l.P99S }},
	} {
		pts := make([][2]float64, len(r.Levels))
		for i, l := range r.Levels {
			pts[i] = [2]float64{x(conc[i]), yLat(s.get(l))}
		}
		series(&b, pts, seriesColor[s.name])
	}

	// Throughput panel.
	tMax := 0.0
	for _, l := range r.Levels {
		tMax = math.Max(tMax, l.ThroughputRPS)
	}
	tTicks, tHi := niceTicks(tMax)
	yT := func(v float64) float64 { return tputBottom - (tputBottom-tputTop)*v/tHi }
	axes(&b, tputTop, tputBottom, tTicks, yT, func(v float64) string { return trimFloat(v) }, "throughput (req/s)")
	pts := make([][2]float64, len(r.Levels))
	for i, l := range r.Levels {
		pts[i] = [2]float64{x(conc[i]), yT(l.ThroughputRPS)}
	}
	series(&b, pts, seriesColor["throughput"])

	// X ticks on both panels.
	for _, c := range conc {
		px := x(c)
		for _, bottom := range []float64{latBottom, tputBottom} {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", px, bottom, px, bottom+4)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%g</text>`+"\n", px, bottom+17, c)
		}
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">concurrency (closed-loop workers)</text>`+"\n",
		(plotLeft+plotRight)/2, tputBottom+40)

	// Markers.
	rec := r.Recommendation
	if rec.Saturated {
		marker(&b, x(float64(rec.Saturation)), "#c0392b", "8,4", "start", latTop+14, fmt.Sprintf("saturation %d", rec.Saturation))
	}
	if t := float64(rec.Threshold); t >= conc[0] && t <= conc[len(conc)-1] {
		anchor := "end"
		if x(t)-plotLeft < 90 {
			anchor = "start"
		}
		marker(&b, x(t), "#555", "2,3", anchor, latTop+30, fmt.Sprintf("threshold %d", rec.Threshold))
	}

	// Legend.
	ly := latTop
	for _, name := range []string{"p50", "p95", "p99", "throughput"} {
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2.5"/>`+"\n",
			plotRight+8, ly, plotRight+26, ly, seriesColor[name])
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", plotRight+30, ly+4, name)
		ly += 18
	}
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// xScale maps concurrency to x, logarithmically when the levels span a
// factor of 4 or more.
func xScale(conc []float64) func(float64) float64 {
	lo, hi := conc[0], conc[len(conc)-1]
	pad := 20.0
	f := func(v float64) float64 { return v }
	if lo > 0 && hi/lo >= 4 {
		f = math.Log2
	}
	a, z := f(lo), f(hi)
	if z == a {
		return func(float64) float64 { return (plotLeft + plotRight) / 2 }
	}
	return func(v float64) float64 {
		return plotLeft + pad + (plotRight-plotLeft-2*pad)*(f(v)-a)/(z-a)
	}
}

// niceTicks returns ticks from 0 to a round maximum at least v.
func niceTicks(v float64) ([]float64, float64) {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return []float64{0, 1}, 1
	}
	raw := v / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var ticks []float64
	hi := 0.0
	for i := 0; hi < v*1.0001 || i == 0; i++ {
		hi = float64(i) * step
		ticks = append(ticks, hi)
	}
	return ticks, hi
}

func axes(b *bytes.Buffer, top, bottom float64, ticks []float64, y func(float64) float64, label func(float64) string, name string) {
	fmt.Fprintf(b, `<rect x="%d" y="%.0f" width="%d" height="%.0f" fill="none" stroke="#333"/>`+"\n",
		plotLeft, top, plotRight-plotLeft, bottom-top)
	for _, t := range ticks {
		py := y(t)
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", plotLeft, py, plotRight, py)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", plotLeft-6, py+4, esc(label(t)))
	}
	fmt.Fprintf(b, `<text x="%d" y="%.0f" font-weight="bold">%s</text>`+"\n", plotLeft, top-8, esc(name))
}

func series(b *bytes.Buffer, pts [][2]float64, color string) {
	var path strings.Builder
	for i, p := range pts {
		if i > 0 {
			path.WriteByte(' ')
		}
		fmt.Fprintf(&path, "%.1f,%.1f", p[0], p[1])
	}
	fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2.5"/>`+"\n", path.String(), color)
	for _, p := range pts {
		fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>`+"\n", p[0], p[1], color)
	}
}

// marker draws a vertical line through both panels, labelled on the side
// given by anchor ("start": right of the line, "end": left of it).
func marker(b *bytes.Buffer, px float64, color, dash, anchor string, y int, label string) {
	for _, span := range [][2]float64{{latTop, latBottom}, {tputTop, tputBottom}} {
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="%s" stroke-width="1.5" stroke-dasharray="%s"/>`+"\n",
			px, span[0], px, span[1], color, dash)
	}
	dx := 4.0
	if anchor == "end" {
		dx = -4
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%d" fill="%s" text-anchor="%s">%s</text>`+"\n", px+dx, y, color, anchor, esc(label))
}

func fmtMillis(s float64) string { return trimFloat(s*1000) + " ms" }

func trimFloat(v float64) string { return fmt.Sprintf("%g", math.Round(v*1000)/1000) }

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
