package instrument

import (
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// floatSum returns the value of the Float64 sum named name for exactly the
// attributes attrs, and whether such a point exists.
func floatSum(rm metricdata.ResourceMetrics, name string, attrs ...attribute.KeyValue) (float64, bool) {
	m, ok := findMetric(rm, name)
	if !ok {
		return 0, false
	}
	want := attribute.NewSet(attrs...)
	for _, dp := range m.Data.(metricdata.Sum[float64]).DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp.Value, true
		}
	}
	return 0, false
}

// TestInflightTimeAccuracy runs a deterministic load through a real server
// (workers sending requests of a fixed duration back to back, and one long
// request spanning many collections) and compares each collected value with
// the integral of the in-flight count measured by the handler itself.
func TestInflightTimeAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("timed load")
	}
	m := newManual(t)
	type span struct{ in, out time.Time }
	var (
		mu    sync.Mutex
		spans []*span
	)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		s := &span{in: time.Now()}
		mu.Lock()
		spans = append(spans, s)
		mu.Unlock()
		time.Sleep(d)
		mu.Lock()
		s.out = time.Now()
		mu.Unlock()
	})
	srv := httptest.NewServer(mustHandler(t, handler, WithMeterProvider(m.provider)))
	defer srv.Close()

	// truth is the integral of the in-flight count (as the handler saw it)
	// up to at.
	truth := func(at time.Time) float64 {
		mu.Lock()
		defer mu.Unlock()
		var sum time.Duration
		for _, s := range spans {
			end := s.out
			if end.IsZero() || end.After(at) {
				end = at
			}
			if end.After(s.in) {
				sum += end.Sub(s.in)
			}
		}
		return sum.Seconds()
	}
	get := func(d time.Duration) {
		resp, err := srv.Client().Get(srv.URL + "/?d=" + d.String())
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
	}

	const (
		workers  = 4
		short    = 20 * time.Millisecond
		long     = 600 * time.Millisecond
		duration = 900 * time.Millisecond
	)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() { get(long) })
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					get(short)
				}
			}
		})
	}

	var worst float64
	var readings int
	prev := 0.0
	check := func() {
		before := time.Now()
		rm := m.collect(t)
		after := time.Now()
		got, _ := floatSum(rm, inFlightTimeName)
		if got < prev {
			t.Fatalf("in_flight_time went down: %v after %v", got, prev)
		}
		prev = got
		lo, hi := truth(before), truth(after)
		if lo < 0.05 {
			return // too early for a relative error to mean anything
		}
		readings++
		if got < lo*0.98 || got > hi*1.02 {
			t.Errorf("in_flight_time = %.6f s, true integral between %.6f and %.6f s", got, lo, hi)
		}
		mid := (lo + hi) / 2
		worst = math.Max(worst, math.Abs(got-mid)/mid)
	}
	deadline := time.Now().Add(duration)
	for time.Now().Before(deadline) {
		time.Sleep(25 * time.Millisecond)
		check()
	}
	close(stop)
	wg.Wait()
	check()
	if readings < 10 {
		t.Fatalf("only %d readings", readings)
	}
	t.Logf("%d readings, %d requests, worst relative error %.4f %%", readings, len(spans), worst*100)
}

// TestInflightTimeLongRequest checks that a request contributes while it is
// still running: with only one request in flight, the counter grows by the
// time between two collections.
func TestInflightTimeLongRequest(t *testing.T) {
	m := newManual(t)
	release := make(chan struct{})
	var entered atomic.Bool
	h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered.Store(true)
		<-release
	}), WithMeterProvider(m.provider))
	srv := httptest.NewServer(h)
	defer srv.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := srv.Client().Get(srv.URL)
		if err == nil {
			resp.Body.Close()
		}
	}()
	waitFor(t, "the request to enter the handler", entered.Load)

	// read collects; the clock of the reading lies between the two
	// instants it returns.
	read := func() (v float64, before, after time.Time) {
		before = time.Now()
		v, ok := floatSum(m.collect(t), inFlightTimeName)
		if !ok {
			t.Fatalf("%s not reported", inFlightTimeName)
		}
		return v, before, time.Now()
	}
	// With exactly one request in flight, the growth between two readings
	// is the time between their clocks, to a tick (16.384 µs) of
	// rounding: bounds that hold however busy the machine is.
	const tick = 16.384e-6
	v0, b0, a0 := read()
	for i := range 4 {
		time.Sleep(50 * time.Millisecond) // time in flight to measure
		v1, b1, a1 := read()
		lo, hi := b1.Sub(a0).Seconds()-tick, a1.Sub(b0).Seconds()+tick
		if d := v1 - v0; d < lo || d > hi {
			t.Errorf("collection %d: grew by %.6f s with one request in flight, want between %.6f and %.6f s", i, d, lo, hi)
		}
		v0, b0, a0 = v1, b1, a1
	}
	close(release)
	<-done
	waitFor(t, "in-flight to return to 0", func() bool { return m.inFlight(t) == 0 })
	a, _, _ := read()
	time.Sleep(20 * time.Millisecond)
	if b, _, _ := read(); b != a {
		t.Errorf("idle counter moved from %v to %v", a, b)
	}
}

