package benchmarks

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// These tests run every benchmark case for 100 operations, as a
// -benchtime=100x smoke run would, and check through a real scrape that
// each instrumentation measured what the benchmarks claim it measures.

const smokeOps = 100

func TestStacks(t *testing.T) {
	// requestsSeen reads the number of finished requests from a scrape.
	requestsSeen := map[string]func(fams map[string]*dto.MetricFamily) float64{
		"runway": func(f map[string]*dto.MetricFamily) float64 {
			return sumCounter(f["runway_requests_total"])
		},
		"runway-otel": func(f map[string]*dto.MetricFamily) float64 {
			return sumHistogramCount(f["http_server_request_duration_seconds"])
		},
		"promhttp": func(f map[string]*dto.MetricFamily) float64 {
			return sumCounter(f["http_requests_total"])
		},
		"otelhttp": func(f map[string]*dto.MetricFamily) float64 {
			return sumHistogramCount(f["http_server_request_duration_seconds"])
		},
	}
	inFlight := map[string]string{
		"runway":      "runway_requests_in_flight",
		"runway-otel": "http_server_active_requests",
		"promhttp":    "http_requests_in_flight",
	}
	for _, impl := range Impls {
		for _, run := range []string{"serial", "parallel"} {
			t.Run(impl+"/"+run, func(t *testing.T) {
				s := newStack(t, impl)
				written := serveN(t, s.Handler, run == "parallel")
				if want := int64(2 * smokeOps * len(helloBody)); written != want {
					t.Errorf("body bytes = %d, want %d", written, want)
				}
				if s.Metrics == nil {
					return
				}
				fams := scrape(t, s.Metrics)
				if got := requestsSeen[impl](fams); got != 2*smokeOps {
					t.Errorf("requests recorded = %v, want %d", got, 2*smokeOps)
				}
				if name, ok := inFlight[impl]; ok {
					if got := gaugeValue(t, fams, name); got != 0 {
						t.Errorf("%s = %v after the requests finished, want 0", name, got)
					}
				}
			})
		}
	}
}

// serveN serves 2×smokeOps requests through h, on one goroutine or on two
// at once, and returns the body bytes written.
func serveN(t *testing.T, h http.Handler, parallel bool) int64 {
	t.Helper()
	workers := 1
	if parallel {
		workers = 2
	}
	writers := make([]*DiscardWriter, workers)
	var wg sync.WaitGroup
	for i := range writers {
		w := NewDiscardWriter()
		writers[i] = w
		wg.Go(func() {
			r := httptest.NewRequest(http.MethodGet, "/hello", nil)
			for range 2 * smokeOps / workers {
				w.Reset()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					t.Errorf("status = %d, want 200", w.Code)
					return
				}
			}
		})
	}
	wg.Wait()
	var written int64
	for _, w := range writers {
		written += w.Written
	}
	return written
}

func TestScrapeTargets(t *testing.T) {
	counters := map[string]string{
		"runway":        "runway_requests_total",
		"client_golang": "http_requests_total",
	}
	sizes := []int{10, 100, 1000}
	if testing.Short() {
		sizes = sizes[:2] // 1000 routes take most of a minute under -race
	}
	for _, routes := range sizes {
		for _, impl := range ScrapeImpls {
			t.Run(impl+"/"+strconv.Itoa(routes), func(t *testing.T) {
				metrics := newScrapeTarget(t, impl, routes)
				for range smokeOps / 10 { // scrapes are heavier than requests
					metrics.ServeHTTP(NewDiscardWriter(), httptest.NewRequest(http.MethodGet, "/metrics", nil))
				}
				fams := scrape(t, metrics)
				c := fams[counters[impl]]
				if c == nil || len(c.GetMetric()) != routes {
					t.Fatalf("%s: %d series, want %d", counters[impl], len(c.GetMetric()), routes)
				}
				if got := sumCounter(c); got != float64(routes) {
					t.Errorf("%s sums to %v, want %d (one request per route)", counters[impl], got, routes)
				}
			})
		}
	}
}

// TestRunwayDoesNotAllocate holds the first target: no allocation per
// request with the default metrics.
func TestRunwayDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	for _, impl := range []string{"runway", "runway-otel"} {
		s := newStack(t, impl)
		r := httptest.NewRequest(http.MethodGet, "/hello", nil)
		w := NewDiscardWriter()
		s.Handler.ServeHTTP(w, r) // first use of the route's tables
		if allocs := testing.AllocsPerRun(smokeOps, func() { s.Handler.ServeHTTP(w, r) }); allocs != 0 {
			t.Errorf("%s: %v allocs per request, want 0", impl, allocs)
		}
	}
}

func scrape(t *testing.T, metrics http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	metrics.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: status %d", rec.Code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("scrape: parse: %v", err)
	}
	return fams
}

func sumCounter(f *dto.MetricFamily) float64 {
	var n float64
	for _, m := range f.GetMetric() {
		n += m.GetCounter().GetValue()
	}
	return n
}

func sumHistogramCount(f *dto.MetricFamily) float64 {
	var n float64
	for _, m := range f.GetMetric() {
		n += float64(m.GetHistogram().GetSampleCount())
	}
	return n
}

func gaugeValue(t *testing.T, fams map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil || len(f.GetMetric()) != 1 {
		t.Fatalf("%s: want one series, got %v", name, f)
	}
	return f.GetMetric()[0].GetGauge().GetValue()
}
