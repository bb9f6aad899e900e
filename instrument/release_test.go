package instrument

import (
	"errors"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// holdRequests starts n requests through h that stay in the handler until
// the returned function is called; it returns once all n are in flight.
func holdRequests(t *testing.T, h http.Handler, n int) (release func()) {
	t.Helper()
	var entered, done sync.WaitGroup
	ch := make(chan struct{})
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered.Done()
		<-ch
	})
	entered.Add(n)
	for range n {
		done.Go(func() {
			h.(*handler).serveWith(inner, discard{}, mustRequest("GET", "/"))
		})
	}
	entered.Wait()
	return func() { close(ch); done.Wait() }
}

// TestSeveralMiddlewaresOneProvider builds two middlewares on one
// MeterProvider and checks every gauge-like instrument against the
// process's total: in flight and the peak.
func TestSeveralMiddlewaresOneProvider(t *testing.T) {
	m := newManual(t)
	a := mustHandler(t, okHandler, WithMeterProvider(m.provider), WithPeakInFlight(0))
	b := mustHandler(t, okHandler, WithMeterProvider(m.provider), WithPeakInFlight(0))

	releaseA := holdRequests(t, a, 2)
	releaseB := holdRequests(t, b, 3)
	rm := m.collect(t)
	if v, _ := sumValue(rm, inFlightName); v != 5 {
		t.Errorf("%s = %d, want 5 (2 + 3)", inFlightName, v)
	}
	if v, _ := gaugeValue(rm, peakInFlightName); v != 5 {
		t.Errorf("%s = %d, want 5: the peak of the total, not of one middleware", peakInFlightName, v)
	}
	releaseA()
	releaseB()
	rm = m.collect(t)
	if v, _ := sumValue(rm, inFlightName); v != 0 {
		t.Errorf("%s after = %d, want 0", inFlightName, v)
	}
	if v, _ := gaugeValue(rm, peakInFlightName); v != 5 {
		t.Errorf("%s after the release = %d, want 5 (5 were in flight when this window began)", peakInFlightName, v)
	}
	rm = m.collect(t)
	if v, _ := gaugeValue(rm, peakInFlightName); v != 0 {
		t.Errorf("%s after = %d, want 0 (window 0: since the previous collection)", peakInFlightName, v)
	}
}

// TestPeakWindowsMustAgree refuses a second middleware whose peak window
// differs from the one already on its MeterProvider, and accepts it once
// the first is closed.
func TestPeakWindowsMustAgree(t *testing.T) {
	m := newManual(t)
	first, err := NewMiddleware(WithMeterProvider(m.provider), WithPeakInFlight(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewMiddleware(WithMeterProvider(m.provider), WithPeakInFlight(time.Second))
	if !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), "WithPeakInFlight") {
		t.Fatalf("second window: error %v, want one that names WithPeakInFlight and wraps ErrInvalidOption", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second, err := NewMiddleware(WithMeterProvider(m.provider), WithPeakInFlight(time.Second))
	if err != nil {
		t.Fatalf("after the first is closed: %v", err)
	}
	second.Close()
}

// TestCloseStopsReporting checks that a closed middleware's series are no
// longer reported, while another middleware on the provider still is.
func TestCloseStopsReporting(t *testing.T) {
	m := newManual(t)
	closed, err := NewMiddleware(WithMeterProvider(m.provider), WithPeakInFlight(0),
		WithRouteGroups(RouteGroup{`^/a`, "a"}))
	if err != nil {
		t.Fatal(err)
	}
	kept := mustHandler(t, okHandler, WithMeterProvider(m.provider))
	closed.Wrap(okHandler).ServeHTTP(discard{}, mustRequest("GET", "/a"))
	kept.ServeHTTP(discard{}, mustRequest("POST", "/"))
	rm := m.collect(t)
	if n := sumPoints(rm, requestsName); n != 2 {
		t.Fatalf("before Close: runway.requests has %d series, want 2", n)
	}
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	if err := closed.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	rm = m.collect(t)
	if n := sumPoints(rm, requestsName); n != 1 {
		t.Errorf("after Close: runway.requests has %d series, want 1 (the other middleware's)", n)
	}
	if v, ok := sumValue(rm, requestsName, methodKey.String("POST"), statusCodeKey.Int(200)); !ok || v != 1 {
		t.Errorf("the other middleware's series = %d (present %v), want 1", v, ok)
	}
	for _, name := range []string{inFlightByRouteName, peakInFlightName} {
		if mm, ok := findMetric(rm, name); ok && dataPoints(mm) > 0 {
			t.Errorf("%s still reported after Close", name)
		}
	}
}

// TestBuildAndRelease10000 builds and closes 10,000 middlewares, every
// default feature on plus routes and the peak, on one
// MeterProvider, serving one request through each, and compares the heap
// growth with what the same middlewares cost when they are kept: closed
// middlewares must leave no tables and no callbacks behind.
func TestBuildAndRelease10000(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 1000 // the same check on fewer, for the fast loop
	}
	m := newManual(t)
	opts := []Option{WithMeterProvider(m.provider), WithPeakInFlight(0),
		WithRouteGroups(RouteGroup{`^/api`, "api"})}
	build := func() *Middleware {
		mw, err := NewMiddleware(opts...)
		if err != nil {
			t.Fatal(err)
		}
		mw.Wrap(okHandler).ServeHTTP(discard{}, mustRequest("GET", "/api/x"))
		return mw
	}
	// The cost of a kept middleware, measured on a sample.
	const sample = 200
	before := heapAfterGC()
	kept := make([]*Middleware, 0, sample)
	for range sample {
		kept = append(kept, build())
	}
	m.collect(t)
	perKept := (float64(heapAfterGC()) - float64(before)) / sample
	for _, mw := range kept {
		mw.Close()
	}
	kept = nil
	m.collect(t)

	before = heapAfterGC()
	for i := range n {
		build().Close()
		if i%1000 == 0 {
			m.collect(t)
		}
	}
	m.collect(t)
	after := heapAfterGC()
	growth := float64(after) - float64(before)
	leaked := perKept * float64(n)
	t.Logf("a kept middleware holds %.0f B; %d leaked would be %.1f MB; heap growth after %d built and closed: %.0f B",
		perKept, n, leaked/1e6, n, growth)
	if growth > leaked/20 {
		t.Errorf("heap grew by %.0f B after %d middlewares were built and closed: more than 5%% of the %.0f B they hold when kept", growth, n, leaked)
	}
	rm := m.collect(t)
	if v, _ := sumValue(rm, inFlightName); v != 0 {
		t.Errorf("%s = %d after every middleware closed, want 0", inFlightName, v)
	}
	if mm, ok := findMetric(rm, requestsName); ok && dataPoints(mm) > 0 {
		t.Errorf("%s still has %d series after every middleware closed", requestsName, dataPoints(mm))
	}
	runtime.KeepAlive(kept)
}

// dataPoints returns the number of points of a metric of any kind.
func dataPoints(mm metricdata.Metrics) int {
	switch d := mm.Data.(type) {
	case metricdata.Sum[int64]:
		return len(d.DataPoints)
	case metricdata.Sum[float64]:
		return len(d.DataPoints)
	case metricdata.Gauge[int64]:
		return len(d.DataPoints)
	case metricdata.Histogram[float64]:
		return len(d.DataPoints)
	}
	return -1
}
