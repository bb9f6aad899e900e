package exporter

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/otel-runway/runway/instrument"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	promexporter "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// MetricsPath is the path on which the Prometheus metrics are served, on the
// application by [Setup] and on the separate listener of [WithMetricsAddr].
const MetricsPath = "/metrics"

// Exporter owns an SDK MeterProvider and the readers that get its metrics
// out: Prometheus pull, OTLP push (gRPC or HTTP), or both. Create it with
// [New] and stop it with [Exporter.Shutdown].
type Exporter struct {
	provider *sdkmetric.MeterProvider
	metrics  http.Handler // nil when Prometheus is disabled

	server     *http.Server // nil without WithMetricsAddr
	listener   net.Listener
	serverDone chan struct{}

	// instrumentOpts are the middleware options of WithInstrumentOptions,
	// used by Handler.
	instrumentOpts []instrument.Option

	// middlewares are those Handler built, closed by Shutdown, after
	// which closed is set.
	mu          sync.Mutex
	middlewares []*instrument.Middleware
	closed      bool

	shutdownOnce sync.Once
	shutdownErr  error
}

// New builds an [Exporter] from opts, the OTEL_* environment variables
// (options win) and the defaults; see the package documentation for the
// full list. It returns an error wrapping [ErrInvalidOption] or
// [ErrInvalidEnv] naming every bad option or variable, or [ErrListen] if the
// separate metrics listener cannot be bound. New does not wait for an OTLP
// collector: one that is down or not yet started is not an error.
func New(ctx context.Context, opts ...Option) (*Exporter, error) {
	c, err := newConfig(opts, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	return newExporter(ctx, c)
}

// newExporter builds an Exporter from a resolved configuration.
func newExporter(ctx context.Context, c *config) (*Exporter, error) {
	res, err := newResource(ctx, c)
	if err != nil {
		return nil, err
	}

	e := &Exporter{instrumentOpts: c.instrumentOpts}
	mpOpts := []sdkmetric.Option{sdkmetric.WithResource(res)}
	if c.exemplarFilter != nil {
		mpOpts = append(mpOpts, sdkmetric.WithExemplarFilter(c.exemplarFilter))
	}

	// Load the listener's web configuration and bind first: these are the
	// steps most likely to fail, and they have nothing to undo.
	var webCfg *metricsWeb
	if c.metricsWeb.file != "" {
		if webCfg, err = newMetricsWeb(c.metricsWeb.file); err != nil {
			sentinel := ErrInvalidOption
			if c.metricsWeb.source == envMetricsWebConfig {
				sentinel = ErrInvalidEnv
			}
			return nil, fmt.Errorf("exporter: %s: web config file %q: %w: %w", c.metricsWeb.source, c.metricsWeb.file, err, sentinel)
		}
	}
	if c.metricsAddr != "" {
		ln, err := net.Listen("tcp", c.metricsAddr)
		if err != nil {
			return nil, fmt.Errorf("%w: WithMetricsAddr(%q): %w", ErrListen, c.metricsAddr, err)
		}
		e.listener = ln
	}

	var otlpExp sdkmetric.Exporter
	if c.otlp {
		otlpExp, err = newOTLPExporter(ctx, c)
		if err != nil {
			e.closeListener()
			return nil, fmt.Errorf("exporter: otlp: %w", err)
		}
		mpOpts = append(mpOpts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(otlpExp,
			sdkmetric.WithInterval(c.interval),
			sdkmetric.WithTimeout(c.timeout),
		)))
	}

	if c.prometheus {
		reg := c.registry
		if reg == nil {
			reg = prometheus.NewRegistry()
		}
		promOpts := []promexporter.Option{promexporter.WithRegisterer(reg)}
		if c.withoutScope {
			promOpts = append(promOpts, promexporter.WithoutScopeInfo())
		}
		reader, err := promexporter.New(promOpts...)
		if err != nil {
			e.closeListener()
			if otlpExp != nil {
				_ = otlpExp.Shutdown(ctx)
			}
			return nil, fmt.Errorf("exporter: prometheus: %w", err)
		}
		mpOpts = append(mpOpts, sdkmetric.WithReader(reader))
		e.metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
			ErrorLog:      otelErrorLog{},
			ErrorHandling: promhttp.ContinueOnError,
		})
	}

	e.provider = sdkmetric.NewMeterProvider(mpOpts...)
	if e.listener != nil {
		e.serve(webCfg)
	}
	return e, nil
}

