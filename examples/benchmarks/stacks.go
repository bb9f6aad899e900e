// Package benchmarks compares runway's middleware with the usual
// alternatives on the same handler: no instrumentation, a bare atomic
// in-flight counter, client_golang's promhttp chain and otelhttp. See
// docs/performance.md for the figures and run.sh for the commands.
package benchmarks

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/otel-runway/runway/exporter"
	"github.com/otel-runway/runway/instrument"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

// durationBuckets are runway's default duration buckets (those of the
// OpenTelemetry HTTP semantic conventions), given to the client_golang
// histograms so that every implementation keeps the same series.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// Impls are the instrumentations compared, in the order of the tables.
var Impls = []string{"bare", "atomic", "runway", "runway-otel", "promhttp", "otelhttp"}

// Hello is the measured application: a hello-world handler.
var Hello = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header()["Content-Type"] = contentType
	_, _ = w.Write(helloBody)
})

var (
	helloBody   = []byte("hello, world\n")
	contentType = []string{"text/plain; charset=utf-8"}
)

// Stack is one instrumentation of Hello with its metrics endpoint.
type Stack struct {
	Name string
	// Handler is Hello wrapped by the instrumentation.
	Handler http.Handler
	// Metrics serves the Prometheus exposition of the recorded metrics;
	// nil for bare and atomic.
	Metrics http.Handler
	// Close releases the MeterProvider, if any.
	Close func()
}

// NewStack builds the instrumentation named impl (one of Impls) around
// app, each in its usual set-up:
//
//   - bare: app itself.
//   - atomic: app behind an atomic in-flight counter, the floor of any
//     in-flight measurement.
//   - runway: exporter.New with the Prometheus exporter and its Handler,
//     which is what exporter.Setup returns.
//   - runway-otel: the same with instrument.WithConventions("otel"): the
//     semantic conventions' http.server.active_requests and
//     http.server.request.duration (the metrics otelhttp records, plus
//     the active requests it lacks) and runway's extensions.
//   - promhttp: client_golang's InstrumentHandlerInFlight, Counter and
//     Duration chain on a fresh registry (the same series as runway: an
//     in-flight gauge, a counter by method and code, a histogram by method
//     with runway's buckets).
//   - otelhttp: otelhttp.NewHandler recording into the same kind of SDK
//     MeterProvider as runway (exporter.New), with the global (no-op)
//     TracerProvider.
func NewStack(impl string, app http.Handler) (*Stack, error) {
	s := &Stack{Name: impl, Close: func() {}}
	switch impl {
	case "bare":
		s.Handler = app
	case "atomic":
		var inflight atomic.Int64
		s.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inflight.Add(1)
			defer inflight.Add(-1)
			app.ServeHTTP(w, r)
		})
	case "runway", "runway-otel":
		opts := []exporter.Option{exporter.WithPrometheus()}
		if impl == "runway-otel" {
			opts = append(opts, exporter.WithInstrumentOptions(instrument.WithConventions("otel")))
		}
		e, err := exporter.New(context.Background(), opts...)
		if err != nil {
			return nil, err
		}
		if s.Handler, err = e.Handler(app); err != nil {
			_ = e.Shutdown(context.Background())
			return nil, err
		}
		s.Metrics = e.MetricsHandler()
		s.Close = func() { _ = e.Shutdown(context.Background()) }
	case "promhttp":
		reg := prometheus.NewRegistry()
		inflight := prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_requests_in_flight", Help: "Requests in flight.",
		})
		requests := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total", Help: "Finished requests.",
		}, []string{"method", "code"})
		duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_request_duration_seconds", Help: "Request duration.",
			Buckets: durationBuckets,
		}, []string{"method"})
		reg.MustRegister(inflight, requests, duration)
		s.Handler = promhttp.InstrumentHandlerInFlight(inflight,
			promhttp.InstrumentHandlerCounter(requests,
				promhttp.InstrumentHandlerDuration(duration, app)))
		s.Metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	case "otelhttp":
		e, err := exporter.New(context.Background(), exporter.WithPrometheus())
		if err != nil {
			return nil, err
		}
		s.Handler = otelhttp.NewHandler(app, "hello", otelhttp.WithMeterProvider(e.MeterProvider()))
		s.Metrics = e.MetricsHandler()
		s.Close = func() { _ = e.Shutdown(context.Background()) }
	default:
		return nil, fmt.Errorf("benchmarks: unknown implementation %q", impl)
	}
	return s, nil
}

// ScrapeImpls are the registries compared by the scrape benchmarks.
var ScrapeImpls = []string{"runway", "client_golang"}

// NewScrapeTarget returns the /metrics handler of impl (one of
// ScrapeImpls) holding series routes, each with one finished request:
//
//   - runway: the middleware of exporter.New on a ServeMux with routes
//     patterns, one route group each, driven once per route. Per route it exposes one series of
//     runway_requests_total, runway_requests_in_flight_by_route and the
//     runway_request_duration_seconds histogram.
//   - client_golang: a bare registry with the same three vectors, the same
//     label sets and buckets, each set once per route.
func NewScrapeTarget(impl string, routes int) (metrics http.Handler, closeFn func(), err error) {
	switch impl {
	case "runway":
		mux := http.NewServeMux()
		groups := make([]instrument.RouteGroup, routes)
		for i := range routes {
			path := "/r" + strconv.Itoa(i)
			mux.Handle(path, Hello)
			// A group per route: runway_requests_in_flight_by_route is
			// reported only for routes known when a request arrives.
			groups[i] = instrument.RouteGroup{Pattern: "^" + path + "$", Name: path}
		}
		e, err := exporter.New(context.Background(), exporter.WithPrometheus(),
			exporter.WithInstrumentOptions(instrument.WithRouteGroups(groups...), instrument.WithMaxRoutes(routes)))
		if err != nil {
			return nil, nil, err
		}
		h, err := e.Handler(mux)
		if err != nil {
			_ = e.Shutdown(context.Background())
			return nil, nil, err
		}
		w := NewDiscardWriter()
		for i := range routes {
			r, _ := http.NewRequest(http.MethodGet, "/r"+strconv.Itoa(i), nil)
			h.ServeHTTP(w, r)
		}
		return e.MetricsHandler(), func() { _ = e.Shutdown(context.Background()) }, nil
	case "client_golang":
		reg := prometheus.NewRegistry()
		inflight := prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "http_requests_in_flight_by_route", Help: "Requests in flight by route.",
		}, []string{"http_route"})
		requests := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total", Help: "Finished requests.",
		}, []string{"http_request_method", "http_response_status_code", "http_route"})
		duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_request_duration_seconds", Help: "Request duration.",
			Buckets: durationBuckets,
		}, []string{"http_request_method", "http_route"})
		reg.MustRegister(inflight, requests, duration)
		for i := range routes {
			route := "/r" + strconv.Itoa(i)
			inflight.WithLabelValues(route).Set(0)
			requests.WithLabelValues("GET", "200", route).Inc()
			duration.WithLabelValues("GET", route).Observe(0.001)
		}
		return promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), func() {}, nil
	}
	return nil, nil, fmt.Errorf("benchmarks: unknown registry %q", impl)
}
