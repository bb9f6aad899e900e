package exporter

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/otel-runway/runway/instrument"
)

// Setup is the one-call set-up: it builds an [Exporter] from opts (see
// [New]) and returns [Exporter.Handler] of app with [Exporter.Shutdown].
//
// shutdown is [Exporter.Shutdown]: call it after the HTTP server has drained,
// so the last values are flushed. On error nothing is left running.
func Setup(ctx context.Context, app http.Handler, opts ...Option) (handler http.Handler, shutdown func(context.Context) error, err error) {
	if app == nil {
		return nil, nil, fmt.Errorf("exporter: Setup: nil handler: %w", ErrInvalidOption)
	}
	e, err := New(ctx, opts...)
	if err != nil {
		return nil, nil, err
	}
	handler, err = e.Handler(app)
	if err != nil {
		return nil, nil, errors.Join(err, e.Shutdown(ctx))
	}
	return handler, e.Shutdown, nil
}

// Handler wraps app with runway's middleware recording into the exporter's
// MeterProvider (middleware options through [WithInstrumentOptions]), and
// serves the Prometheus metrics at the exact path /metrics of the returned
// handler, unless [WithMetricsAddr] moves them to their own listener or
// Prometheus is disabled. /metrics is answered before the middleware, so a
// scrape is never counted as a request; every other path, /metrics/
// included, goes to the middleware and app. Each call builds a new
// middleware, released by [Exporter.Shutdown]; call it once per
// application. After Shutdown it returns an error and registers nothing.
func (e *Exporter) Handler(app http.Handler) (http.Handler, error) {
	if app == nil {
		return nil, fmt.Errorf("exporter: Handler: nil handler: %w", ErrInvalidOption)
	}
	errClosed := errors.New("exporter: Handler: the exporter is shut down")
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return nil, errClosed
	}
	instOpts := append(e.instrumentOpts[:len(e.instrumentOpts):len(e.instrumentOpts)],
		instrument.WithMeterProvider(e.MeterProvider()))
	middleware, err := instrument.NewMiddleware(instOpts...)
	if err != nil {
		return nil, fmt.Errorf("exporter: WithInstrumentOptions: %w", err)
	}
	e.mu.Lock()
	closed = e.closed // Shutdown may have run meanwhile
	if !closed {
		e.middlewares = append(e.middlewares, middleware)
	}
	e.mu.Unlock()
	if closed {
		return nil, errors.Join(errClosed, middleware.Close())
	}
	instrumented := middleware.Wrap(app)

	metrics := e.MetricsHandler()
	if metrics == nil || e.MetricsAddr() != "" {
		return instrumented, nil
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == MetricsPath {
			metrics.ServeHTTP(w, r)
			return
		}
		instrumented.ServeHTTP(w, r)
	}), nil
}
