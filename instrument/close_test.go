package instrument

import (
	"net/http"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// TestCloseStopsRecording closes a middleware while requests are running
// through its handler, then lets them finish and sends more: a closed
// middleware records nothing more, the synchronous histograms included
// (their points stay at what was recorded before Close).
func TestCloseStopsRecording(t *testing.T) {
	m := newManual(t)
	mw, err := NewMiddleware(WithMeterProvider(m.provider), WithConventions("both"))
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}, 8), make(chan struct{})
	h := mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			entered <- struct{}{}
			<-release
		}
		w.WriteHeader(http.StatusOK)
	}))
	for range 3 {
		h.ServeHTTP(newBenchWriter(), mustRequest("GET", "/"))
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.ServeHTTP(newBenchWriter(), mustRequest("GET", "/hold"))
		}()
		<-entered
	}
	counts := func() (runwayCount, otelCount uint64) {
		rm := m.collect(t)
		if dp, ok := histPoint(rm, durationName, methodKey.String("GET")); ok {
			runwayCount = dp.Count
		}
		if mm, ok := findMetric(rm, "http.server.request.duration"); ok {
			for _, dp := range mm.Data.(metricdata.Histogram[float64]).DataPoints {
				otelCount += dp.Count
			}
		}
		return
	}
	if r, o := counts(); r != 3 || o != 3 {
		t.Fatalf("before Close: duration counts %d (runway), %d (otel), want 3 and 3", r, o)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	close(release)
	wg.Wait()
	for range 5 {
		h.ServeHTTP(newBenchWriter(), mustRequest("GET", "/"))
	}
	if r, o := counts(); r != 3 || o != 3 {
		t.Errorf("after Close: duration counts %d (runway), %d (otel), want them to stay at 3: a closed middleware records nothing", r, o)
	}
	rm := m.collect(t)
	for _, name := range []string{requestsName, inFlightName, inFlightTimeName, streamsInFlightName, "http.server.active_requests"} {
		if mm, ok := findMetric(rm, name); ok && dataPoints(mm) > 0 {
			t.Errorf("%s still reported after Close", name)
		}
	}
}