// serve starts the separate metrics listener, secured by webCfg when it is
// not nil. Only the exact path /metrics is served.
func (e *Exporter) serve(webCfg *metricsWeb) {
	metrics := e.metrics
	var handler http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != MetricsPath {
			http.NotFound(w, r)
			return
		}
		metrics.ServeHTTP(w, r)
	})
	if webCfg != nil {
		handler = webCfg.handler(handler)
	}
	e.server = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    8 << 10,
	}
	serve := e.server.Serve
	if webCfg != nil && webCfg.cur.tls != nil {
		e.server.TLSConfig = webCfg.tlsConfig()
		if !webCfg.h2 {
			e.server.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
		}
		serve = func(ln net.Listener) error { return e.server.ServeTLS(ln, "", "") }
	}
	e.serverDone = make(chan struct{})
	go func() {
		defer close(e.serverDone)
		if err := serve(e.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			otel.Handle(fmt.Errorf("exporter: metrics listener: %w", err))
		}
	}()
}

// MeterProvider returns the SDK MeterProvider to pass to instrumentation
// (for runway's middleware, instrument.WithMeterProvider).
func (e *Exporter) MeterProvider() *sdkmetric.MeterProvider { return e.provider }

// MetricsHandler returns the handler that serves the Prometheus exposition
// format, to mount at /metrics; nil when the Prometheus exporter is
// disabled. Errors while gathering are sent to otel.Handle and the handler
// serves what it could gather.
func (e *Exporter) MetricsHandler() http.Handler { return e.metrics }

// MetricsAddr returns the address the separate metrics listener is bound to
// (with the real port when [WithMetricsAddr] was given port 0), or "" when
// there is none.
func (e *Exporter) MetricsAddr() string {
	if e.listener == nil {
		return ""
	}
	return e.listener.Addr().String()
}

// Shutdown stops the metrics listener, waiting until ctx is done for the
// scrapes in progress to be answered in full, then flushes the OTLP
// exporter (a value recorded just before Shutdown is sent) and shuts the
// MeterProvider down. It releases everything the exporter built: the
// listener, the readers and the middlewares of [Exporter.Handler] (their
// callbacks and tables); Handler fails after it. It returns the errors of
// all steps, joined; a collector that is down costs at most ctx's
// deadline. Shutdown is idempotent: later calls return the first call's
// result.
func (e *Exporter) Shutdown(ctx context.Context) error {
	e.shutdownOnce.Do(func() {
		var errs []error
		if e.server != nil {
			if err := e.server.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("exporter: metrics listener: %w", err))
				_ = e.server.Close()
			}
			<-e.serverDone
		}
		// The provider's shutdown collects a last time (the OTLP flush),
		// so the middlewares are released after it.
		if err := e.provider.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("exporter: meter provider: %w", err))
		}
		e.mu.Lock()
		for _, mw := range e.middlewares {
			if err := mw.Close(); err != nil {
				errs = append(errs, fmt.Errorf("exporter: middleware: %w", err))
			}
		}
		e.middlewares, e.closed = nil, true
		e.mu.Unlock()
		e.shutdownErr = errors.Join(errs...)
	})
	return e.shutdownErr
}

func (e *Exporter) closeListener() {
	if e.listener != nil {
		_ = e.listener.Close()
	}
}

// otelErrorLog sends the Prometheus handler's errors to otel.Handle.
type otelErrorLog struct{}

func (otelErrorLog) Println(v ...any) {
	otel.Handle(fmt.Errorf("exporter: serving metrics: %s", fmt.Sprint(v...)))
}
