package instrument

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"
	"weak"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// twoReaders is an SDK MeterProvider with two ManualReaders, as an app
// with a Prometheus exporter and an OTLP periodic reader has.
type twoReaders struct {
	provider *sdkmetric.MeterProvider
	a, b     *sdkmetric.ManualReader
}

func newTwoReaders(t *testing.T) *twoReaders {
	a, b := sdkmetric.NewManualReader(), sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(a), sdkmetric.WithReader(b))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return &twoReaders{provider: mp, a: a, b: b}
}

func peakOf(t *testing.T, r *sdkmetric.ManualReader) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	v, ok := gaugeValue(rm, peakInFlightName)
	if !ok {
		t.Fatalf("%s not reported", peakInFlightName)
	}
	return v
}

// burst runs n requests at once through h and returns once they all ended.
func burst(t *testing.T, h http.Handler, n int) {
	t.Helper()
	var entered, done sync.WaitGroup
	release := make(chan struct{})
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered.Done()
		<-release
	})
	entered.Add(n)
	for range n {
		done.Go(func() {
			h.(*handler).serveWith(inner, discard{}, mustRequest("GET", "/"))
		})
	}
	entered.Wait()
	close(release)
	done.Wait()
}

// serveWith serves r through the middleware of h with next as the handler.
func (h *handler) serveWith(next http.Handler, w http.ResponseWriter, r *http.Request) {
	(&handler{m: h.m, next: next}).ServeHTTP(w, r)
}

func TestPeakInFlight(t *testing.T) {
	t.Run("window 0: since the previous collection by any reader", func(t *testing.T) {
		p := newTwoReaders(t)
		h := mustHandler(t, okHandler, WithMeterProvider(p.provider), WithPeakInFlight(0))
		burst(t, h, 5)
		if got := peakOf(t, p.a); got != 5 {
			t.Fatalf("reader A after a burst of 5: peak %d", got)
		}
		// Documented: the window is shared, so B sees only what happened
		// since A's collection.
		if got := peakOf(t, p.b); got != 0 {
			t.Fatalf("reader B after A collected: peak %d, want 0 (shared window)", got)
		}
		burst(t, h, 3)
		if got := peakOf(t, p.b); got != 3 {
			t.Fatalf("reader B after a burst of 3: peak %d", got)
		}
		if got := peakOf(t, p.a); got != 0 {
			t.Fatalf("reader A after B collected: peak %d, want 0", got)
		}
	})
	t.Run("window: each reader sees every burst since its own collection", func(t *testing.T) {
		const window = 300 * time.Millisecond
		p := newTwoReaders(t)
		h := mustHandler(t, okHandler, WithMeterProvider(p.provider), WithPeakInFlight(window))
		burst(t, h, 5)
		if a, b := peakOf(t, p.a), peakOf(t, p.b); a != 5 || b != 5 {
			t.Fatalf("after a burst of 5: A=%d B=%d, want both 5", a, b)
		}
		burst(t, h, 2)
		if b := peakOf(t, p.b); b != 5 {
			t.Fatalf("B within the window: %d, want 5 (the older burst is still in the window)", b)
		}
		time.Sleep(window + 50*time.Millisecond) // let both bursts leave the window
		burst(t, h, 2)
		if a, b := peakOf(t, p.a), peakOf(t, p.b); a != 2 || b != 2 {
			t.Fatalf("after the window passed and a burst of 2: A=%d B=%d, want both 2", a, b)
		}
	})
	t.Run("a request still in flight counts", func(t *testing.T) {
		m := newManual(t)
		release := make(chan struct{})
		entered := make(chan struct{})
		h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			<-release
		}), WithMeterProvider(m.provider), WithPeakInFlight(0))
		go h.ServeHTTP(discard{}, mustRequest("GET", "/"))
		<-entered
		for range 2 {
			if v, _ := gaugeValue(m.collect(t), peakInFlightName); v != 1 {
				t.Fatalf("peak with one long request = %d, want 1", v)
			}
		}
		close(release)
	})
}

func TestPeakInFlightOption(t *testing.T) {
	if _, err := NewMiddleware(WithPeakInFlight(-time.Second)); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("err = %v, want ErrInvalidOption", err)
	}
	m := newManual(t)
	mustHandler(t, okHandler, WithMeterProvider(m.provider)).ServeHTTP(discard{}, mustRequest("GET", "/"))
	if _, ok := findMetric(m.collect(t), peakInFlightName); ok {
		t.Errorf("%s reported without WithPeakInFlight", peakInFlightName)
	}
}

