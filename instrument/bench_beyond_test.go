package instrument

import (
	"net/http"
	"testing"
	"time"

	"github.com/otel-runway/runway/instrument/limit"
)

// BenchmarkFeatures measures each optional feature alone on the request
// path, beside the middleware with every optional feature off.
func BenchmarkFeatures(b *testing.B) {
	m := newManual(b)
	sse := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"text/event-stream"}
		w.WriteHeader(http.StatusOK)
	})
	lim, err := limit.New(1000, 100, limit.WithMeterProvider(m.provider))
	if err != nil {
		b.Fatal(err)
	}
	defer lim.Close()
	mp := WithMeterProvider(m.provider)
	base := []Option{mp, WithoutInFlightTime(), WithoutStreams()}
	with := func(opts ...Option) []Option { return append(append([]Option(nil), base...), opts...) }
	cases := []struct {
		name string
		h    http.Handler
		opts []Option
	}{
		{"all_off", okHandler, base},
		{"default", okHandler, []Option{WithMeterProvider(m.provider)}},
		{"in_flight_time", okHandler, []Option{mp, WithoutStreams()}},
		{"in_flight_time_groups", okHandler, []Option{mp, WithoutStreams(), WithRouteGroups(RouteGroup{`^/api/infer`, "inference"})}},
		{"streams", okHandler, []Option{mp, WithoutInFlightTime()}},
		{"streams_sse", sse, []Option{mp, WithoutInFlightTime()}},
		{"peak", okHandler, with(WithPeakInFlight(time.Minute))},
		// The limiter of package limit behind the middleware, as the
		// option it replaces was.
		{"limit", lim.Wrap(okHandler), base},
	}
	for _, tc := range cases {
		h := mustHandler(b, tc.h, tc.opts...)
		b.Run(tc.name, func(b *testing.B) { benchServe(b, h, "/api/infer/1") })
		b.Run(tc.name+"_parallel", func(b *testing.B) { benchServeParallel(b, h, "/api/infer/1") })
	}
}

// benchWriter is a ResponseWriter that discards the body and keeps one
// header map, as net/http's own writer does for a request (discard
// allocates a new map on every Header call).
type benchWriter struct {
	discard
	h http.Header
}

func newBenchWriter() benchWriter         { return benchWriter{h: http.Header{}} }
func (w benchWriter) Header() http.Header { return w.h }
