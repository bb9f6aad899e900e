package instrument

import (
	"net/http"
	"testing"
)

// The benchmarks drive ServeHTTP directly with a reused request and
// ResponseWriter, so that what is measured is the middleware, beside a
// bare handler in the same run. The MeterProvider is a real SDK one.

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
})

func benchServe(b *testing.B, h http.Handler, path string) {
	r := mustRequest("GET", path)
	w := newBenchWriter()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

func benchServeParallel(b *testing.B, h http.Handler, path string) {
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := mustRequest("GET", path)
		w := newBenchWriter()
		for pb.Next() {
			h.ServeHTTP(w, r)
		}
	})
}

func benchHandlers(b *testing.B) map[string]http.Handler {
	m := newManual(b)
	mux := http.NewServeMux()
	mux.Handle("GET /api/infer/{id}", okHandler)
	return map[string]http.Handler{
		"bare":   okHandler,
		"runway": mustHandler(b, okHandler, WithMeterProvider(m.provider)),
		"runway_groups": mustHandler(b, okHandler, WithMeterProvider(m.provider),
			WithRouteGroups(RouteGroup{`^/api/embed`, "embedding"}, RouteGroup{`^/api/infer`, "inference"})),
		"runway_servemux": mustHandler(b, mux, WithMeterProvider(m.provider), WithServeMux(mux)),
	}
}

var benchOrder = []string{"bare", "runway", "runway_groups", "runway_servemux"}

func BenchmarkMiddleware(b *testing.B) {
	hs := benchHandlers(b)
	for _, name := range benchOrder {
		b.Run(name, func(b *testing.B) { benchServe(b, hs[name], "/api/infer/1") })
	}
}

func BenchmarkMiddlewareParallel(b *testing.B) {
	hs := benchHandlers(b)
	for _, name := range benchOrder {
		b.Run(name, func(b *testing.B) { benchServeParallel(b, hs[name], "/api/infer/1") })
	}
}
