package exporter

import (
	"cmp"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"

	"github.com/otel-runway/runway/instrument"
)

// Option configures [New] and [Setup]. An option given in code always wins
// over the matching OTEL_* environment variable.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithServiceName sets the service.name resource attribute, which every
// exported series carries (in target_info on a Prometheus scrape).
//
// Default: OTEL_SERVICE_NAME, else service.name from
// OTEL_RESOURCE_ATTRIBUTES, else "unknown_service:" followed by the
// executable's name. An empty name is a construction error.
func WithServiceName(name string) Option {
	return optionFunc(func(c *config) {
		if name == "" {
			c.invalid("WithServiceName", "empty service name")
			return
		}
		c.serviceName = name
	})
}

// WithServiceInstanceID sets the service.instance.id resource attribute. A
// collector that aggregates many replicas needs it to keep them apart.
//
// Default: service.instance.id from OTEL_RESOURCE_ATTRIBUTES, else
// "HOSTNAME-PID", which is unique per process and stable for its lifetime.
// An empty ID is a construction error.
func WithServiceInstanceID(id string) Option {
	return optionFunc(func(c *config) {
		if id == "" {
			c.invalid("WithServiceInstanceID", "empty instance ID")
			return
		}
		c.instanceID = id
	})
}

// WithResourceAttributes adds attributes to the resource that describes this
// process. They win over OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME for
// the same key; [WithServiceName] and [WithServiceInstanceID] win over them.
// The option may be given more than once; later values win.
//
// Default: none. An attribute with an empty key is a construction error.
func WithResourceAttributes(attrs ...attribute.KeyValue) Option {
	return optionFunc(func(c *config) {
		for _, kv := range attrs {
			if !kv.Valid() {
				c.invalid("WithResourceAttributes", "invalid attribute %q", string(kv.Key))
				return
			}
		}
		c.attrs = append(c.attrs, attrs...)
	})
}

// WithPrometheus enables the Prometheus pull exporter: [Exporter.MetricsHandler]
// serves the metrics in the Prometheus exposition format.
//
// Default: exporters come from OTEL_METRICS_EXPORTER; when that is unset,
// Prometheus, and OTLP push as well when an OTLP endpoint or protocol
// variable is set (see the package documentation). Once [WithPrometheus]
// or [WithOTLP] is given, the exporters are exactly those given in code;
// OTEL_METRICS_EXPORTER is not used, but a bad value in it is still an
// error.
func WithPrometheus() Option {
	return optionFunc(func(c *config) {
		c.codeExporters = cmp.Or(c.codeExporters, &exporters{})
		c.codeExporters.prometheus = true
	})
}

// WithOTLP enables the OTLP push exporter (gRPC by default, HTTP with
// [WithOTLPProtocol]), which sends every interval (see [WithExportInterval])
// with cumulative temporality, so an export that fails is made good by the
// next one.
//
// For grpc, endpoint is "host:port" or "http://host:port" for a plaintext
// connection (a sidecar collector), or "https://host:port" for TLS with the
// system's root certificates (or those of OTEL_EXPORTER_OTLP_CERTIFICATE); the port defaults
// to 4317. For http/protobuf, endpoint is a URL ("host:port" is plaintext):
// its path is used as is, and /v1/metrics when it has none. An empty
// endpoint takes OTEL_EXPORTER_OTLP_METRICS_ENDPOINT (used as is), else
// OTEL_EXPORTER_OTLP_ENDPOINT (a base URL: /v1/metrics is appended for
// http/protobuf), else "http://localhost:4317" (grpc) or
// "http://localhost:4318/v1/metrics" (http/protobuf). A malformed endpoint is
// a construction error; an unreachable one is not: exports are retried
// every interval and the application never blocks on them.
//
// Default: see [WithPrometheus] for how the exporters are chosen.
func WithOTLP(endpoint string) Option {
	return optionFunc(func(c *config) {
		c.codeExporters = cmp.Or(c.codeExporters, &exporters{})
		c.codeExporters.otlp = true
		c.o.endpoint = endpoint
	})
}

// WithExportInterval sets how often the OTLP exporter pushes. It has no
// effect on Prometheus, which is pulled.
//
// Default: OTEL_METRIC_EXPORT_INTERVAL, else 5 s (the SDK's own default of
// 60 s is too slow for autoscaling). A zero or negative interval is a
// construction error.
func WithExportInterval(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d <= 0 {
			c.invalid("WithExportInterval", "interval %v must be positive", d)
			return
		}
		c.interval = d
	})
}

// WithExportTimeout sets how long one OTLP export (retries included) may take
// before its data is dropped; the next export carries the cumulative values
// again. The timeout is capped at the export interval, so exports never
// queue up behind a slow collector.
//
// Default: OTEL_METRIC_EXPORT_TIMEOUT, else the export interval. A zero or
// negative timeout is a construction error.
func WithExportTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d <= 0 {
			c.invalid("WithExportTimeout", "timeout %v must be positive", d)
			return
		}
		c.timeout = d
	})
}

