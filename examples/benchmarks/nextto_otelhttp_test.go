package benchmarks

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr/funcr"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/otel-runway/runway/exporter"
	"github.com/otel-runway/runway/instrument"
)

// nextToOtelhttp wraps app with runway in the given conventions mode
// inside otelhttp, both recording into one MeterProvider (the exporter's),
// and returns the handler and the /metrics handler.
func nextToOtelhttp(tb testing.TB, mode instrument.Conventions, app http.Handler) (h, metrics http.Handler) {
	tb.Helper()
	e, err := exporter.New(context.Background(), exporter.WithPrometheus())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = e.Shutdown(context.Background()) })
	mw, err := instrument.NewMiddleware(
		instrument.WithMeterProvider(e.MeterProvider()),
		instrument.WithConventions(mode))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = mw.Close() })
	h = otelhttp.NewHandler(mw.Wrap(app), "server", otelhttp.WithMeterProvider(e.MeterProvider()))
	return h, e.MetricsHandler()
}

// Example_nextToOtelhttp adds runway to a handler that otelhttp already
// measures, on the same MeterProvider: WithConventions("otel-active")
// records http.server.active_requests, which otelhttp lacks, and leaves
// http.server.request.duration to otelhttp.
func Example_nextToOtelhttp() {
	e, err := exporter.New(context.Background(), exporter.WithPrometheus())
	if err != nil {
		panic(err)
	}
	defer e.Shutdown(context.Background())
	mw, err := instrument.NewMiddleware(
		instrument.WithMeterProvider(e.MeterProvider()),
		instrument.WithConventions("otel-active"))
	if err != nil {
		panic(err)
	}
	defer mw.Close()

	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// While this request is in flight, the metrics say so.
		fmt.Println("in flight:", readMetric(e.MetricsHandler(), "http_server_active_requests"))
	})
	h := otelhttp.NewHandler(mw.Wrap(app), "server", otelhttp.WithMeterProvider(e.MeterProvider()))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))

	fmt.Println("after:", readMetric(e.MetricsHandler(), "http_server_active_requests"))
	fmt.Println("durations:", readMetric(e.MetricsHandler(), "http_server_request_duration_seconds"))
	// Output:
	// in flight: 1 from github.com/otel-runway/runway/instrument
	// after: 0 from github.com/otel-runway/runway/instrument
	// durations: 1 from go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp
}

// readMetric scrapes metrics and returns, for the family name, the sum of
// its values (gauge values, histogram counts) and the scopes that report
// it.
func readMetric(metrics http.Handler, name string) string {
	rec := httptest.NewRecorder()
	metrics.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	fams, err := parseText(rec.Body)
	if err != nil {
		return err.Error()
	}
	total, scopes := 0.0, []string{}
	for _, m := range fams[name].GetMetric() {
		total += m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
		for _, l := range m.GetLabel() {
			if l.GetName() == "otel_scope_name" && !slices.Contains(scopes, l.GetValue()) {
				scopes = append(scopes, l.GetValue())
			}
		}
	}
	return fmt.Sprintf("%v from %s", total, strings.Join(scopes, ", "))
}

// TestNextToOtelhttp puts runway and otelhttp on one MeterProvider in each
// mode and checks, through the SDK's warnings (its global logger) and
// otel.Handle, that no instrument definitions conflict, and through a real
// scrape that every family has one writer: otelhttp's duration histogram
// is not doubled by runway's in "otel-active" mode.
func TestNextToOtelhttp(t *testing.T) {
	var mu sync.Mutex
	var warnings []string
	otel.SetLogger(funcr.New(func(prefix, args string) {
		mu.Lock()
		warnings = append(warnings, args)
		mu.Unlock()
	}, funcr.Options{Verbosity: 1}))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		mu.Lock()
		warnings = append(warnings, "otel.Handle: "+err.Error())
		mu.Unlock()
	}))
	t.Cleanup(func() {
		otel.SetLogger(funcr.New(func(string, string) {}, funcr.Options{}))
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	})
	takeWarnings := func() []string {
		mu.Lock()
		defer mu.Unlock()
		w := warnings
		warnings = nil
		return w
	}

	// The detector sees a conflict: one name, two units, in one scope (the
	// SDK checks definitions per instrumentation scope).
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer mp.Shutdown(context.Background())
	_, _ = mp.Meter("a").Float64Histogram("http.server.request.duration", metric.WithUnit("s"))
	_, _ = mp.Meter("a").Float64Histogram("http.server.request.duration", metric.WithUnit("ms"))
	if w := takeWarnings(); len(w) == 0 {
		t.Fatal("no warning for a conflicting definition: the detector is broken")
	}

	for _, tc := range []struct {
		mode instrument.Conventions
		// scopes of http_server_request_duration_seconds
		durationScopes []string
	}{
		{"otel-active", []string{"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"}},
		{"otel", []string{"github.com/otel-runway/runway/instrument", "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"}},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			takeWarnings()
			h, metrics := nextToOtelhttp(t, tc.mode, Hello)
			for range 3 {
				h.ServeHTTP(NewDiscardWriter(), httptest.NewRequest(http.MethodGet, "/hello", nil))
			}
			fams := scrape(t, metrics)
			if w := takeWarnings(); len(w) > 0 {
				t.Errorf("warnings with otelhttp on one provider: %q", w)
			}
			if got := scopesOf(fams["http_server_active_requests"]); !slices.Equal(got, []string{"github.com/otel-runway/runway/instrument"}) {
				t.Errorf("http_server_active_requests from %v, want runway alone", got)
			}
			if got := scopesOf(fams["http_server_request_duration_seconds"]); !slices.Equal(got, tc.durationScopes) {
				t.Errorf("http_server_request_duration_seconds from %v, want %v", got, tc.durationScopes)
			}
		})
	}
}

func scopesOf(f *dto.MetricFamily) []string {
	var scopes []string
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "otel_scope_name" && !slices.Contains(scopes, l.GetValue()) {
				scopes = append(scopes, l.GetValue())
			}
		}
	}
	slices.Sort(scopes)
	return scopes
}

func parseText(r io.Reader) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(r)
}
