package exporter

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otel-runway/runway/instrument"
)

// outageTiming returns how long the collector is out and the export
// interval: 60 s at the default 5 s interval with RUNWAY_SOAK set, else a
// CI variant of 6 s at 500 ms, the same twelve intervals.
func outageTiming() (outage, interval time.Duration) {
	if os.Getenv("RUNWAY_SOAK") != "" {
		return 60 * time.Second, defaultExportInterval
	}
	return 6 * time.Second, 500 * time.Millisecond
}

// blackhole accepts TCP connections and never answers: a collector that
// hangs. Close closes the listener and every connection it holds.
type blackhole struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	done  chan struct{}
}

func newBlackhole(t *testing.T) *blackhole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(b.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns = append(b.conns, c)
			b.mu.Unlock()
		}
	}()
	t.Cleanup(b.Close)
	return b
}

func (b *blackhole) Close() {
	b.ln.Close()
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		c.Close()
	}
	b.conns = nil
}

func (b *blackhole) accepted() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.conns)
}

// requestsTotal sums every point of runway.requests in the last export
// the receiver got.
func (r *receiver) requestsTotal() (int64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.requests) == 0 {
		return 0, false
	}
	var n int64
	found := false
	for _, rm := range r.requests[len(r.requests)-1].GetResourceMetrics() {
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				if m.GetName() == "runway.requests" {
					found = true
					for _, dp := range m.GetSum().GetDataPoints() {
						n += dp.GetAsInt()
					}
				}
			}
		}
	}
	return n, found
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p)]
}

// TestCollectorOutage runs an application whose OTLP collector is a
// blackhole (it accepts connections and never answers) for twelve export
// intervals, under load, beside a twin application with no exporter in
// the same process, their requests interleaved. The outage must not show
// in the application's p99 latency (within 5 % of the twin, in one of up to
// three such periods with the collector still out), the heap must
// stay flat, exporter errors must reach otel.Handle at most about once per
// interval, and once a collector answers on the same address it must
// receive the final totals within two intervals.
func TestCollectorOutage(t *testing.T) {
	collectorOutage(t, protocolGRPC)
}

