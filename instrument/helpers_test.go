package instrument

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// manual is an SDK MeterProvider read through a ManualReader.
type manual struct {
	provider *sdkmetric.MeterProvider
	reader   *sdkmetric.ManualReader
}

func newManual(t testing.TB) *manual {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return &manual{provider: mp, reader: reader}
}

func (m *manual) collect(t testing.TB) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := m.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collect: %v", err)
	}
	return rm
}

func findMetric(rm metricdata.ResourceMetrics, name string) (metricdata.Metrics, bool) {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m, true
			}
		}
	}
	return metricdata.Metrics{}, false
}

// sumValue returns the value of the Int64 sum named name for exactly the
// attributes attrs, and whether such a point exists.
func sumValue(rm metricdata.ResourceMetrics, name string, attrs ...attribute.KeyValue) (int64, bool) {
	m, ok := findMetric(rm, name)
	if !ok {
		return 0, false
	}
	want := attribute.NewSet(attrs...)
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp.Value, true
		}
	}
	return 0, false
}

// sumPoints returns the number of points of the Int64 sum named name.
func sumPoints(rm metricdata.ResourceMetrics, name string) int {
	m, ok := findMetric(rm, name)
	if !ok {
		return 0
	}
	return len(m.Data.(metricdata.Sum[int64]).DataPoints)
}

// histPoint returns the histogram point of name with exactly attrs.
func histPoint(rm metricdata.ResourceMetrics, name string, attrs ...attribute.KeyValue) (metricdata.HistogramDataPoint[float64], bool) {
	m, ok := findMetric(rm, name)
	if !ok {
		return metricdata.HistogramDataPoint[float64]{}, false
	}
	want := attribute.NewSet(attrs...)
	for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp, true
		}
	}
	return metricdata.HistogramDataPoint[float64]{}, false
}

// scraped is an SDK MeterProvider exposed through the OTel Prometheus
// exporter on its own registry, scraped over HTTP like Prometheus does.
type scraped struct {
	provider *sdkmetric.MeterProvider
	url      string
}

func newScraped(t testing.TB) *scraped {
	t.Helper()
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	return &scraped{provider: mp, url: srv.URL}
}

func (s *scraped) scrape(t testing.TB) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(s.url)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: status %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape: parse: %v", err)
	}
	return fams
}

// promValue returns the value of the gauge or counter sample of family name
// whose labels include all of labels (pairs of name, value).
func promValue(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}

func hasLabels(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

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
