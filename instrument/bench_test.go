package instrument

import (
	"context"
	"net/http"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
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
		"bare":          okHandler,
		"bare_servemux": mux,
		"runway":        mustHandler(b, okHandler, WithMeterProvider(m.provider)),
		"runway_groups": mustHandler(b, okHandler, WithMeterProvider(m.provider),
			WithRouteGroups(RouteGroup{`^/api/embed`, "embedding"}, RouteGroup{`^/api/infer`, "inference"})),
		"runway_servemux": mustHandler(b, mux, WithMeterProvider(m.provider)),
		"otel":            mustHandler(b, okHandler, WithMeterProvider(m.provider), WithConventions("otel")),
		"otel_servemux":   mustHandler(b, mux, WithMeterProvider(m.provider), WithConventions("otel")),
		"both":            mustHandler(b, okHandler, WithMeterProvider(m.provider), WithConventions("both")),
	}
}

var benchOrder = []string{"bare", "runway", "runway_groups", "bare_servemux", "runway_servemux", "otel", "otel_servemux", "both"}

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

// BenchmarkCost measures the parts of the middleware's per-request cost one
// by one, so that docs/performance.md can say where the time goes:
//
//   - clock: the two clock readings of a request (time.Now, time.Since);
//   - writer: taking the pooled ResponseWriter wrapper and releasing it;
//   - counters: the atomics of in-flight and the request count (without
//     routes);
//   - record: the one synchronous measurement, the duration histogram's
//     Record with its precomputed attribute option, under each exemplar
//     filter of the SDK (trace_based is the SDK's default);
//   - resolve: finding the route with route groups before dispatch, or
//     from r.Pattern after dispatch.
func BenchmarkCost(b *testing.B) {
	b.Run("part=clock", func(b *testing.B) {
		var total time.Duration
		for b.Loop() {
			start := time.Now()
			total += time.Since(start)
		}
		_ = total
	})
	b.Run("part=writer", func(b *testing.B) {
		var w http.ResponseWriter = discard{}
		b.ReportAllocs()
		for b.Loop() {
			rw, _ := newResponseWriter(w)
			rw.release()
		}
	})
	b.Run("part=counters", func(b *testing.B) {
		m := benchMeasurer(b, exemplar.TraceBasedFilter)
		rt := m.unrouted
		b.ReportAllocs()
		for b.Loop() {
			m.rec.start(rt, 0)
			m.rec.routes.count(rt, 0, http.StatusOK)
			m.rec.inflight.Add(-1) // without routes, end's only decrement
		}
	})
	for _, f := range []struct {
		name   string
		filter exemplar.Filter
	}{
		{"trace_based", exemplar.TraceBasedFilter},
		{"always_off", exemplar.AlwaysOffFilter},
	} {
		b.Run("part=record/exemplars="+f.name, func(b *testing.B) {
			m := benchMeasurer(b, f.filter)
			ctx := context.Background()
			opts := m.unrouted.recordOpts[0]
			b.ReportAllocs()
			for b.Loop() {
				m.rec.duration.Record(ctx, 0.001, opts...)
			}
		})
	}
	b.Run("part=resolve/groups", func(b *testing.B) {
		m := benchMeasurer(b, exemplar.TraceBasedFilter,
			WithRouteGroups(RouteGroup{`^/api/embed`, "embedding"}, RouteGroup{`^/api/infer`, "inference"}))
		r := mustRequest("GET", "/api/infer/1")
		b.ReportAllocs()
		for b.Loop() {
			m.route(r)
		}
	})
	b.Run("part=resolve/pattern", func(b *testing.B) {
		m := benchMeasurer(b, exemplar.TraceBasedFilter)
		r := mustRequest("GET", "/api/infer/1")
		r.Pattern = "GET /api/infer/{id}"
		rt := m.route(r)
		b.ReportAllocs()
		for b.Loop() {
			m.routeAfter(r, rt)
		}
	})
}

// benchMeasurer returns the shared state of a middleware recording into an
// SDK MeterProvider with the given exemplar filter.
func benchMeasurer(b *testing.B, filter exemplar.Filter, opts ...Option) *measurer {
	b.Helper()
	mp := sdkmetric.NewMeterProvider(
		sdkmetric.WithReader(sdkmetric.NewManualReader()),
		sdkmetric.WithExemplarFilter(filter))
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	m, err := newMeasurer(append(opts, WithMeterProvider(mp)))
	if err != nil {
		b.Fatal(err)
	}
	return m
}