// WithMetricsAddr serves the Prometheus metrics on a separate listener at
// addr ("host:port"; port 0 picks a free port, see [Exporter.MetricsAddr]),
// so a scrape is never queued behind application traffic or limits. The
// listener is bound by [New] (a bind failure is a construction error wrapping
// [ErrListen]), serves only the exact path /metrics (404 elsewhere) with
// read, write and idle timeouts, and is closed by [Exporter.Shutdown]. With
// [Setup], /metrics is then not mounted on the application.
//
// Default: no separate listener; an empty addr keeps that default, so a
// flag can be passed through as is. It requires the Prometheus exporter; a
// malformed address, or the Prometheus exporter being disabled, is a
// construction error.
func WithMetricsAddr(addr string) Option {
	return optionFunc(func(c *config) {
		if addr == "" {
			c.metricsAddr = ""
			return
		}
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			c.invalid("WithMetricsAddr", "%v", err)
			return
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			c.invalid("WithMetricsAddr", "address %q: port %q is not a number in 0-65535", addr, port)
			return
		}
		c.metricsAddr = addr
	})
}

// WithMetricsWebConfig secures the separate metrics listener
// ([WithMetricsAddr]) with file, a web configuration file in the format of
// Prometheus' --web.config.file (exporter-toolkit's): TLS
// (tls_server_config, client certificates included), basic auth
// (basic_auth_users, bcrypt hashes), rate_limit and the response headers
// of http_server_config. The same file secures Prometheus and its
// exporters.
//
// [New] reads and validates the file with exporter-toolkit (certificates
// and keys are loaded): a file that cannot be used is a construction error
// naming this option and the file, without quoting its values. The file
// and the certificates are read again when they change, as Prometheus
// does: a rotated certificate is served from the next connection on, a
// changed user list from the next request. A version that fails to load
// is reported to otel.Handle and the previous one stays in use; TLS
// cannot be turned on or off without a restart.
//
// Basic auth differs from exporter-toolkit's in two ways: a password
// longer than 72 bytes (bcrypt reads no further) or with a NUL byte is
// refused, and an unknown user is compared against a hash at the highest
// cost of the configured ones, so that it takes as long to refuse as a
// wrong password when all users share one cost. Use basic auth with TLS,
// or on a network you trust: over plain HTTP the password travels in
// clear text.
//
// Default: RUNWAY_METRICS_WEB_CONFIG, else plain HTTP without
// authentication. An empty file keeps that default, so a flag can be
// passed through as is. Without [WithMetricsAddr] it is a construction
// error: the application's own server decides how /metrics on the
// application is served.
func WithMetricsWebConfig(file string) Option {
	return optionFunc(func(c *config) {
		c.metricsWeb = webConfigSetting{file: file, source: "WithMetricsWebConfig"}
		if file == "" {
			c.metricsWeb.source = ""
		}
	})
}

// WithPrometheusRegistry makes the Prometheus exporter register on reg, so
// that collectors the application registers on reg are served by the same
// handler. The exporter never uses the default registerer, so several
// exporters can live in one process.
//
// Default: a new, empty registry per [Exporter]. A nil registry is a
// construction error.
func WithPrometheusRegistry(reg *prometheus.Registry) Option {
	return optionFunc(func(c *config) {
		if reg == nil {
			c.invalid("WithPrometheusRegistry", "nil registry")
			return
		}
		c.registry = reg
	})
}

// WithExemplarFilter chooses which measurements may be kept as exemplars
// (sample values linked to the trace that recorded them): the SDK's
// exemplar.AlwaysOffFilter, exemplar.AlwaysOnFilter, exemplar.TraceBasedFilter
// or a filter of your own.
//
// Default: OTEL_METRICS_EXEMPLAR_FILTER ("always_off", "always_on",
// "trace_based"), else always_off. The SDK's own default is trace_based;
// runway turns exemplars off because offering each measurement to the
// filter costs about 10 % of the middleware's time per request, and the
// middleware records with the context it received, which carries a span
// only when tracing middleware runs outside runway's. Set trace_based to
// have exemplars in that case. A nil filter is a construction error.
func WithExemplarFilter(f exemplar.Filter) Option {
	return optionFunc(func(c *config) {
		if f == nil {
			c.invalid("WithExemplarFilter", "nil filter")
			return
		}
		c.exemplarFilter = f
	})
}

// WithInstrumentOptions passes options to the runway middleware that
// [Setup] builds (route groups, excluded paths, buckets, ...). [Setup] always
// adds instrument.WithMeterProvider with this exporter's MeterProvider, after
// these, so that one wins. [New] ignores this option.
//
// Default: none, the middleware's own defaults.
func WithInstrumentOptions(opts ...instrument.Option) Option {
	return optionFunc(func(c *config) {
		c.instrumentOpts = append(c.instrumentOpts, opts...)
	})
}

