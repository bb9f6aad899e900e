package exporter

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/otel-runway/runway/instrument"
)

// TestShutdownReleasesMiddlewares checks that Shutdown closes the
// middlewares Handler built: the peak tracker they share on the provider
// is released, so a middleware with another peak window is accepted on
// the same provider afterwards (while one is open it is refused).
func TestShutdownReleasesMiddlewares(t *testing.T) {
	e, err := New(context.Background(), mapEnv(map[string]string{envMetricsExporter: "none"}),
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
