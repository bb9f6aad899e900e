package benchmarks

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// The names follow the benchmark key=value convention, so that benchstat
// can put the implementations side by side: `benchstat -col /impl`.

// BenchmarkMiddleware serves one request per op through each
// instrumentation, directly through ServeHTTP with a reused request and
// writer: what is measured is the middleware, beside the bare handler in
// the same run. run=serial is one goroutine; run=parallel is
// b.RunParallel on GOMAXPROCS goroutines sharing one middleware (ns/op is
// wall time divided by all ops, so it halves on two idle cores when
// nothing is shared).
func BenchmarkMiddleware(b *testing.B) {
	for _, run := range []string{"serial", "parallel"} {
		for _, impl := range Impls {
			b.Run("run="+run+"/impl="+impl, func(b *testing.B) {
				s := newStack(b, impl)
				if run == "serial" {
					serveSerial(b, s.Handler)
				} else {
					serveParallel(b, s.Handler)
				}
			})
		}
	}
}

// BenchmarkScrape serves one /metrics scrape per op from a registry of the
// given number of routes (series per metric), runway beside a bare
// client_golang registry with the same series.
func BenchmarkScrape(b *testing.B) {
	for _, routes := range []int{10, 100, 1000} {
		for _, impl := range ScrapeImpls {
			b.Run("series="+strconv.Itoa(routes)+"/impl="+impl, func(b *testing.B) {
				metrics := newScrapeTarget(b, impl, routes)
				r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				w := NewDiscardWriter()
				b.ReportAllocs()
				for b.Loop() {
					metrics.ServeHTTP(w, r)
				}
				b.ReportMetric(float64(w.Written)/float64(b.N), "B/scrape")
			})
		}
	}
}

func serveSerial(b *testing.B, h http.Handler) {
	r := httptest.NewRequest(http.MethodGet, "/hello", nil)
	w := NewDiscardWriter()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

func serveParallel(b *testing.B, h http.Handler) {
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest(http.MethodGet, "/hello", nil)
		w := NewDiscardWriter()
		for pb.Next() {
			h.ServeHTTP(w, r)
		}
	})
}

func newStack(tb testing.TB, impl string) *Stack {
	tb.Helper()
	s, err := NewStack(impl, Hello)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

func newScrapeTarget(tb testing.TB, impl string, routes int) http.Handler {
	tb.Helper()
	metrics, closeFn, err := NewScrapeTarget(impl, routes)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(closeFn)
	return metrics
}
