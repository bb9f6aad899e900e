package instrument

import (
	"net/http"
	"runtime"
	"strconv"
	"testing"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// The flood: floodRoutes ServeMux routes, each receiving one request for
// every method value (the ten known methods and one unknown, recorded as
// _OTHER) and every one of floodStatuses.
const floodRoutes = 100

var (
	floodMethods  = append(knownMethods[:len(knownMethods):len(knownMethods)], "BREW")
	floodStatuses = []int{200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 409, 429, 500, 502, 503}
)

// floodSeries is the number of runway.requests series the flood creates.
var floodSeries = floodRoutes * len(floodMethods) * len(floodStatuses)

// statusHandler answers with the status in the request's X-Status header.
var statusHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	code, _ := strconv.Atoi(r.Header.Get("X-Status"))
	w.WriteHeader(code)
})

// floodRequests returns the requests of the flood and the ServeMux that
// routes them.
func floodRequests() (*http.ServeMux, []*http.Request) {
	mux := http.NewServeMux()
	var reqs []*http.Request
	for i := range floodRoutes {
		p := "/r" + strconv.Itoa(i) + "/"
		mux.Handle(p+"{id}", statusHandler)
		for _, m := range floodMethods {
			for _, s := range floodStatuses {
				r := mustRequest(m, p+"x")
				r.Header.Set("X-Status", strconv.Itoa(s))
				reqs = append(reqs, r)
			}
		}
	}
	return mux, reqs
}

// BenchmarkSeriesMemory measures the memory of runway's own state per
// runway.requests series: each op builds a middleware (WithServeMux, every
// default feature on) on a no-op MeterProvider, so that what is measured
// is runway's tables and not the SDK's, and floods it. It reports the live
// heap the middleware holds after the flood (heap-B) and that divided by
// the number of series (B/series).
func BenchmarkSeriesMemory(b *testing.B) {
	for _, provider := range []string{"noop", "sdk"} {
		b.Run("provider="+provider, func(b *testing.B) {
			mux, reqs := floodRequests()
			w := newBenchWriter()
			var grown uint64
			for b.Loop() {
				before := heapAfterGC()
				var mp metric.MeterProvider = noop.NewMeterProvider()
				var m *manual
				if provider == "sdk" {
					m = newManual(b)
					mp = m.provider
				}
				h := mustHandler(b, mux, WithMeterProvider(mp), WithServeMux(mux))
				for _, r := range reqs {
					h.ServeHTTP(w, r)
				}
				if m != nil {
					m.collect(b)
				}
				after := heapAfterGC()
				runtime.KeepAlive(h)
				runtime.KeepAlive(m)
				if after > before {
					grown += after - before
				}
			}
			b.ReportMetric(float64(grown)/float64(b.N), "heap-B")
			b.ReportMetric(float64(grown)/float64(b.N)/float64(floodSeries), "B/series")
			b.ReportMetric(0, "ns/op")
		})
	}
}
