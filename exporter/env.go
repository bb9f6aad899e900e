package exporter

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/otel-runway/runway/instrument"
)

// The OpenTelemetry environment variables read by [New]. Unset and empty
// variables mean "not configured".
const (
	envMetricsExporter     = "OTEL_METRICS_EXPORTER"
	envOTLPEndpoint        = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envOTLPMetricsEndpoint = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"
	envExportInterval      = "OTEL_METRIC_EXPORT_INTERVAL"
	envExportTimeout       = "OTEL_METRIC_EXPORT_TIMEOUT"
	envServiceName         = "OTEL_SERVICE_NAME"
	envResourceAttributes  = "OTEL_RESOURCE_ATTRIBUTES"
	envExemplarFilter      = "OTEL_METRICS_EXEMPLAR_FILTER"
)

const (
	// defaultExportInterval is the OTLP push interval when neither
	// [WithExportInterval] nor OTEL_METRIC_EXPORT_INTERVAL is set.
	defaultExportInterval = 5 * time.Second

	// defaultOTLPEndpoint is the OTLP/gRPC endpoint when neither [WithOTLP]
	// nor the OTEL_EXPORTER_OTLP_*ENDPOINT variables give one.
	defaultOTLPEndpoint = "http://localhost:4317"

	defaultOTLPPort = "4317"
)

// config holds what the options set and, after newConfig, the values
// resolved from options, environment and defaults.
type config struct {
	lookup func(string) (string, bool)
	errs   []error

	// Set by options; zero means "not set in code".
	serviceName    string
	instanceID     string
	attrs          []attribute.KeyValue
	codeExporters  bool
	prometheus     bool
	otlp           bool
	endpoint       string
	interval       time.Duration
	timeout        time.Duration
	metricsAddr    string
	metricsWeb     webConfigSetting // see webconfig.go
	registry       *prometheus.Registry
	instrumentOpts []instrument.Option
	exemplarFilter exemplar.Filter // nil: OTEL_METRICS_EXEMPLAR_FILTER, else off
	withoutScope   bool
	o              otlpSettings // OTLP transport, see otlp.go

	// Resolved by newConfig.
	target   otlpTarget
	resource []attribute.KeyValue // increasing priority: the last value of a key wins
}

// otlpTarget is a parsed OTLP endpoint.
type otlpTarget struct {
	hostPort string // "host:port", what gRPC dials
	tls      bool
}

