package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkMiddleware/run=serial/impl=atomic-2    1000  10 ns/op  0 B/op  0 allocs/op
BenchmarkMiddleware/run=serial/impl=runway-2    1000  100 ns/op  0 B/op  0 allocs/op
BenchmarkMiddleware/run=serial/impl=runway-2    1000  300 ns/op  0 B/op  0 allocs/op
BenchmarkMiddleware/run=serial/impl=runway-2    1000  120 ns/op  0 B/op  0 allocs/op
BenchmarkMiddleware/run=serial/impl=promhttp-2  1000  1000 ns/op  800 B/op  6 allocs/op
BenchmarkMiddleware/run=serial/impl=otelhttp-2  1000  1000 ns/op  2700 B/op  30 allocs/op
BenchmarkMiddleware/run=parallel/impl=atomic-2  1000  20 ns/op  0 B/op  0 allocs/op
BenchmarkMiddleware/run=parallel/impl=runway-2  1000  60 ns/op  0 B/op  0 allocs/op
BenchmarkServer/impl=bare 1 1000 req/s 20 server-cpu-µs/req
BenchmarkServer/impl=runway 1 960 req/s 21 server-cpu-µs/req
BenchmarkScrape/series=10/impl=runway-2 100 1000 ns/op 10 allocs/op
BenchmarkScrape/series=10/impl=client_golang-2 100 500 ns/op 5 allocs/op
BenchmarkScrape/series=100/impl=runway-2 100 10000 ns/op 100 allocs/op
BenchmarkScrape/series=100/impl=client_golang-2 100 5000 ns/op 50 allocs/op
BenchmarkScrape/series=1000/impl=runway-2 100 150000 ns/op 1000 allocs/op
BenchmarkScrape/series=1000/impl=client_golang-2 100 50000 ns/op 500 allocs/op
BenchmarkCost/part=record/exemplars=always_off-2 100 200 ns/op 0 B/op 0 allocs/op
PASS
`

func TestPrint(t *testing.T) {
	r := newResults()
	if err := r.parse(strings.NewReader(sample)); err != nil {
		t.Fatal(err)
	}
	if s, _ := r.get("Middleware/run=serial/impl=runway", "ns/op"); s.median != 120 || s.n != 3 {
		t.Errorf("runway serial: median %v of %d values, want 120 of 3", s.median, s.n)
	}
	var out strings.Builder
	r.print(&out)
	for _, line := range []string{
		"| runway allocs/op | 0.0 | 0 | met |",
		"| ns/op runway ÷ otelhttp | 0.120 | ≤ 0.10 | **missed** |",
		"| ns/op runway ÷ promhttp | 0.120 | ≤ 0.50 | met |",
		"| contention: parallel ÷ serial, runway vs bare atomic | 0.50 vs 2.00 | runway ≤ atomic | met |",
		"| server throughput runway ÷ bare | 0.960 | ≥ 0.97 | **missed** |",
		"| scrape grows linearly: runway ns/series at 1000 ÷ at 100 | 1.50 | ≤ 1.25 | **missed** |",
		"| record/exemplars=always_off | 200 ± 0% | 0.0 |",
		"| runway | 960 ± 0% | 0.960 | 0.96–0.96 | 21.0 ± 0% | 1.050 |",
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("output lacks %q:\n%s", line, out.String())
		}
	}
}