// collectorOutage is TestCollectorOutage over OTLP protocol.
func collectorOutage(t *testing.T, protocol string) {
	if testing.Short() {
		t.Skip("a collector outage under load for twelve export intervals: full suite only")
	}
	outage, interval := outageTiming()
	var handled atomic.Int64
	hookOtelErrors(t, func(error) { handled.Add(1) })

	hole := newBlackhole(t)
	addr := hole.ln.Addr().String()
	withOTLP, err := New(context.Background(), noEnv, WithOTLP(addr), WithOTLPProtocol(Protocol(protocol)), WithExportInterval(interval), WithServiceInstanceID("outage"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = withOTLP.Shutdown(ctx)
	}()
	baseline, err := New(context.Background(), setEnv(t, map[string]string{envMetricsExporter: "none"}))
	if err != nil {
		t.Fatal(err)
	}
	defer baseline.Shutdown(context.Background())

	work := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Millisecond) // a short I/O wait, as a real handler has
		io.WriteString(w, "ok")
	})
	serve := func(e *Exporter) *httptest.Server {
		mw, err := instrument.NewMiddleware(instrument.WithMeterProvider(e.MeterProvider()))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(mw.Wrap(work))
		t.Cleanup(srv.Close)
		return srv
	}
	servers := [2]*httptest.Server{serve(baseline), serve(withOTLP)}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()

	const workers = 8
	var (
		failures  atomic.Int64
		heap      []uint64
		latencies [2][]time.Duration // of the last period
		otlpTotal int                // requests served beside the exporter, every period
		p50, p99  [2]time.Duration
		ratio     float64
	)
	// runLoad serves the interleaved load for one outage period and
	// samples the heap meanwhile.
	runLoad := func() (lat [2][]time.Duration) {
		var mu sync.Mutex
		stop := time.Now().Add(outage)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var local [2][]time.Duration
				for i := w; time.Now().Before(stop); i++ {
					side := i % 2 // interleave: each worker alternates
					t0 := time.Now()
					resp, err := client.Get(servers[side].URL)
					if err != nil {
						failures.Add(1)
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					local[side] = append(local[side], time.Since(t0))
				}
				mu.Lock()
				lat[0] = append(lat[0], local[0]...)
				lat[1] = append(lat[1], local[1]...)
				mu.Unlock()
			}()
		}
		// Sample the heap while the collector is out.
		for time.Now().Before(stop) {
			time.Sleep(outage / 4)
			heap = append(heap, heapAfterGC())
		}
		wg.Wait()
		return lat
	}
	// The p99 comparison is a ratio between twins in one process, but a
	// p99 of a few seconds of requests on a busy machine still moves with
	// whatever else runs: a period whose ratio is off is followed by
	// another one, the collector still out, at most outagePeriods in all.
	// An exporter that slows the application does so in every period.
	const outagePeriods = 3
	heap = append(heap, heapAfterGC())
	outageStart := time.Now()
	for period := 1; ; period++ {
		latencies = runLoad()
		otlpTotal += len(latencies[1])
		p99 = [2]time.Duration{percentile(latencies[0], 0.99), percentile(latencies[1], 0.99)}
		p50 = [2]time.Duration{percentile(latencies[0], 0.5), percentile(latencies[1], 0.5)}
		ratio = float64(p99[1]) / float64(p99[0])
		t.Logf("%s outage period %d of %v at interval %v: %d + %d requests; p50 %v vs %v; p99 no exporter %v, collector out %v (ratio %.3f)",
			protocol, period, outage, interval, len(latencies[0]), len(latencies[1]), p50[0], p50[1], p99[0], p99[1], ratio)
		if ratio <= 1.05 || period == outagePeriods {
			break
		}
	}
	outageTook := time.Since(outageStart)
	errorsDuringOutage := handled.Load()
	heap = append(heap, heapAfterGC())

	if failures.Load() > 0 {
		t.Errorf("%d application requests failed during the outage", failures.Load())
	}
	if hole.accepted() == 0 {
		t.Fatal("the exporter never connected to the blackhole")
	}
	if ratio > 1.05 {
		t.Errorf("p99 with the collector out is more than 5 %% above the no-exporter twin in each of %d periods (%.1f %% in the last)",
			outagePeriods, (ratio-1)*100)
	}

	var heapKiB []string
	for _, h := range heap {
		heapKiB = append(heapKiB, fmt.Sprintf("%d", h>>10))
	}
	// heap[0] is before any request; from the first sample under load
	// on, the heap must stay flat.
	growth := int64(heap[len(heap)-1]) - int64(heap[1])
	t.Logf("heap after GC (KiB): %s before the load, then %v during the outage (%+d KiB from the first sample under load)",
		heapKiB[0], heapKiB[1:], growth>>10)
	if growth > 1<<20 {
		t.Errorf("heap grew by %d KiB during the outage, want at most 1024 KiB", growth>>10)
	}

	maxErrors := int64(outageTook/interval) + 2
	t.Logf("otel.Handle errors during the outage: %d (bound %d, one per interval); %d connections accepted by the blackhole",
		errorsDuringOutage, maxErrors, hole.accepted())
	if errorsDuringOutage == 0 {
		t.Error("the outage was never reported to otel.Handle")
	}
	if errorsDuringOutage > maxErrors {
		t.Errorf("%d errors reported in %v, want at most %d (one per interval)", errorsDuringOutage, outageTook.Round(time.Millisecond), maxErrors)
	}

	// Recovery: a collector answers on the same address.
	want := int64(otlpTotal)
	hole.Close()
	var r *receiver
	if protocol == protocolHTTP {
		r = startHTTPReceiver(t, addr, nil).receiver
	} else {
		r = startReceiver(t, addr)
	}
	took := eventually(t, 20*interval, "the final totals at the recovered collector", func() bool {
		n, ok := r.requestsTotal()
		return ok && n == want
	})
	t.Logf("collector back: final totals (%d requests) delivered %v after it started (interval %v)", want, took.Round(time.Millisecond), interval)
	if took > 2*interval {
		t.Errorf("delivery took %v after recovery, want within two intervals (%v)", took, 2*interval)
	}
}

// heapAfterGC returns the live heap after a full collection.
func heapAfterGC() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
