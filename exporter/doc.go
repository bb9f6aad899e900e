// Package exporter is the SDK side of runway: it builds an OpenTelemetry SDK
// MeterProvider and the readers that get its metrics out, Prometheus pull,
// OTLP push (gRPC or HTTP), or both at once, and offers [Setup], the one
// call that instruments an http.Handler and serves /metrics.
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
//	Option                     Variable (OTEL_EXPORTER_OTLP_ is written O_)        Default
//	WithPrometheus             OTEL_METRICS_EXPORTER                               prometheus
//	WithOTLP(endpoint)         OTEL_METRICS_EXPORTER                               (off)
//	WithOTLP(endpoint)         O_METRICS_ENDPOINT, O_ENDPOINT                      http://localhost:4317 (grpc)
//	                                                                               http://localhost:4318/v1/metrics (http/protobuf)
//	WithOTLPProtocol           O_METRICS_PROTOCOL, O_PROTOCOL                      grpc
//	WithOTLPHeaders            O_METRICS_HEADERS, O_HEADERS                        none
//	WithOTLPCompression        O_METRICS_COMPRESSION, O_COMPRESSION                none
//	WithOTLPCertificates       O_METRICS_CERTIFICATE, O_CERTIFICATE                the system's roots
//	                           O_METRICS_CLIENT_CERTIFICATE, O_CLIENT_CERTIFICATE  none
//	                           O_METRICS_CLIENT_KEY, O_CLIENT_KEY                  none
//	-                          O_METRICS_TIMEOUT, O_TIMEOUT (ms)                   the export timeout (and never more)
//	WithTemporalityPreference  O_METRICS_TEMPORALITY_PREFERENCE                    cumulative
//	WithExportInterval         OTEL_METRIC_EXPORT_INTERVAL (ms)                    5 s
//	WithExportTimeout          OTEL_METRIC_EXPORT_TIMEOUT (ms)                     the interval (and never more)
//	WithServiceName            OTEL_SERVICE_NAME                                   unknown_service:EXECUTABLE
//	WithServiceInstanceID      OTEL_RESOURCE_ATTRIBUTES                            HOSTNAME-PID
//	WithResourceAttributes     OTEL_RESOURCE_ATTRIBUTES                            none
//	WithExemplarFilter         OTEL_METRICS_EXEMPLAR_FILTER                        always_off
//	WithMetricsAddr            -                                                   none: /metrics on the app (Setup)
//	WithMetricsWebConfig       RUNWAY_METRICS_WEB_CONFIG                           plain HTTP, no authentication on the separate listener
//	WithPrometheusRegistry     -                                                   a new registry per Exporter
//	WithoutScopeLabels         -                                                   otel_scope_* labels on every series
//	WithInstrumentOptions(     RUNWAY_METRICS_CONVENTIONS                          runway
//	  instrument.WithConventions)  (runway, otel, both, otel-active)
//	WithInstrumentOptions      -                                                   the middleware's defaults
//
// In full, the OTLP variables are OTEL_EXPORTER_OTLP_ENDPOINT,
// OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL,
// OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, OTEL_EXPORTER_OTLP_HEADERS,
// OTEL_EXPORTER_OTLP_METRICS_HEADERS, OTEL_EXPORTER_OTLP_COMPRESSION,
// OTEL_EXPORTER_OTLP_METRICS_COMPRESSION, OTEL_EXPORTER_OTLP_CERTIFICATE,
// OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE,
// OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
// OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE,
// OTEL_EXPORTER_OTLP_CLIENT_KEY, OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY,
// OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_EXPORTER_OTLP_METRICS_TIMEOUT and
// OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE. They are read only
// when OTLP is enabled.
//
// OTEL_METRICS_EXPORTER is a comma-separated list of "prometheus", "otlp"
// and "none" ("none" alone turns both off: the MeterProvider still works and
// exports nothing). Once [WithPrometheus] or [WithOTLP] is given, the
// exporters are exactly those given in code and OTEL_METRICS_EXPORTER is not
// read. OTEL_EXPORTER_OTLP_METRICS_ENDPOINT wins over
// OTEL_EXPORTER_OTLP_ENDPOINT; either is read only when [WithOTLP] is given an
// empty endpoint or OTLP is chosen by OTEL_METRICS_EXPORTER. For each OTLP
// setting, the OTEL_EXPORTER_OTLP_METRICS_* form wins over the generic one.
//
// For grpc, an endpoint is "host:port" or "http://host:port" (plaintext,
// the sidecar case) or "https://host:port" (TLS); the port defaults to 4317
// and a path is an error. For http/protobuf the endpoint is a URL, and its
// path follows the OpenTelemetry specification: OTEL_EXPORTER_OTLP_ENDPOINT
// is a base URL to which /v1/metrics is appended
// (http://prometheus:9090/api/v1/otlp posts to
// /api/v1/otlp/v1/metrics); OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is used as
// is (no path means "/"); [WithOTLP] uses its path as is and /v1/metrics
// when it has none. "host:port" is plaintext; a URL with a scheme and no
// port takes the scheme's port (80, 443); a host without scheme or port
// takes 4318.
//
// OTEL_EXPORTER_OTLP_HEADERS is "key=value,key=value" with percent-encoded
// values, sent as HTTP headers or gRPC metadata. Compression is "gzip" or
// "none". OTEL_EXPORTER_OTLP_TIMEOUT bounds one export, retries included, in
// milliseconds; it is capped at the export timeout. The certificate
// variables name PEM files: the CA that signs the collector's certificate,
// and a client certificate and key for mutual TLS (both or neither); they
// are read by [New] for an https endpoint and ignored for a plaintext one.
// The endpoint's scheme decides TLS: OTEL_EXPORTER_OTLP_INSECURE is not
// read.
//
// OTEL_RESOURCE_ATTRIBUTES is "key=value,key=value" with percent-encoded
// values. For the resource, the order of precedence from lowest to highest
// is: defaults, OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME,
// [WithResourceAttributes], then [WithServiceName] and
// [WithServiceInstanceID]. The SDK's telemetry.sdk.* attributes are added.
//
// OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE is "cumulative",
// "delta" or "lowmemory", with the specification's meaning (see
// [WithTemporalityPreference]): under delta the counters and histograms
// send what happened since the last export, while runway's requests in
// flight, an up-down counter, stays the absolute number.
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
// Every series also carries otel_scope_name, otel_scope_version and
// otel_scope_schema_url, as the OpenTelemetry exporter's default is; they
// keep apart instruments of the same name from two instrumentation
// libraries, and sum, avg and rate queries ignore them.
// [WithoutScopeLabels] removes them, for the exact label sets asgi-runway
// produced.
//
// Errors while gathering are sent to otel.Handle; the scrape still returns
// what could be gathered.
//
// The separate listener of [WithMetricsAddr] binds exactly the address it is
// given: ":9091" listens on every interface, "127.0.0.1:9091" on loopback
// only. It serves /metrics and nothing else. [WithMetricsWebConfig] secures
// it with a web configuration file in the format of Prometheus'
// --web.config.file, read and validated with exporter-toolkit: TLS
// (client certificates included), basic auth with bcrypt hashes, a rate
// limit and response headers. With TLS and basic auth, a scrape needs the
// password and nobody on the network can read it. The file is read again
// when it changes and the certificate at every TLS handshake, so a
// rotated certificate is served without a restart. Basic auth is runway's
// own, not exporter-toolkit's: exporter-toolkit accepts any suffix after
// a 72-byte password (bcrypt reads no further) and refuses unknown users
// against a fixed cost-10 hash, so that with hashes of another cost the
// response time tells which users exist. runway refuses those passwords
// and compares unknown users against a hash at the highest configured
// cost: give every user the same cost.
//
// # OTLP push
//
// The OTLP exporter (gRPC or HTTP) pushes every interval with cumulative
// temporality (unless a temporality preference says otherwise), so an export
// that fails is made good by the next one. An export (with its
// retries) never lasts longer than the interval, so exports do not pile up.
// A collector that is down or not started yet never blocks the application:
// recording is in memory, and [New] does not wait for a connection. gRPC's
// reconnect backoff, which by default grows to two minutes, is capped at half
// the interval, so data reaches a collector that starts after the
// application within two intervals. Over HTTP every export opens or reuses
// a connection and is bounded by the same timeout. [Exporter.Shutdown] flushes: the last
// values of a pod that is scaled down are sent.
package exporter

//go:generate go run ../instrument/internal/surface/cmd/apirecord