// WithoutScopeLabels removes the otel_scope_name, otel_scope_version and
// otel_scope_schema_url labels from every series on the Prometheus
// endpoint, so that the series carry exactly the labels asgi-runway's did.
//
// Default: the labels are kept, as the OpenTelemetry Prometheus exporter
// does. They keep apart two instruments of the same name from different
// instrumentation libraries on one MeterProvider (runway's and otelhttp's
// http.server.request.duration, for example), which would otherwise collide:
// the scrape would keep one and lose the other. sum, avg and rate queries
// ignore them. Remove them
// when a dashboard or rule matches series by their full label set, and only
// when no two libraries on the provider share a metric name. OTLP exports
// always carry the scope.
func WithoutScopeLabels() Option {
	return optionFunc(func(c *config) { c.withoutScope = true })
}

// otlpSettings is what the OTLP options set; zero means "not set in code".
type otlpSettings struct {
	endpoint    string
	protocol    string
	headers     map[string]string
	headersSet  bool
	temporality string
}

// Protocol is an OTLP transport, named as OTEL_EXPORTER_OTLP_PROTOCOL
// names it.
type Protocol string

// The OTLP transports runway sends.
const (
	// ProtocolGRPC is OTLP/gRPC.
	ProtocolGRPC Protocol = "grpc"
	// ProtocolHTTPProtobuf is OTLP/HTTP with binary protobuf bodies, what
	// Prometheus' own OTLP receiver and many vendors accept.
	ProtocolHTTPProtobuf Protocol = "http/protobuf"
)

// WithOTLPProtocol chooses the OTLP transport: [ProtocolGRPC] or
// [ProtocolHTTPProtobuf]. It takes effect when OTLP is enabled ([WithOTLP]
// or OTEL_METRICS_EXPORTER).
//
// Default: OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, else
// OTEL_EXPORTER_OTLP_PROTOCOL, else "grpc" (runway's default since its first
// release; the OpenTelemetry specification's default is http/protobuf).
// Any other value, "http/json" included, is a construction error.
func WithOTLPProtocol(protocol Protocol) Option {
	return optionFunc(func(c *config) {
		if protocol != ProtocolGRPC && protocol != ProtocolHTTPProtobuf {
			c.invalid("WithOTLPProtocol", "protocol %.64q: want grpc or http/protobuf", protocol)
			return
		}
		c.o.protocol = string(protocol)
	})
}

// WithOTLPHeaders sends headers (for example an API key) with every OTLP
// export, as HTTP headers or gRPC metadata. It replaces the headers of the
// environment.
//
// Default: OTEL_EXPORTER_OTLP_METRICS_HEADERS, else
// OTEL_EXPORTER_OTLP_HEADERS, else none. A header that the protocol cannot
// send is a construction error: for http/protobuf a key that is not an
// HTTP token or a value with a control character; for grpc, in addition,
// a key with other characters than a-z, 0-9, "-", "_" and "." (keys are
// sent in lower case), or a value with other characters than printable
// ASCII (unless the key ends in "-bin").
func WithOTLPHeaders(headers map[string]string) Option {
	return optionFunc(func(c *config) { c.o.headers, c.o.headersSet = headers, true })
}

// Temporality is an OTLP temporality preference, named as
// OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE names it.
type Temporality string

// The temporality preferences of the OpenTelemetry specification.
const (
	// TemporalityCumulative: every instrument sends its total since the
	// start. An export that fails is made good by the next one.
	TemporalityCumulative Temporality = "cumulative"
	// TemporalityDelta: counters (synchronous and observable) and
	// histograms send what happened since the last export; up-down
	// counters, runway's requests in flight among them, stay cumulative, so
	// their value is still the absolute number. A failed export loses its
	// interval.
	TemporalityDelta Temporality = "delta"
	// TemporalityLowMemory: synchronous counters and histograms send
	// deltas; the observable counters and up-down counters stay cumulative.
	TemporalityLowMemory Temporality = "lowmemory"
)

// WithTemporalityPreference chooses the temporality of OTLP exports:
// [TemporalityCumulative], [TemporalityDelta] or [TemporalityLowMemory].
//
// Prometheus needs cumulative values: behind a delta exporter put the
// collector's deltatocumulative processor (see docs/collector.md). The
// Prometheus pull exporter is always cumulative.
//
// Default: OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, else
// cumulative. Any other value is a construction error.
func WithTemporalityPreference(preference Temporality) Option {
	return optionFunc(func(c *config) {
		preference := Temporality(strings.ToLower(string(preference))) // as the variable: any case
		switch preference {
		case TemporalityCumulative, TemporalityDelta, TemporalityLowMemory:
		default:
			c.invalid("WithTemporalityPreference", "%.64q: want cumulative, delta or lowmemory", preference)
			return
		}
		c.o.temporality = string(preference)
	})
}

// temporality returns the SDK's selector for a preference, nil if unknown.
func temporality(pref string) sdkmetric.TemporalitySelector {
	switch strings.ToLower(pref) {
	case "cumulative":
		return sdkmetric.CumulativeTemporalitySelector
	case "delta":
		return sdkmetric.DeltaTemporalitySelector
	case "lowmemory":
		return sdkmetric.LowMemoryTemporalitySelector
	}
	return nil
}
