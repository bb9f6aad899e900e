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
// unset, empty or blank variable means "not configured".
//
// The OpenTelemetry SDK reads most variables itself: the OTLP exporters
// (otlpmetricgrpc, otlpmetrichttp) read OTEL_EXPORTER_OTLP_*, the
// resource detector OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME, the
// MeterProvider OTEL_METRICS_EXEMPLAR_FILTER and
// OTEL_GO_X_CARDINALITY_LIMIT. The SDK logs a value it cannot use and goes
// on without it; [New] checks every one of these variables first, with
// the rules the SDK (and, for gRPC headers, gRPC) applies, so a value the
// SDK would reject, ignore or mis-read is an error at construction. Then
// runway passes its own defaults, as code options, only where the variable
// is unset. Errors name the option ([ErrInvalidOption]) or the variable
// ([ErrInvalidEnv]), show the value (header values and the user
// information of URLs replaced by REDACTED, long values cut to 96 bytes)
// and say what is allowed, in one format:
//
//	exporter: invalid environment variable: OTEL_METRICS_EXPORTER="otlpp": want otlp, prometheus or none, or a comma-separated list of otlp and prometheus
//
// Every invalid value is reported at once. Enumerations compare
// case-insensitively, as the specification asks, except compression,
// which the SDK reads in lower case only.
//
//	Option                     Variable (OTEL_EXPORTER_OTLP_ is written O_)        Default
//	WithPrometheus             OTEL_METRICS_EXPORTER                               prometheus (and otlp, see below)
//	WithOTLP(endpoint)         OTEL_METRICS_EXPORTER                               (off)
//	WithOTLP(endpoint)         O_METRICS_ENDPOINT, O_ENDPOINT                      localhost:4317 (grpc), localhost:4318/v1/metrics
//	                                                                               (http/protobuf), plaintext
//	-                          O_METRICS_INSECURE, O_INSECURE (true, false)        true for an endpoint without scheme (runway;
//	                                                                               the SDK's default is false)
//	WithOTLPProtocol           O_METRICS_PROTOCOL, O_PROTOCOL                      grpc
//	WithOTLPHeaders            O_METRICS_HEADERS, O_HEADERS                        none
//	-                          O_METRICS_COMPRESSION, O_COMPRESSION (gzip, none)   none
//	-                          O_METRICS_CERTIFICATE, O_CERTIFICATE                the system's roots
//	                           O_METRICS_CLIENT_CERTIFICATE, O_CLIENT_CERTIFICATE  none
//	                           O_METRICS_CLIENT_KEY, O_CLIENT_KEY                  none
//	-                          O_METRICS_TIMEOUT, O_TIMEOUT (ms)                   the export timeout
//	WithTemporalityPreference  O_METRICS_TEMPORALITY_PREFERENCE                    cumulative
//	-                          O_METRICS_DEFAULT_HISTOGRAM_AGGREGATION             explicit_bucket_histogram
//	WithExportInterval         OTEL_METRIC_EXPORT_INTERVAL (ms)                    5 s (the SDK's: 60 s)
//	WithExportTimeout          OTEL_METRIC_EXPORT_TIMEOUT (ms)                     the interval (and never more)
//	WithServiceName            OTEL_SERVICE_NAME                                   unknown_service:EXECUTABLE
//	WithServiceInstanceID      OTEL_RESOURCE_ATTRIBUTES                            HOSTNAME-PID
//	WithResourceAttributes     OTEL_RESOURCE_ATTRIBUTES                            none
//	WithExemplarFilter         OTEL_METRICS_EXEMPLAR_FILTER                        always_off (the SDK's: trace_based)
//	-                          OTEL_GO_X_CARDINALITY_LIMIT                         the SDK's (2000)
//	WithMetricsAddr            -                                                   none: /metrics on the app (Setup)
//	WithMetricsWebConfig       RUNWAY_METRICS_WEB_CONFIG                           plain HTTP, no authentication on the separate listener
//	WithPrometheusRegistry     -                                                   a new registry per Exporter
//	WithoutScopeLabels         -                                                   otel_scope_* labels on every series
//	WithInstrumentOptions(     RUNWAY_METRICS_CONVENTIONS                          runway
//	  instrument.WithConventions)  (runway, otel, both, otel-active)
//	WithInstrumentOptions      -                                                   the middleware's defaults
//
// For each OTLP setting the OTEL_EXPORTER_OTLP_METRICS_* form wins over
// the generic one. The OTLP variables are checked and read only when OTLP
// is on; the others always.
//
// # Which exporters
//
// The OpenTelemetry specification defines OTEL_METRICS_EXPORTER as the
// "Metrics exporter to be used", with the default value "otlp", and asks
// that an empty value be treated as unset. runway's rule:
//
//   - [WithPrometheus] and [WithOTLP] given in code choose exactly the
//     exporters; OTEL_METRICS_EXPORTER is then not used, but a bad value
//     in it is still an error.
//   - Else OTEL_METRICS_EXPORTER chooses: a comma-separated list of
//     "prometheus" and "otlp", or "none" alone (the MeterProvider works and
//     exports nothing); values compare case-insensitively.
//   - Else Prometheus, runway's default, since what KEDA and the HPA read
//     is a scrape; and when an OTLP endpoint or protocol variable is set
//     (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
//     OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_METRICS_PROTOCOL),
//     OTLP push as well: setting where to push is taken to mean "push", as
//     the specification's default "otlp" would, and /metrics stays served.
//     Set OTEL_METRICS_EXPORTER=otlp to push only.
//
// # OTLP endpoints
//
// In code ([WithOTLP]), an endpoint is "host:port" (plaintext, the sidecar
// case), "http://host:port" (plaintext) or "https://host:port" (TLS); for
// grpc the port defaults to 4317 and a path is an error; for http/protobuf
// a URL without a path posts to /v1/metrics, and "host" alone takes 4318.
//
// In the environment, the SDK's rules apply: for http/protobuf,
// OTEL_EXPORTER_OTLP_ENDPOINT is a base URL to which /v1/metrics is
// appended (http://prometheus:9090/api/v1/otlp posts to
// /api/v1/otlp/v1/metrics), and OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is used
// as is (no path means "/"); both need a scheme. For grpc, a URL's scheme
// decides TLS and its path is an error; "host:port" is accepted (the host
// must be a name: the SDK cannot parse "10.0.0.1:4317", write
// http://10.0.0.1:4317) and is plaintext unless
// OTEL_EXPORTER_OTLP_INSECURE=false; INSECURE=true beside an https:// URL
// is an error (the SDK would send plaintext). A URL without a port dials
// the scheme's port (443 for https). User information, a query or a fragment
// is an error: the exporters would drop them.
//
// OTEL_EXPORTER_OTLP_HEADERS is "key=value,key=value" with percent-encoded
// values, sent as HTTP headers or gRPC metadata; keys must be HTTP tokens,
// and for grpc also of 0-9, a-z, "-", "_" and "." (sent in lower case),
// with printable ASCII values unless the key ends in "-bin".
// OTEL_EXPORTER_OTLP_TIMEOUT bounds one export in milliseconds; retries
// stay within the export timeout. The certificate variables name PEM
// files: the CA that signs the collector's certificate, and a client
// certificate and key for mutual TLS (both or neither); as in the SDK, a
// certificate variable turns TLS on for grpc when the endpoint comes from
// the environment.
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
// a connection and is bounded by the same timeout. [Exporter.Shutdown]
// first stops the separate metrics listener (scrapes in progress are
// answered in full), then flushes: the last values of a pod that is scaled
// down are sent.
package exporter

//go:generate go run ../instrument/internal/surface/cmd/apirecord
