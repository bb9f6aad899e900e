package instrument

import (
	"net/http"
	"testing"

	"github.com/otel-runway/runway/instrument/internal/metrictest"
	dto "github.com/prometheus/client_model/go"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// manual is an SDK MeterProvider read through a ManualReader.
type manual struct {
	provider *sdkmetric.MeterProvider
	reader   *sdkmetric.ManualReader
	m        *metrictest.Manual
}

func newManual(t testing.TB) *manual {
	m := metrictest.NewManual(t)
	return &manual{provider: m.Provider, reader: m.Reader, m: m}
}

func (m *manual) collect(t testing.TB) metricdata.ResourceMetrics { return m.m.Collect(t) }

// scraped is an SDK MeterProvider exposed through the OTel Prometheus
// exporter on its own registry, scraped over HTTP like Prometheus does.
type scraped struct {
	provider *sdkmetric.MeterProvider
	s        *metrictest.Scraped
}

func newScraped(t testing.TB) *scraped {
	s := metrictest.NewScraped(t)
	return &scraped{provider: s.Provider, s: s}
}

func (s *scraped) scrape(t testing.TB) map[string]*dto.MetricFamily { return s.s.Scrape(t) }

// The readers of package metrictest, under the names the tests use.
var (
	findMetric = metrictest.FindMetric
	sumValue   = metrictest.SumValue
	sumPoints  = metrictest.SumPoints
	histPoint  = metrictest.HistPoint
	promValue  = metrictest.PromValue
	hasLabels  = metrictest.HasLabels
	waitFor    = metrictest.WaitFor
)

// inFlight reads runway.requests.in_flight through the manual reader.
func (m *manual) inFlight(t testing.TB) int64 {
	t.Helper()
	v, _ := sumValue(m.collect(t), inFlightName)
	return v
}

// mustMiddleware builds a middleware on mp with opts or fails the test.
func mustHandler(t testing.TB, h http.Handler, opts ...Option) http.Handler {
	t.Helper()
	mw, err := NewMiddleware(opts...)
	if err != nil {
		t.Fatalf("NewMiddleware: %v", err)
	}
	t.Cleanup(func() { _ = mw.Close() })
	return mw.Wrap(h)
}
