package lab

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
)

// WriteFrontChart writes an SVG of the fronts: failures (percent of the
// requests) and p95 against replica-seconds, one colour per signal, every
// target a point with its 95 % intervals (filled: on the front), each
// front a line. Both vertical axes are logarithmic (failures from 0.001 %).
func WriteFrontChart(w io.Writer, r *FrontReport) error {
	const (
		width, left, right = 960.0, 80.0, 170.0
		panelH, gap, top   = 260.0, 60.0, 44.0
		failFloor          = 0.001
	)
	plotW := width - left - right
	height := top + 2*panelH + gap + 50
	var b strings.Builder
	esc := func(s string) string {
		var e strings.Builder
		xml.EscapeText(&e, []byte(s))
		return e.String()
	}
	xlo, xhi := math.Inf(1), 0.0
	for _, p := range r.Points {
		if !math.IsNaN(p.ReplicaSeconds.Mean) {
			xlo, xhi = min(xlo, p.ReplicaSeconds.Lo()), max(xhi, p.ReplicaSeconds.Hi())
		}
	}
	if !(xhi > xlo) {
		xlo, xhi = 0, 1
	}
	pad := (xhi - xlo) * 0.05
	xlo, xhi = max(0, xlo-pad), xhi+pad
	x := func(v float64) float64 { return left + plotW*(v-xlo)/(xhi-xlo) }
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	title := fmt.Sprintf("%s · %s", r.Mode, r.Scenario.Profile.Name)
	if sh := r.Scenario.Shift; sh != nil {
		title += " · " + sh.Kind
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="20" font-size="14">%s</text>`+"\n", left, esc(fmt.Sprintf("%s · fronts over %d seeds (95%% intervals)", title, r.Seeds)))
	sigs := signalsOf(r.Points)
	for pi, m := range []struct {
		title string
		get   func(*FrontPoint) Stat
		on    func(*FrontPoint) bool
		scale float64
		floor float64
		unit  string
	}{
		{"failed requests (%, log scale) against replica-seconds", func(p *FrontPoint) Stat { return p.FailedPct }, func(p *FrontPoint) bool { return p.OnFailedFront }, 1, failFloor, "%"},
		{"p95 latency (ms, log scale) against replica-seconds", func(p *FrontPoint) Stat { return p.P95S }, func(p *FrontPoint) bool { return p.OnP95Front }, 1000, 1, " ms"},
	} {
		y0 := top + float64(pi)*(panelH+gap)
		lo, hi := math.Inf(1), 0.0
		for i := range r.Points {
			s := m.get(&r.Points[i])
			if !math.IsNaN(s.Mean) {
				lo, hi = min(lo, max(s.Lo()*m.scale, m.floor)), max(hi, max(s.Hi()*m.scale, m.floor))
			}
		}
		if !(hi > 0) || math.IsInf(lo, 1) {
			lo, hi = m.floor, m.floor*10
		}
		lo = math.Pow(10, math.Floor(math.Log10(lo)))
		hi = math.Pow(10, math.Ceil(math.Log10(hi*1.01)))
		y := func(v float64) float64 {
			v = math.Log10(max(v*m.scale, lo))
			return y0 + panelH - panelH*(v-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#999"/>`+"\n", left, y0, plotW, panelH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", left, y0-8, esc(m.title))
		for v := lo; v <= hi*1.001; v *= 10 {
			yy := y(v / m.scale)
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#eee"/>`, left, left+plotW, yy, yy)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-4, yy+4, esc(fmt.Sprintf("%g%s", v, m.unit)))
		}
		for k := 0; k <= 5; k++ {
			v := xlo + (xhi-xlo)*float64(k)/5
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#eee"/>`, x(v), x(v), y0, y0+panelH)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x(v), y0+panelH+16, kilo(v))
		}
		for si, sig := range sigs {
			color := palette[si%len(palette)]
			front := FrontOf(r.Points, sig, m.on)
			var path strings.Builder
			for i := range front {
				cmd := "L"
				if i == 0 {
					cmd = "M"
				}
				fmt.Fprintf(&path, "%s%.1f %.1f ", cmd, x(front[i].ReplicaSeconds.Mean), y(m.get(&front[i]).Mean))
			}
			if path.Len() > 0 {
				fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="1.8"/>`+"\n", strings.TrimSpace(path.String()), color)
			}
			for i := range r.Points {
				p := &r.Points[i]
				if p.Signal != sig {
					continue
				}
				s := m.get(p)
				if math.IsNaN(s.Mean) {
					continue
				}
				cx, cy := x(p.ReplicaSeconds.Mean), y(s.Mean)
				fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s"/>`, cx, cx, y(max(s.Lo(), 0)), y(s.Hi()), color)
				fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s"/>`, x(p.ReplicaSeconds.Lo()), x(p.ReplicaSeconds.Hi()), cy, cy, color)
				fill := "white"
				if m.on(p) {
					fill = color
				}
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s" stroke="%s"><title>%s</title></circle>`+"\n", cx, cy, fill, color,
					esc(fmt.Sprintf("%s ρ=%.2f target %s", p.Signal, p.Utilization, fmtTarget(p.Target, p.Unit))))
			}
		}
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">replica-seconds</text>`+"\n", left+plotW/2, height-10)
	for si, sig := range sigs {
		ly := top + 14 + float64(si)*18
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="3"/>`, left+plotW+10, left+plotW+30, ly-4, ly-4, palette[si%len(palette)])
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", left+plotW+35, ly, esc(sig))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
