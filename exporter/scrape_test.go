package exporter

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/otel-runway/runway/instrument"
)

// burn spins the CPU for d.
func burn(d time.Duration) {
	for t0 := time.Now(); time.Since(t0) < d; {
		for i := 0; i < 1000; i++ {
			_ = i * i
		}
	}
}

// TestScrapeUnderCPUSaturation saturates every CPU with application
// handlers that burn CPU, and meanwhile scrapes the same metrics from the
// separate listener (WithMetricsAddr) and from /metrics on the
// application's own server, alternately. It states both p99s and checks
// that the separate listener stays under 1 s.
func TestScrapeUnderCPUSaturation(t *testing.T) {
	if testing.Short() {
		t.Skip("saturates every CPU for seconds: full suite only")
	}
	e, err := New(context.Background(), noEnv, WithPrometheus(), WithMetricsAddr("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	mw, err := instrument.NewMiddleware(instrument.WithMeterProvider(e.MeterProvider()))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", e.MetricsHandler())
	mux.Handle("/", mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		burn(5 * time.Millisecond)
	})))
	app := httptest.NewServer(mux)
	defer app.Close()

	stop := time.Now().Add(4 * time.Second)
	load := 4 * runtime.GOMAXPROCS(0)
	loadClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: load}}
	defer loadClient.CloseIdleConnections()
	var wg sync.WaitGroup
	var served [1]int64
	var mu sync.Mutex
	for range load {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := int64(0)
			for time.Now().Before(stop) {
				resp, err := loadClient.Get(app.URL + "/work")
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				n++
			}
			mu.Lock()
			served[0] += n
			mu.Unlock()
		}()
	}

	targets := [2]string{"http://" + e.MetricsAddr() + MetricsPath, app.URL + MetricsPath}
	names := [2]string{"separate listener", "application mux"}
	scrapeClient := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer scrapeClient.CloseIdleConnections()
	var lat [2][]time.Duration
	time.Sleep(100 * time.Millisecond) // let the load build up
	for i := 0; time.Now().Before(stop); i++ {
		side := i % 2
		t0 := time.Now()
		resp, err := scrapeClient.Get(targets[side])
		if err != nil {
			t.Fatalf("scrape %s: %v", names[side], err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("scrape %s: status %d", names[side], resp.StatusCode)
		}
		lat[side] = append(lat[side], time.Since(t0))
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()

	for side := range 2 {
		t.Logf("%-17s %3d scrapes under %d CPU-burning clients on %d CPUs: p50 %v, p99 %v, max %v",
			names[side], len(lat[side]), load, runtime.GOMAXPROCS(0),
			percentile(lat[side], 0.5).Round(time.Microsecond), percentile(lat[side], 0.99).Round(time.Microsecond),
			percentile(lat[side], 1).Round(time.Microsecond))
	}
	t.Logf("application requests served meanwhile: %d", served[0])
	if p99 := percentile(lat[0], 0.99); p99 > time.Second {
		t.Errorf("separate listener p99 %v under CPU saturation, want under 1 s", p99)
	}
}
