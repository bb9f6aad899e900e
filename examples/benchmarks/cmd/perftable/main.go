// Command perftable reads Go benchmark output (the files of run.sh: the
// benchmark module's, the instrument package's cost parts and the wrk
// results written as BenchmarkServer lines), takes the median of every
// benchmark over its counts, and prints the comparison tables with the
// ratios that the performance targets are stated in, each marked met or
// missed.
//
//	perftable bench.txt cost.txt server.txt
package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func main() {
	r := newResults()
	for _, name := range os.Args[1:] {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		err = r.parse(f)
		f.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, name+":", err)
			os.Exit(1)
		}
	}
	r.print(os.Stdout)
}

// results holds every value of every benchmark and unit.
type results struct {
	values map[string]map[string][]float64 // name → unit → values
	order  []string
}

func newResults() *results {
	return &results{values: map[string]map[string][]float64{}}
}

// procSuffix is the -GOMAXPROCS suffix of a benchmark name.
var procSuffix = regexp.MustCompile(`-\d+$`)

func (r *results) parse(in io.Reader) error {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := procSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
		units := r.values[name]
		if units == nil {
			units = map[string][]float64{}
			r.values[name] = units
			r.order = append(r.order, name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return fmt.Errorf("%q: %w", sc.Text(), err)
			}
			units[f[i+1]] = append(units[f[i+1]], v)
		}
	}
	return sc.Err()
}

// stat is the median of one benchmark's values in one unit, with the
// largest distance of a value from it, relative.
type stat struct {
	median, spread float64
	n              int
}

