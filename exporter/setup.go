package exporter

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/otel-runway/runway/instrument"
)

// Setup is the one-call set-up: it builds an [Exporter] from opts (see
// [New]), wraps app with runway's middleware recording into the exporter's
// MeterProvider (middleware options through [WithInstrumentOptions]), and
// serves the Prometheus metrics at the exact path /metrics of the returned
// handler, unless [WithMetricsAddr] moves them to their own listener or
// Prometheus is disabled. /metrics is answered before the middleware, so a
// scrape is never counted as a request; every other path, /metrics/ included,
// goes to the middleware and app.
//
// shutdown is [Exporter.Shutdown]: call it after the HTTP server has drained,
// so the last values are flushed. On error nothing is left running.
func Setup(ctx context.Context, app http.Handler, opts ...Option) (handler http.Handler, shutdown func(context.Context) error, err error) {
	if app == nil {
		return nil, nil, fmt.Errorf("%w: Setup: nil handler", ErrInvalidOption)
	}
	c, err := newConfig(opts)
	if err != nil {
		return nil, nil, err
	}
	e, err := newExporter(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	instOpts := append(c.instrumentOpts[:len(c.instrumentOpts):len(c.instrumentOpts)],
		instrument.WithMeterProvider(e.MeterProvider()))
	middleware, err := instrument.NewMiddleware(instOpts...)
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("exporter: WithInstrumentOptions: %w", err), e.Shutdown(ctx))
	}
	instrumented := middleware(app)

	metrics := e.MetricsHandler()
	if metrics == nil || e.MetricsAddr() != "" {
		return instrumented, e.Shutdown, nil
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == MetricsPath {
			metrics.ServeHTTP(w, r)
			return
		}
		instrumented.ServeHTTP(w, r)
	}), e.Shutdown, nil
}
