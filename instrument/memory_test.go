package instrument

import (
	"net/http"
	"runtime"
	"strconv"
	"testing"

	"github.com/otel-runway/runway/instrument/internal/contract"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// The flood: floodRoutes ServeMux routes, each receiving one request for
// every method value (the ten known methods and one unknown, recorded as
// _OTHER) and every one of floodStatuses: 16,500 combinations, past
// runway's bound of 2000 series. seriesRoutes routes make 1,980 series,
// all under the bound.
const (
	floodRoutes  = 100
	seriesRoutes = 12
)

var (
	floodMethods  = append(knownMethods[:len(knownMethods):len(knownMethods)], "BREW")
	floodStatuses = []int{200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 409, 429, 500, 502, 503}
)

// statusHandler answers with the status in the request's X-Status header.
var statusHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	code, _ := strconv.Atoi(r.Header.Get("X-Status"))
	w.WriteHeader(code)
})

// floodRequests returns the requests of the flood and the ServeMux that
// routes them.
func floodRequests(routes int) (*http.ServeMux, []*http.Request) {
	mux := http.NewServeMux()
	var reqs []*http.Request
	for i := range routes {
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

// BenchmarkSeriesMemory measures the memory of runway's own state: each
// op builds a middleware (wrapping a ServeMux, every default feature on) and
// sends it one request of every combination. With provider=noop nothing
// but runway's tables is kept; with provider=sdk the SDK's aggregation
// after one collection is included. shape=series (1,980 series, under the
// bound) reports the bytes per series; shape=flood (16,500 combinations)
// reports the heap the middleware holds after the flood, which the bound
// keeps flat.
func BenchmarkSeriesMemory(b *testing.B) {
	for _, shape := range []struct {
		name   string
		routes int
	}{{"series", seriesRoutes}, {"flood", floodRoutes}} {
		for _, provider := range []string{"noop", "sdk"} {
			b.Run("shape="+shape.name+"/provider="+provider, func(b *testing.B) {
				mux, reqs := floodRequests(shape.routes)
				series := min(len(reqs), contract.DefaultMaxSeries)
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
					mw, err := NewMiddleware(WithMeterProvider(mp))
					if err != nil {
						b.Fatal(err)
					}
					h := mw.Wrap(mux)
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
					_ = mw.Close()
				}
				b.ReportMetric(float64(grown)/float64(b.N), "heap-B")
				b.ReportMetric(float64(grown)/float64(b.N)/float64(series), "B/series")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

// TestSeriesBound floods a middleware with 16,500 combinations of route,
// method and status: runway.requests stops at the SDK's default
// cardinality limit, 1,999 series and one with otel.metric.overflow=true
// that counts the rest, so that no request is lost and runway keeps no
// counter the SDK would fold away.
func TestSeriesBound(t *testing.T) {
	m := newManual(t)
	mux, reqs := floodRequests(floodRoutes)
	h := mustHandler(t, mux, WithMeterProvider(m.provider))
	w := newBenchWriter()
	for _, r := range reqs {
		h.ServeHTTP(w, r)
	}
	rm := m.collect(t)
	mm, ok := findMetric(rm, requestsName)
	if !ok {
		t.Fatal("no runway.requests")
	}
	points := mm.Data.(metricdata.Sum[int64]).DataPoints
	if len(points) != contract.DefaultMaxSeries {
		t.Errorf("runway.requests has %d series, want %d", len(points), contract.DefaultMaxSeries)
	}
	var total, overflow int64
	for _, dp := range points {
		total += dp.Value
		if v, ok := dp.Attributes.Value(overflowKey); ok && v.AsBool() {
			overflow = dp.Value
		}
	}
	if total != int64(len(reqs)) {
		t.Errorf("runway.requests sums to %d, want every request, %d", total, len(reqs))
	}
	if want := int64(len(reqs) - (contract.DefaultMaxSeries - 1)); overflow != want {
		t.Errorf("overflow series = %d, want %d", overflow, want)
	}
	// A combination seen before the bound keeps its own series.
	h.ServeHTTP(w, reqs[0])
	if v, _ := sumValue(m.collect(t), requestsName, methodKey.String("GET"), statusCodeKey.Int(200), routeKey.String("/r0/{id}")); v != 2 {
		t.Errorf("the first series = %d, want 2", v)
	}
}
