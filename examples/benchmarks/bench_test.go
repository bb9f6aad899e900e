package benchmarks

import (
	"context"
	"net"
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
	r := serverRequest(b)
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
		r := serverRequest(b)
		w := NewDiscardWriter()
		for pb.Next() {
			h.ServeHTTP(w, r)
		}
	})
}

// serverRequest returns a GET /hello whose context is built the way
// net/http's server builds it (server and local address values under a
// cancelable context), so that context lookups cost what they cost in a
// server.
func serverRequest(tb testing.TB) *http.Request {
	ctx := context.WithValue(context.Background(), http.ServerContextKey, &http.Server{})
	ctx = context.WithValue(ctx, http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080})
	ctx, cancel := context.WithCancel(ctx)
	tb.Cleanup(cancel)
	return httptest.NewRequestWithContext(ctx, http.MethodGet, "/hello", nil)
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