// gaugeValue returns the value of the Int64 gauge named name for exactly
// the attributes attrs.
func gaugeValue(rm metricdata.ResourceMetrics, name string, attrs ...attribute.KeyValue) (int64, bool) {
	m, ok := findMetric(rm, name)
	if !ok {
		return 0, false
	}
	want := attribute.NewSet(attrs...)
	for _, dp := range m.Data.(metricdata.Gauge[int64]).DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp.Value, true
		}
	}
	return 0, false
}

// TestPeakWindowFixedCost: a long window keeps a fixed-size structure.
// A day's window collected every second for 28 hours allocates nothing
// (it used to keep one record per collection in the window: 86,400), and
// the peak still lasts the window, give or take a slot.
func TestPeakWindowFixedCost(t *testing.T) {
	const window = 24 * time.Hour
	t0 := time.Now()
	p := newPeakWindow(window, t0)
	p.note(7)
	at := func(d time.Duration) int64 { return p.collect(t0.Add(d)) }
	if got := at(time.Second); got != 7 {
		t.Fatalf("peak after a burst of 7: %d", got)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	d := 2 * time.Second
	for ; d < window; d += time.Second {
		if got := at(d); got != 7 {
			t.Fatalf("peak at %v, within the window of the burst: %d, want 7", d, got)
		}
	}
	for ; d < window+time.Second+window/peakSlots; d += time.Second {
		at(d) // the burst leaves the window within a slot
	}
	for ; d < 28*time.Hour; d += time.Second {
		if got := at(d); got != 0 {
			t.Fatalf("peak at %v, past the window and a slot after the burst: %d, want 0", d, got)
		}
	}
	runtime.ReadMemStats(&after)
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 64<<10 {
		t.Errorf("%d collections with a window of %v allocated %d B, want a fixed-size structure", int(d/time.Second), window, grown)
	}
}

// TestPeakWindowEdges checks the slot arithmetic on a window of 64 s
// (slots of 1 s): a segment is reported while it closed less than the
// window (plus at most one slot) before the collection.
func TestPeakWindowEdges(t *testing.T) {
	t0 := time.Now()
	p := newPeakWindow(64*time.Second, t0)
	at := func(d time.Duration) int64 { return p.collect(t0.Add(d)) }
	p.note(5)
	if got := at(10 * time.Second); got != 5 {
		t.Fatalf("at 10 s: %d, want 5", got)
	}
	p.note(3)
	if got := at(40 * time.Second); got != 5 {
		t.Fatalf("at 40 s: %d, want 5 (the burst closed 30 s ago)", got)
	}
	if got := at(74 * time.Second); got != 5 {
		t.Fatalf("at 74 s: %d, want 5 (the burst closed exactly a window ago)", got)
	}
	if got := at(75*time.Second + 500*time.Millisecond); got != 3 {
		t.Fatalf("at 75.5 s: %d, want 3 (the burst of 5 is past the window and its slot)", got)
	}
	if got := at(105 * time.Second); got != 0 {
		t.Fatalf("at 105 s: %d, want 0", got)
	}
}

// TestPeakDoesNotPinProvider: a MeterProvider dropped with a middleware
// that has WithPeakInFlight and was never closed is garbage collected, and
// the shared table forgets it (the table used to hold the provider until
// Close).
func TestPeakDoesNotPinProvider(t *testing.T) {
	var provider weak.Pointer[sdkmetric.MeterProvider]
	var key peakKey
	func() {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		provider = weak.Make(mp)
		mw, err := NewMiddleware(WithMeterProvider(mp), WithPeakInFlight(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		mw.Wrap(okHandler).ServeHTTP(discard{}, mustRequest("GET", "/"))
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		if v, _ := gaugeValue(rm, peakInFlightName); v != 1 {
			t.Fatalf("peak = %d, want 1", v)
		}
		key = mw.m.rec.peak.key
		peaks.mu.Lock()
		_, ok := peaks.byKey[key]
		peaks.mu.Unlock()
		if !ok {
			t.Fatal("the tracker is not in the shared table")
		}
	}()
	waitFor(t, "the provider to be collected and forgotten", func() bool {
		runtime.GC()
		peaks.mu.Lock()
		defer peaks.mu.Unlock()
		_, ok := peaks.byKey[key]
		return provider.Value() == nil && !ok
	})
}