// TestInflightTimeMonotonic hammers one middleware from several goroutines
// while collecting as fast as possible: no collection may be lower than the
// one before, for the total and for each route.
func TestInflightTimeMonotonic(t *testing.T) {
	m := newManual(t)
	h := mustHandler(t, okHandler, WithMeterProvider(m.provider),
		WithRouteGroups(RouteGroup{`^/a`, "a"}, RouteGroup{`^/b`, "b"}))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 4 {
		path := []string{"/a", "/b", "/c", "/a"}[i]
		wg.Go(func() {
			r := mustRequest("GET", path)
			for {
				select {
				case <-stop:
					return
				default:
					h.ServeHTTP(discard{}, r)
				}
			}
		})
	}
	prev := map[string]float64{}
	deadline := time.Now().Add(300 * time.Millisecond)
	n := 0
	for time.Now().Before(deadline) {
		rm := m.collect(t)
		cur := map[string]float64{}
		cur[""], _ = floatSum(rm, inFlightTimeName)
		for _, r := range []string{"a", "b", otherValue} {
			cur[r], _ = floatSum(rm, inFlightTimeByRouteName, routeKey.String(r))
		}
		for k, v := range cur {
			if v < prev[k] {
				t.Fatalf("collection %d: route %q went from %v down to %v", n, k, prev[k], v)
			}
		}
		prev = cur
		n++
	}
	close(stop)
	wg.Wait()
	if prev[""] <= 0 {
		t.Fatalf("no request-time recorded after %d collections", n)
	}
	t.Logf("%d collections", n)
}

// TestInflightTimeScrape checks the Prometheus names and that the total is
// the sum of the routes, through a real scrape.
func TestInflightTimeScrape(t *testing.T) {
	tests := []struct {
		name      string
		opts      []Option
		wantTotal bool
		wantRoute bool
	}{
		{"default", nil, true, false},
		{"with routes", []Option{WithRouteGroups(RouteGroup{`^/a`, "a"})}, true, true},
		{"off", []Option{WithoutInFlightTime(), WithRouteGroups(RouteGroup{`^/a`, "a"})}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newScraped(t)
			release := make(chan struct{})
			var entered atomic.Int32
			h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				entered.Add(1)
				<-release
			}), append([]Option{WithMeterProvider(s.provider)}, tc.opts...)...)
			srv := httptest.NewServer(h)
			defer srv.Close()
			var wg sync.WaitGroup
			for _, p := range []string{"/a", "/x"} {
				wg.Go(func() {
					resp, err := srv.Client().Get(srv.URL + p)
					if err == nil {
						resp.Body.Close()
					}
				})
			}
			waitFor(t, "two requests in flight", func() bool { return entered.Load() == 2 })
			time.Sleep(10 * time.Millisecond)
			fams := s.scrape(t)
			close(release)
			wg.Wait()

			total, ok := promValue(fams, "runway_requests_in_flight_time_seconds_total")
			if ok != tc.wantTotal {
				t.Fatalf("runway_requests_in_flight_time_seconds_total present = %v, want %v", ok, tc.wantTotal)
			}
			if ok && total < 0.02 {
				t.Errorf("total = %v s with two requests in flight for over 10 ms", total)
			}
			a, okA := promValue(fams, "runway_requests_in_flight_time_by_route_seconds_total", "http_route", "a")
			o, okO := promValue(fams, "runway_requests_in_flight_time_by_route_seconds_total", "http_route", otherValue)
			if okA != tc.wantRoute || okO != tc.wantRoute {
				t.Fatalf("by-route series present = %v/%v, want %v", okA, okO, tc.wantRoute)
			}
			if tc.wantRoute && math.Abs(a+o-total) > 1e-9 {
				t.Errorf("routes add up to %v, total is %v", a+o, total)
			}
		})
	}
}
