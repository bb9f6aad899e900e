package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/otel-runway/runway/exporter"
	"github.com/otel-runway/runway/instrument"
	"github.com/otel-runway/runway/instrument/limit"
)

// Config configures the demo server. The zero value serves on a free
// loopback port with /metrics on the application's own port.
type Config struct {
	// Addr is the application's listen address; default 127.0.0.1:0.
	Addr string
	// MetricsAddr, when set, serves /metrics on its own listener instead of
	// on the application's port.
	MetricsAddr string
	// OTLPEndpoint, when set, pushes the metrics over OTLP to this
	// endpoint as well as serving them to Prometheus (host:port is
	// plaintext). When empty, the exporter chooses from the environment
	// exactly as for any application (OTEL_METRICS_EXPORTER, else
	// Prometheus, with OTLP push as well when an OTEL_EXPORTER_OTLP_*
	// endpoint or protocol variable is set).
	OTLPEndpoint string
	// OTLPProtocol, when set, is the OTLP protocol: "grpc" or
	// "http/protobuf"; empty keeps the exporter's default (the
	// OTEL_EXPORTER_OTLP_*PROTOCOL variables, else grpc).
	OTLPProtocol string
	// Interval is the OTLP push interval; zero keeps the exporter's default.
	Interval time.Duration
	// ServiceName and InstanceID set service.name and service.instance.id;
	// empty keeps the exporter's defaults (environment, then "runway-demo"
	// and hostname-pid).
	ServiceName, InstanceID string
	// Limit, when positive, admits at most Limit requests at once to the
	// workload routes, with up to LimitQueue more waiting (package
	// instrument/limit, behind runway's middleware; /healthz and /metrics
	// bypass it): a pod of bounded capacity, like a worker pool.
	Limit, LimitQueue int
	// Conventions, when set, chooses the metric names
	// (instrument.WithConventions: runway, otel, both or otel-active);
	// empty keeps RUNWAY_METRICS_CONVENTIONS, else runway.
	Conventions string
	// Options are passed on to the exporter, after those above.
	Options []exporter.Option
}

// Server is a running demo server.
type Server struct {
	// URL is the application's base URL, such as http://127.0.0.1:8000.
	URL string
	// MetricsURL is the URL of the Prometheus metrics endpoint, "" when
	// the Prometheus exporter is off (OTEL_METRICS_EXPORTER without
	// prometheus).
	MetricsURL string

	srv      *http.Server
	served   chan error
	shutdown func(context.Context) error
}

// Start builds the instrumented demo, binds its listeners and serves in the
// background. It returns once the server accepts connections.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	serviceName := cfg.ServiceName
	if serviceName == "" {
		serviceName = "runway-demo"
	}
	opts := []exporter.Option{
		exporter.WithServiceName(serviceName),
		exporter.WithInstrumentOptions(instrument.WithRouteGroups(RouteGroups()...)),
	}
	if cfg.InstanceID != "" {
		opts = append(opts, exporter.WithServiceInstanceID(cfg.InstanceID))
	}
	if cfg.MetricsAddr != "" {
		opts = append(opts, exporter.WithMetricsAddr(cfg.MetricsAddr))
	}
	if cfg.OTLPEndpoint != "" {
		opts = append(opts, exporter.WithPrometheus(), exporter.WithOTLP(cfg.OTLPEndpoint))
	}
	if cfg.OTLPProtocol != "" {
		opts = append(opts, exporter.WithOTLPProtocol(exporter.Protocol(cfg.OTLPProtocol)))
	}
	if cfg.Interval > 0 {
		opts = append(opts, exporter.WithExportInterval(cfg.Interval))
	}
	if cfg.Conventions != "" {
		opts = append(opts, exporter.WithInstrumentOptions(instrument.WithConventions(instrument.Conventions(cfg.Conventions))))
	}
	opts = append(opts, cfg.Options...)

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("demo: listen on %s: %w", addr, err)
	}
	exp, err := exporter.New(ctx, opts...)
	if err != nil {
		ln.Close()
		return nil, err
	}
	shutdown := exp.Shutdown
	app := http.Handler(Routes())
	if cfg.Limit > 0 {
		lim, err := limit.New(cfg.Limit, cfg.LimitQueue, limit.WithMeterProvider(exp.MeterProvider()))
		if err != nil {
			ln.Close()
			return nil, errors.Join(err, exp.Shutdown(ctx))
		}
		shutdown = func(ctx context.Context) error { return errors.Join(lim.Close(), exp.Shutdown(ctx)) }
		// The workload routes behind the limiter, the health probe beside it.
		mux := http.NewServeMux()
		mux.Handle("/", lim.Wrap(app))
		mux.Handle("/healthz", app)
		app = mux
	}
	handler, err := exp.Handler(app)
	if err != nil {
		ln.Close()
		return nil, errors.Join(err, shutdown(ctx))
	}
	// Connections accepted and open, and the kernel's accept queue (Linux).
	counted, err := instrument.NewListener(ln, exp.MeterProvider())
	if err != nil {
		ln.Close()
		return nil, errors.Join(err, shutdown(ctx))
	}
	s := &Server{
		URL:      "http://" + ln.Addr().String(),
		served:   make(chan error, 1),
		shutdown: shutdown,
		srv: &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
		},
	}
	switch a := exp.MetricsAddr(); {
	case a != "":
		s.MetricsURL = "http://" + a + exporter.MetricsPath
	case exp.MetricsHandler() != nil:
		s.MetricsURL = s.URL + exporter.MetricsPath
	}
	go func() { s.served <- s.srv.Serve(counted) }()
	return s, nil
}

// Shutdown stops accepting requests, waits for those in flight to finish
// (until ctx is done), then flushes and stops the exporter, so the last
// numbers are pushed.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if serveErr := <-s.served; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return errors.Join(err, s.shutdown(ctx))
}