// newConfig applies opts over the environment and the defaults. nil options
// are ignored. Every invalid option or variable is reported, joined.
func newConfig(opts []Option) (*config, error) {
	c := &config{lookup: os.LookupEnv}
	for _, o := range opts {
		if o != nil {
			o.apply(c)
		}
	}
	if !c.codeExporters {
		prom, otlp, err := parseExporters(c.env(envMetricsExporter))
		if err != nil {
			c.errs = append(c.errs, err)
		}
		c.prometheus, c.otlp = prom, otlp
	}
	if c.metricsAddr != "" && !c.prometheus {
		c.invalid("WithMetricsAddr", "the Prometheus exporter is disabled (see WithPrometheus and %s)", envMetricsExporter)
	}
	c.resolveMetricsWebConfig()

	if c.interval == 0 {
		d, err := c.envMillis(envExportInterval)
		c.appendErr(err)
		c.interval = cmp.Or(d, defaultExportInterval)
	}
	if c.timeout == 0 {
		d, err := c.envMillis(envExportTimeout)
		c.appendErr(err)
		c.timeout = cmp.Or(d, c.interval)
	}
	c.timeout = min(c.timeout, c.interval)
	if c.otlp {
		c.resolveOTLP()
	}

	c.appendErr(c.envConventions())

	if c.exemplarFilter == nil {
		f, err := parseExemplarFilter(c.env(envExemplarFilter))
		c.appendErr(err)
		c.exemplarFilter = f
	}

	envAttrs, err := parseResourceAttributes(c.env(envResourceAttributes))
	c.appendErr(err)
	c.resource = append(c.resource,
		semconv.ServiceNameKey.String(defaultServiceName()),
		semconv.ServiceInstanceIDKey.String(defaultInstanceID()))
	c.resource = append(c.resource, envAttrs...)
	if name := c.env(envServiceName); name != "" {
		c.resource = append(c.resource, semconv.ServiceNameKey.String(name))
	}
	c.resource = append(c.resource, c.attrs...)
	if c.serviceName != "" {
		c.resource = append(c.resource, semconv.ServiceNameKey.String(c.serviceName))
	}
	if c.instanceID != "" {
		c.resource = append(c.resource, semconv.ServiceInstanceIDKey.String(c.instanceID))
	}

	if err := errors.Join(c.errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// env returns the trimmed value of an environment variable, "" if unset.
func (c *config) env(name string) string {
	v, _ := c.lookup(name)
	return strings.TrimSpace(v)
}

// envMillis parses a positive number of milliseconds; 0 if unset.
func (c *config) envMillis(name string) (time.Duration, error) {
	v := c.env(name)
	if v == "" {
		return 0, nil
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms <= 0 || ms > math.MaxInt64/int64(time.Millisecond) {
		return 0, fmt.Errorf("%w: %s=%q: want a positive integer number of milliseconds", ErrInvalidEnv, name, v)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// parseExemplarFilter parses OTEL_METRICS_EXEMPLAR_FILTER: "always_on",
// "always_off" or "trace_based". Empty means always_off, runway's default
// (see [WithExemplarFilter]).
func parseExemplarFilter(v string) (exemplar.Filter, error) {
	switch strings.ToLower(v) {
	case "", "always_off":
		return exemplar.AlwaysOffFilter, nil
	case "always_on":
		return exemplar.AlwaysOnFilter, nil
	case "trace_based":
		return exemplar.TraceBasedFilter, nil
	}
	return exemplar.AlwaysOffFilter, fmt.Errorf("%w: %s=%q: want always_off, always_on or trace_based",
		ErrInvalidEnv, envExemplarFilter, v)
}

// parseExporters parses OTEL_METRICS_EXPORTER: a comma-separated list of
// "prometheus", "otlp" and "none" ("none" only alone). Empty means
// Prometheus only.
func parseExporters(v string) (prom, otlp bool, err error) {
	if v == "" {
		return true, false, nil
	}
	none := false
	for item := range strings.SplitSeq(v, ",") {
		switch strings.ToLower(strings.TrimSpace(item)) {
		case "prometheus":
			prom = true
		case "otlp":
			otlp = true
		case "none":
			none = true
		default:
			return false, false, fmt.Errorf("%w: %s=%q: unknown exporter %q (want prometheus, otlp or none)",
				ErrInvalidEnv, envMetricsExporter, v, strings.TrimSpace(item))
		}
	}
	if none && (prom || otlp) {
		return false, false, fmt.Errorf("%w: %s=%q: none cannot be combined with other exporters",
			ErrInvalidEnv, envMetricsExporter, v)
	}
	return prom, otlp, nil
}

// parseEndpoint parses an OTLP/gRPC endpoint: "host[:port]" and
// "http://host[:port]" are plaintext, "https://host[:port]" is TLS.
func parseEndpoint(raw string) (otlpTarget, error) {
	s := raw
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return otlpTarget{}, fmt.Errorf("endpoint %q: %w", raw, err)
	}
	var t otlpTarget
	switch u.Scheme {
	case "http":
	case "https":
		t.tls = true
	default:
		return otlpTarget{}, fmt.Errorf("endpoint %q: scheme %q is not http or https", raw, u.Scheme)
	}
	if u.Hostname() == "" {
		return otlpTarget{}, fmt.Errorf("endpoint %q: no host", raw)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return otlpTarget{}, fmt.Errorf("endpoint %q: want only scheme, host and port", raw)
	}
	port := u.Port()
	if port == "" {
		port = defaultOTLPPort
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return otlpTarget{}, fmt.Errorf("endpoint %q: port %q is not a number in 1-65535", raw, port)
	}
	t.hostPort = net.JoinHostPort(u.Hostname(), port)
	if _, _, err := net.SplitHostPort(t.hostPort); err != nil || strings.ContainsAny(u.Hostname(), "[]") {
		return otlpTarget{}, fmt.Errorf("endpoint %q: host %q is not a host name or IP address", raw, u.Hostname())
	}
	return t, nil
}

// parseResourceAttributes parses OTEL_RESOURCE_ATTRIBUTES:
// "key1=value1,key2=value2" with percent-encoded values.
func parseResourceAttributes(v string) ([]attribute.KeyValue, error) {
	if v == "" {
		return nil, nil
	}
	var attrs []attribute.KeyValue
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, val, ok := strings.Cut(item, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%w: %s: %q is not key=value", ErrInvalidEnv, envResourceAttributes, item)
		}
		decoded, err := url.PathUnescape(strings.TrimSpace(val))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: value of %q: %w", ErrInvalidEnv, envResourceAttributes, k, err)
		}
		attrs = append(attrs, attribute.String(k, decoded))
	}
	return attrs, nil
}

// defaultServiceName is the OpenTelemetry default: "unknown_service:" and
// the executable's name.
func defaultServiceName() string {
	exe, err := os.Executable()
	if err != nil {
		return "unknown_service:go"
	}
	name := exe[strings.LastIndexAny(exe, `/\`)+1:]
	return "unknown_service:" + name
}

// defaultInstanceID is "HOSTNAME-PID": unique per process on a host, and
// stable for the process's lifetime.
func defaultInstanceID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}

func (c *config) appendErr(err error) {
	if err != nil {
		c.errs = append(c.errs, err)
	}
}
