// Package exporter is the SDK side of runway: it builds an OpenTelemetry SDK
// MeterProvider and the readers that get its metrics out, Prometheus pull, OTLP/gRPC
// push, or both at once, and offers [Setup], the one call that instruments
// an http.Handler and serves /metrics.
//
// The instrumentation itself (package instrument) depends on the OpenTelemetry
// API only; this package is what an application adds to choose the SDK and
// the exporters.
//
// # Quick start
//
//	handler, shutdown, err := exporter.Setup(ctx, mux, exporter.WithServiceName("shop"))
//	if err != nil { ... }
//	srv := &http.Server{Addr: ":8000", Handler: handler}
//	// ... serve; on SIGTERM: srv.Shutdown(ctx), then shutdown(ctx) to flush.
//
// To build the handler chain itself, an application uses [New] and passes
// [Exporter.MeterProvider] to instrument.WithMeterProvider.
//
// # Options and environment
//
// Every setting has an option and most have an OpenTelemetry environment
// variable. An option given in code always wins over the variable; an
// unset or empty variable means "not configured". Invalid values are
// errors from [New] and [Setup] that name the option ([ErrInvalidOption]) or
// the variable ([ErrInvalidEnv]); every invalid value is reported at once.
//
//	Option                   Variable                              Default
//	WithPrometheus           OTEL_METRICS_EXPORTER                 prometheus
//	WithOTLP(endpoint)       OTEL_METRICS_EXPORTER                 (off)
//	WithOTLP(endpoint)       OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,  http://localhost:4317
//	                         OTEL_EXPORTER_OTLP_ENDPOINT
//	WithExportInterval       OTEL_METRIC_EXPORT_INTERVAL (ms)      5 s
//	WithExportTimeout        OTEL_METRIC_EXPORT_TIMEOUT (ms)       the interval (and never more)
//	WithServiceName          OTEL_SERVICE_NAME                     unknown_service:EXECUTABLE
//	WithServiceInstanceID    OTEL_RESOURCE_ATTRIBUTES              HOSTNAME-PID
//	WithResourceAttributes   OTEL_RESOURCE_ATTRIBUTES              none
//	WithExemplarFilter       OTEL_METRICS_EXEMPLAR_FILTER          always_off
//	WithInstrumentOptions(   RUNWAY_METRICS_CONVENTIONS            runway
//	  instrument.WithConventions)  (runway, otel, both, otel-active)
//	WithMetricsAddr          -                                     none: /metrics on the app (Setup)
//	WithMetricsTLS           -                                     plain HTTP on the separate listener
//	WithMetricsBasicAuth     -                                     no authentication on the separate listener
//	WithPrometheusRegistry   -                                     a new registry per Exporter
//	WithInstrumentOptions    -                                     the middleware's defaults
//
// OTEL_METRICS_EXPORTER is a comma-separated list of "prometheus", "otlp"
// and "none" ("none" alone turns both off: the MeterProvider still works and
// exports nothing). Once [WithPrometheus] or [WithOTLP] is given, the
// exporters are exactly those given in code and OTEL_METRICS_EXPORTER is not
// read. OTEL_EXPORTER_OTLP_METRICS_ENDPOINT wins over
// OTEL_EXPORTER_OTLP_ENDPOINT; either is read only when [WithOTLP] is given an
// empty endpoint or OTLP is chosen by OTEL_METRICS_EXPORTER. An endpoint is
// "host:port" or "http://host:port" (plaintext, the sidecar case) or
// "https://host:port" (TLS); the port defaults to 4317.
//
// OTEL_RESOURCE_ATTRIBUTES is "key=value,key=value" with percent-encoded
// values. For the resource, the order of precedence from lowest to highest
// is: defaults, OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME,
// [WithResourceAttributes], then [WithServiceName] and
// [WithServiceInstanceID]. The SDK's telemetry.sdk.* attributes are added.
//
// The OTLP exporter itself also reads OTEL_EXPORTER_OTLP_HEADERS,
// OTEL_EXPORTER_OTLP_COMPRESSION, OTEL_EXPORTER_OTLP_CERTIFICATE,
// OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE, OTEL_EXPORTER_OTLP_CLIENT_KEY,
// OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE (default cumulative) and
// their OTEL_EXPORTER_OTLP_METRICS_* forms. The endpoint's scheme overrides
// OTEL_EXPORTER_OTLP_INSECURE, and OTEL_METRIC_EXPORT_TIMEOUT replaces
// OTEL_EXPORTER_OTLP_TIMEOUT.
//
// # Prometheus
//
// The Prometheus exporter registers on its own prometheus.Registry, never on
// the default registerer, so several exporters can live in one process; use
// [WithPrometheusRegistry] to serve collectors of your own beside it. Names
// follow the exporter's default translation: dots become underscores, the
// unit "s" adds "_seconds", counters end in "_total", and resource attributes
// appear on target_info. runway's metrics come out as:
//
//	runway.requests.in_flight           runway_requests_in_flight           gauge
//	runway.requests.in_flight_by_route  runway_requests_in_flight_by_route  gauge   http_route
//	runway.requests                     runway_requests_total               counter http_request_method, http_response_status_code (+http_route)
//	runway.request.duration             runway_request_duration_seconds     histogram http_request_method (+http_route)
//
// Errors while gathering are sent to otel.Handle; the scrape still returns
// what could be gathered.
//
// The separate listener of [WithMetricsAddr] binds exactly the address it is
// given: ":9091" listens on every interface, "127.0.0.1:9091" on loopback
// only. It serves /metrics and nothing else. [WithMetricsTLS] serves it over
// HTTPS and [WithMetricsBasicAuth] requires a user and password (bcrypt
// hashes, as in Prometheus web configuration files); with both, a scrape
// needs the password and nobody on the network can read it.
//
// # OTLP push
//
// The OTLP/gRPC exporter pushes every interval with cumulative temporality,
// so an export that fails is made good by the next one. An export (with its
// retries) never lasts longer than the interval, so exports do not pile up.
// A collector that is down or not started yet never blocks the application:
// recording is in memory, and [New] does not wait for a connection. gRPC's
// reconnect backoff, which by default grows to two minutes, is capped at half
// the interval, so data reaches a collector that starts after the
// application within two intervals. [Exporter.Shutdown] flushes: the last
// values of a pod that is scaled down are sent.
package exporter

//go:generate go run ../instrument/internal/surface/cmd/apirecord