func (r *results) get(name, unit string) (stat, bool) {
	vs := slices.Clone(r.values[name][unit])
	if len(vs) == 0 {
		return stat{}, false
	}
	slices.Sort(vs)
	m := vs[len(vs)/2]
	if len(vs)%2 == 0 {
		m = (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
	}
	s := stat{median: m, n: len(vs)}
	if m != 0 {
		s.spread = math.Max(m-vs[0], vs[len(vs)-1]-m) / m
	}
	return s, true
}

// ratio is the median over the rounds of a's value ÷ b's value in the
// same round: on a shared machine the load changes from round to round,
// and a ratio within a round cancels it. Values are in round order (each
// round appends one value per benchmark); with unequal counts it falls
// back to the ratio of the medians.
func (r *results) ratio(a, b, unit string) (float64, bool) {
	q, _, _, ok := r.ratioRange(a, b, unit)
	return q, ok
}

// ratioRange is ratio with the smallest and largest per-round ratio.
func (r *results) ratioRange(a, b, unit string) (median, lo, hi float64, ok bool) {
	va, vb := r.values[a][unit], r.values[b][unit]
	if len(va) == 0 || len(vb) == 0 {
		return 0, 0, 0, false
	}
	if len(va) != len(vb) {
		sa, _ := r.get(a, unit)
		sb, _ := r.get(b, unit)
		q := sa.median / sb.median
		return q, q, q, true
	}
	qs := make([]float64, len(va))
	for i := range va {
		qs[i] = va[i] / vb[i]
	}
	slices.Sort(qs)
	median = qs[len(qs)/2]
	if len(qs)%2 == 0 {
		median = (qs[len(qs)/2-1] + qs[len(qs)/2]) / 2
	}
	return median, qs[0], qs[len(qs)-1], true
}

func (s stat) String() string {
	return fmt.Sprintf("%s ±%2.0f%%", human(s.median), 100*s.spread)
}

func human(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// target is one line of the verdict table.
type target struct {
	what, measured, goal string
	met                  bool
}

func (r *results) print(w io.Writer) {
	var targets []target
	tw := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }

	impls := r.keys("Middleware/run=serial/impl=")
	if len(impls) > 0 {
		tw("## Middleware: one request through ServeHTTP (median of counts, ± largest deviation; ratios are medians of per-round ratios)\n\n")
		tw("| impl | serial ns/op | allocs/op | B/op | parallel ns/op | parallel ÷ serial |\n|---|---:|---:|---:|---:|---:|\n")
		for _, impl := range impls {
			s, _ := r.get("Middleware/run=serial/impl="+impl, "ns/op")
			a, _ := r.get("Middleware/run=serial/impl="+impl, "allocs/op")
			bo, _ := r.get("Middleware/run=serial/impl="+impl, "B/op")
			p, _ := r.get("Middleware/run=parallel/impl="+impl, "ns/op")
			ratio := "–"
			if q, ok := r.ratio("Middleware/run=parallel/impl="+impl, "Middleware/run=serial/impl="+impl, "ns/op"); ok {
				ratio = fmt.Sprintf("%.2f", q)
			}
			tw("| %s | %s | %s | %s | %s | %s |\n", impl, s, human(a.median), human(bo.median), p, ratio)
		}
		tw("\n")
		targets = append(targets, r.middlewareTargets()...)
	}

	if rows := r.keys("Server/impl="); len(rows) > 0 {
		tw("## Server: hello world over loopback, wrk\n\n| impl | req/s | ÷ bare | per-round ÷ bare, min–max | server CPU µs/req | ÷ bare |\n|---|---:|---:|---:|---:|---:|\n")
		for _, impl := range rows {
			name := "Server/impl=" + impl
			s, _ := r.get(name, "req/s")
			q, lo, hi, _ := r.ratioRange(name, "Server/impl=bare", "req/s")
			cpu, cq := "–", "–"
			if c, ok := r.get(name, "server-cpu-µs/req"); ok {
				cpu = c.String()
				q, _ := r.ratio(name, "Server/impl=bare", "server-cpu-µs/req")
				cq = fmt.Sprintf("%.3f", q)
			}
			tw("| %s | %s | %.3f | %.2f–%.2f | %s | %s |\n", impl, s, q, lo, hi, cpu, cq)
		}
		tw("\n")
		if q, ok := r.ratio("Server/impl=runway", "Server/impl=bare", "req/s"); ok {
			targets = append(targets, target{"server throughput runway ÷ bare", fmt.Sprintf("%.3f", q), "≥ 0.97", q >= 0.97})
		}
	}

	if series := r.keys("Scrape/series="); len(series) > 0 {
		targets = append(targets, r.scrape(w)...)
	}

	if parts := r.names("Cost/part="); len(parts) > 0 {
		tw("## Parts of runway's per-request cost (instrument package)\n\n| part | ns/op | allocs/op |\n|---|---:|---:|\n")
		for _, p := range parts {
			s, _ := r.get("Cost/part="+p, "ns/op")
			a, ok := r.get("Cost/part="+p, "allocs/op")
			allocs := "–"
			if ok {
				allocs = human(a.median)
			}
			tw("| %s | %s | %s |\n", p, s, allocs)
		}
		tw("\n")
	}

	if len(targets) > 0 {
		tw("## Targets\n\n| target | measured | goal | |\n|---|---:|---:|---|\n")
		for _, t := range targets {
			verdict := "met"
			if !t.met {
				verdict = "**missed**"
			}
			tw("| %s | %s | %s | %s |\n", t.what, t.measured, t.goal, verdict)
		}
	}
}

func (r *results) middlewareTargets() []target {
	var ts []target
	const serial = "Middleware/run=serial/impl="
	if _, ok := r.get(serial+"runway", "ns/op"); !ok {
		return nil
	}
	if a, ok := r.get(serial+"runway", "allocs/op"); ok {
		ts = append(ts, target{"runway allocs/op", human(a.median), "0", a.median == 0})
	}
	for _, c := range []struct {
		impl string
		max  float64
	}{{"otelhttp", 0.1}, {"promhttp", 0.5}} {
		if q, ok := r.ratio(serial+"runway", serial+c.impl, "ns/op"); ok {
			ts = append(ts, target{"ns/op runway ÷ " + c.impl, fmt.Sprintf("%.3f", q), fmt.Sprintf("≤ %.2f", c.max), q <= c.max})
		}
	}
	// The otel conventions meet the same targets against otelhttp.
	if a, ok := r.get(serial+"runway-otel", "allocs/op"); ok {
		ts = append(ts, target{"runway-otel allocs/op", human(a.median), "0", a.median == 0})
	}
	if q, ok := r.ratio(serial+"runway-otel", serial+"otelhttp", "ns/op"); ok {
		ts = append(ts, target{"ns/op runway-otel ÷ otelhttp", fmt.Sprintf("%.3f", q), "≤ 0.10", q <= 0.1})
	}
	const parallel = "Middleware/run=parallel/impl="
	q, ok1 := r.ratio(parallel+"runway", serial+"runway", "ns/op")
	qa, ok2 := r.ratio(parallel+"atomic", serial+"atomic", "ns/op")
	if ok1 && ok2 {
		ts = append(ts, target{"contention: parallel ÷ serial, runway vs bare atomic",
			fmt.Sprintf("%.2f vs %.2f", q, qa), "runway ≤ atomic", q <= qa})
	}
	return ts
}

func (r *results) scrape(w io.Writer) []target {
	fmt.Fprintf(w, "## /metrics scrape: runway (OTel SDK + Prometheus exporter) vs a bare client_golang registry of the same series\n\n")
	fmt.Fprintf(w, "| series | runway ns/scrape | client_golang ns/scrape | ÷ | runway allocs | client_golang allocs | runway ns/series | client_golang ns/series |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	var counts []int
	for _, s := range r.keys("Scrape/series=") {
		if n, err := strconv.Atoi(s); err == nil {
			counts = append(counts, n)
		}
	}
	slices.Sort(counts)
	perSeries := map[string]map[int]float64{"runway": {}, "client_golang": {}}
	for _, n := range counts {
		prefix := fmt.Sprintf("Scrape/series=%d/impl=", n)
		rt, _ := r.get(prefix+"runway", "ns/op")
		ct, _ := r.get(prefix+"client_golang", "ns/op")
		ra, _ := r.get(prefix+"runway", "allocs/op")
		ca, _ := r.get(prefix+"client_golang", "allocs/op")
		perSeries["runway"][n] = rt.median / float64(n)
		perSeries["client_golang"][n] = ct.median / float64(n)
		q, _ := r.ratio(prefix+"runway", prefix+"client_golang", "ns/op")
		fmt.Fprintf(w, "| %d | %s | %s | %.2f | %s | %s | %s | %s |\n", n, rt, ct, q,
			human(ra.median), human(ca.median), human(rt.median/float64(n)), human(ct.median/float64(n)))
	}
	fmt.Fprintln(w)
	if len(counts) < 2 {
		return nil
	}
	// Linear growth: the cost per series at the largest count is at most
	// 1.25 times the cost per series at the one before it (the smallest
	// counts carry the fixed cost of a scrape, so they are not compared).
	hi, lo := counts[len(counts)-1], counts[len(counts)-2]
	q := perSeries["runway"][hi] / perSeries["runway"][lo]
	return []target{{
		fmt.Sprintf("scrape grows linearly: runway ns/series at %d ÷ at %d", hi, lo),
		fmt.Sprintf("%.2f", q), "≤ 1.25", q <= 1.25,
	}}
}

// names returns, in first-seen order, what follows prefix in the names
// that start with it.
func (r *results) names(prefix string) []string {
	var ns []string
	for _, name := range r.order {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			ns = append(ns, rest)
		}
	}
	return ns
}

// keys returns, in first-seen order, the distinct name segments that
// follow prefix up to the next slash.
func (r *results) keys(prefix string) []string {
	var ks []string
	for _, name := range r.order {
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		k, _, _ := strings.Cut(rest, "/")
		if !slices.Contains(ks, k) {
			ks = append(ks, k)
		}
	}
	return ks
}
