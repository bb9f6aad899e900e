package exporter

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/otel-runway/runway/instrument"
)

// TestShutdownReleasesMiddlewares checks that Shutdown closes the
// middlewares Handler built: the peak tracker they share on the provider
// is released, so a middleware with another peak window is accepted on
// the same provider afterwards (while one is open it is refused).
func TestShutdownReleasesMiddlewares(t *testing.T) {
	e, err := New(context.Background(), setEnv(t, map[string]string{envMetricsExporter: "none"}),
		WithInstrumentOptions(instrument.WithPeakInFlight(time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Handler(http.NotFoundHandler()); err != nil {
		t.Fatal(err)
	}
	other := []instrument.Option{instrument.WithMeterProvider(e.MeterProvider()), instrument.WithPeakInFlight(time.Second)}
	if _, err := instrument.NewMiddleware(other...); err == nil {
		t.Fatal("a second peak window on the provider was accepted while Handler's middleware is open")
	}
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mw, err := instrument.NewMiddleware(other...)
	if err != nil {
		t.Fatalf("after Shutdown, Handler's middleware still holds the provider: %v", err)
	}
	mw.Close()
}

// blockingRegistration is a collector whose registration holds the
// registry's lock until release is closed: a Gather waits for it, so a
// scrape can be held inside the handler, before it collects anything.
type blockingRegistration struct {
	locked  chan struct{} // closed once the registry's lock is held
	release chan struct{}
}

func (b blockingRegistration) Describe(ch chan<- *prometheus.Desc) {
	// Register reads the descriptions only once it holds the lock, and
	// its channel has a small buffer: once 100 are sent, it holds it.
	for i := range 100 {
		ch <- prometheus.NewDesc(fmt.Sprintf("blocking_%d", i), "held", nil, nil)
	}
	close(b.locked)
	<-b.release
}

func (blockingRegistration) Collect(chan<- prometheus.Metric) {}

// TestShutdownCompletesScrapeInProgress holds a scrape of the separate
// listener inside the metrics handler, calls Shutdown, and lets the scrape
// go on once Shutdown has closed the listener: the scrape must get a full,
// parseable response with the exporter's metrics, so the metrics server
// is stopped before the MeterProvider.
func TestShutdownCompletesScrapeInProgress(t *testing.T) {
	reg := prometheus.NewRegistry()
	e, err := New(context.Background(), noEnv, WithPrometheus(), WithPrometheusRegistry(reg), WithMetricsAddr("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.MeterProvider().Meter("shutdown-test").Int64Counter("scraped.during.shutdown")
	if err != nil {
		t.Fatal(err)
	}
	c.Add(context.Background(), 7)
	addr := e.MetricsAddr()

	hold := blockingRegistration{locked: make(chan struct{}), release: make(chan struct{})}
	registered := make(chan error, 1)
	go func() { registered <- reg.Register(hold) }()
	<-hold.locked
	type result struct {
		resp *http.Response
		err  error
	}
	scraped := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/metrics")
		scraped <- result{resp, err}
	}()
	eventually(t, 5*time.Second, "scrape held in the handler", func() bool {
		buf := make([]byte, 1<<20)
		return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "(*Registry).Gather")
	})

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- e.Shutdown(ctx)
	}()
	eventually(t, 5*time.Second, "listener closed by Shutdown", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	close(hold.release)
	if err := <-registered; err != nil {
		t.Fatal(err)
	}

	r := <-scraped
	if r.err != nil {
		t.Fatalf("the scrape in progress got no response: %v", r.err)
	}
	defer r.resp.Body.Close()
	if r.resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", r.resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r.resp.Body)
	if err != nil {
		t.Fatalf("the scrape in progress is not parseable: %v", err)
	}
	if _, ok := families["scraped_during_shutdown_total"]; !ok {
		t.Fatalf("the scrape in progress lacks the exporter's metrics (has %v)", familyNames(families))
	}
	if got := findSeries(t, families, "scraped_during_shutdown_total", nil).GetCounter().GetValue(); got != 7 {
		t.Errorf("scraped_during_shutdown_total = %v, want 7", got)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestHandlerAfterShutdown: Handler on an exporter that is shut down
// fails, and registers nothing on the provider.
func TestHandlerAfterShutdown(t *testing.T) {
	e, err := New(context.Background(), noEnv, WithPrometheus())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	h, err := e.Handler(http.NotFoundHandler())
	if err == nil || h != nil || !strings.Contains(err.Error(), "shut down") {
		t.Fatalf("Handler after Shutdown = %v, %v; want an error", h, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.middlewares) != 0 {
		t.Errorf("%d middlewares registered after Shutdown", len(e.middlewares))
	}
}
