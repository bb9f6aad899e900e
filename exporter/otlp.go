package exporter

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
)

// The OTLP variables. The exporters of the OpenTelemetry SDK read them
// (all but the protocol); runway checks them first, with the rules the SDK
// applies, and names a bad one. The METRICS_ form wins over the generic one.
const (
	envOTLPEndpoint                 = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envOTLPMetricsEndpoint          = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"
	envOTLPProtocol                 = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envOTLPMetricsProtocol          = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"
	envOTLPHeaders                  = "OTEL_EXPORTER_OTLP_HEADERS"
	envOTLPMetricsHeaders           = "OTEL_EXPORTER_OTLP_METRICS_HEADERS"
	envOTLPCompression              = "OTEL_EXPORTER_OTLP_COMPRESSION"
	envOTLPMetricsCompression       = "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION"
	envOTLPTimeout                  = "OTEL_EXPORTER_OTLP_TIMEOUT"
	envOTLPMetricsTimeout           = "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT"
	envOTLPInsecure                 = "OTEL_EXPORTER_OTLP_INSECURE"
	envOTLPMetricsInsecure          = "OTEL_EXPORTER_OTLP_METRICS_INSECURE"
	envOTLPCertificate              = "OTEL_EXPORTER_OTLP_CERTIFICATE"
	envOTLPMetricsCertificate       = "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE"
	envOTLPClientCertificate        = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"
	envOTLPMetricsClientCertificate = "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE"
	envOTLPClientKey                = "OTEL_EXPORTER_OTLP_CLIENT_KEY"
	envOTLPMetricsClientKey         = "OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY"
	envTemporalityPreference        = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"
	envHistogramAggregation         = "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION"
)

// The OTLP protocols, as OTEL_EXPORTER_OTLP_PROTOCOL spells them.
const (
	protocolGRPC = "grpc"
	protocolHTTP = "http/protobuf"
)

// otlpSettings is what the OTLP options set; zero means "not set in code".
type otlpSettings struct {
	endpoint    string
	protocol    string
	headers     map[string]string
	headersSet  bool
	temporality string
}

// WithOTLPProtocol chooses the OTLP transport: "grpc" (OTLP/gRPC) or
// "http/protobuf" (OTLP/HTTP with binary protobuf bodies, which is what
// Prometheus' own OTLP receiver and many vendors accept). It takes effect
// when OTLP is enabled ([WithOTLP] or OTEL_METRICS_EXPORTER).
//
// Default: OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, else
// OTEL_EXPORTER_OTLP_PROTOCOL, else "grpc" (runway's default since its first
// release; the OpenTelemetry specification's default is http/protobuf).
// Any other value, "http/json" included, is a construction error.
func WithOTLPProtocol(protocol string) Option {
	return optionFunc(func(c *config) {
		if protocol != protocolGRPC && protocol != protocolHTTP {
			c.invalid("WithOTLPProtocol", "protocol %q: want grpc or http/protobuf", protocol)
			return
		}
		c.o.protocol = protocol
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

// WithTemporalityPreference chooses the temporality of OTLP exports, with
// the OpenTelemetry specification's meaning:
//
//   - "cumulative": every instrument sends its total since the start. An
//     export that fails is made good by the next one.
//   - "delta": counters (synchronous and observable) and histograms send
//     what happened since the last export; up-down counters, runway's
//     requests in flight among them, stay cumulative, so their value is
//     still the absolute number. A failed export loses its interval.
//   - "lowmemory": synchronous counters and histograms send deltas; the
//     observable counters and up-down counters stay cumulative.
//
// Prometheus needs cumulative values: behind a delta exporter put the
// collector's deltatocumulative processor (see docs/collector.md). The
// Prometheus pull exporter is always cumulative.
//
// Default: OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, else
// cumulative. Any other value is a construction error.
func WithTemporalityPreference(preference string) Option {
	return optionFunc(func(c *config) {
		if temporality(preference) == nil {
			c.invalid("WithTemporalityPreference", "%q: want cumulative, delta or lowmemory", preference)
			return
		}
		c.o.temporality = preference
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

// checkOTLP resolves the protocol and checks the OTLP options and every
// OTLP variable with the rules the SDK's exporters apply (and, for grpc
// headers, the rules gRPC applies on every export). It records the
// endpoint URL of WithOTLP, and c.otlpTimeout.
func (c *config) checkOTLP(env environ) {
	o := &c.o
	if o.protocol == "" {
		for _, name := range []string{envOTLPMetricsProtocol, envOTLPProtocol} {
			p, err := oneOf(env, name, protocolGRPC, protocolHTTP)
			c.appendErr(err)
			o.protocol = cmp.Or(o.protocol, p)
		}
		o.protocol = cmp.Or(o.protocol, protocolGRPC)
	}
	grpcProto := o.protocol == protocolGRPC
	if o.endpoint != "" {
		u, err := parseEndpoint(o.endpoint, grpcProto, true)
		if err != nil {
			c.invalid("WithOTLP", "endpoint %s: %v", shown("", o.endpoint), err)
		}
		c.endpointURL = u
	}
	for _, name := range []string{envOTLPEndpoint, envOTLPMetricsEndpoint} {
		if v := env.get(name); v != "" {
			if _, err := parseEndpoint(v, grpcProto, false); err != nil {
				c.errs = append(c.errs, envError(name, v, "%v", err))
			}
		}
	}
	if o.headersSet {
		for k, v := range o.headers {
			if err := checkHeader(k, v, grpcProto); err != nil {
				c.invalid("WithOTLPHeaders", "%v", err)
			}
		}
	}
	for _, name := range []string{envOTLPHeaders, envOTLPMetricsHeaders} {
		if v := env.get(name); v != "" {
			c.appendErr(checkEnvHeaders(name, v, grpcProto))
		}
	}
	for _, name := range []string{envOTLPCompression, envOTLPMetricsCompression} {
		// The SDK compares case-sensitively: "GZIP" would not compress.
		if v := env.get(name); v != "" && v != "gzip" && v != "none" {
			c.errs = append(c.errs, envError(name, v, "want gzip or none, in lower case"))
		}
	}
	for _, name := range []string{envOTLPTimeout, envOTLPMetricsTimeout} {
		d, err := millis(env, name)
		c.appendErr(err)
		c.otlpTimeout = cmp.Or(d, c.otlpTimeout)
	}
	for _, name := range []string{envOTLPInsecure, envOTLPMetricsInsecure} {
		_, err := oneOf(env, name, "true", "false")
		c.appendErr(err)
	}
	for _, name := range []string{envOTLPCertificate, envOTLPMetricsCertificate} {
		if v := env.get(name); v != "" {
			pem, err := os.ReadFile(v)
			if err == nil && !x509.NewCertPool().AppendCertsFromPEM(pem) {
				err = errors.New("holds no PEM certificate")
			}
			if err != nil {
				c.errs = append(c.errs, envError(name, v, "want a PEM file of CA certificates: %v", err))
			}
		}
	}
	c.checkClientCert(env, envOTLPClientCertificate, envOTLPClientKey)
	c.checkClientCert(env, envOTLPMetricsClientCertificate, envOTLPMetricsClientKey)
	_, err := oneOf(env, envTemporalityPreference, "cumulative", "delta", "lowmemory")
	c.appendErr(err)
	_, err = oneOf(env, envHistogramAggregation, "explicit_bucket_histogram", "base2_exponential_bucket_histogram")
	c.appendErr(err)
}

// checkClientCert checks a client certificate and key pair: both or
// neither (the SDK ignores one alone), and loadable.
func (c *config) checkClientCert(env environ, certName, keyName string) {
	cert, key := env.get(certName), env.get(keyName)
	switch {
	case cert == "" && key == "":
	case cert == "":
		c.errs = append(c.errs, envError(keyName, key, "a client key without %s: want both or neither", certName))
	case key == "":
		c.errs = append(c.errs, envError(certName, cert, "a client certificate without %s: want both or neither", keyName))
	default:
		if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
			c.errs = append(c.errs, envError(certName, cert, "want a PEM certificate matching %s: %v", keyName, err))
		}
	}
}

// parseEndpoint checks an OTLP endpoint. A URL (http:// is plaintext,
// https:// is TLS) must have a host and nothing the exporter would drop
// (user information, query, fragment; for grpc, a path). For grpc,
// "host:port" is accepted too. In code (WithOTLP), "host[:port]" is
// plaintext, the port defaults to 4317 for grpc (4318 for a host without
// scheme with http/protobuf), and an http/protobuf URL without a path gets
// /v1/metrics. It returns the URL to give the exporter.
func parseEndpoint(raw string, grpcProto, code bool) (*url.URL, error) {
	const want = "want http://host:port or https://host:port"
	schemeless := !strings.Contains(raw, "://")
	if schemeless && !code {
		if !grpcProto {
			return nil, fmt.Errorf("no scheme: %s, and a path if need be", want)
		}
		// The gRPC exporter parses it as a URL whose scheme is the host.
		_, port, err := net.SplitHostPort(raw)
		if _, perr := url.Parse(raw); err != nil || perr != nil || port == "" || strings.Contains(raw, "@") {
			return nil, fmt.Errorf("%s, or host:port with a host name", want)
		}
	}
	s := raw
	if schemeless {
		s = "http://" + raw
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %s", want)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("scheme %q: %s", u.Scheme, want)
	case u.Hostname() == "":
		return nil, fmt.Errorf("no host: %s", want)
	case u.User != nil:
		return nil, errors.New("user information is not sent: put credentials in the headers")
	case u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return nil, fmt.Errorf("a query or fragment is not sent: %s", want)
	case grpcProto && u.Path != "" && u.Path != "/":
		return nil, fmt.Errorf("gRPC sends no path: %s", want)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
			return nil, fmt.Errorf("port %q is not in 1-65535", p)
		}
	} else if code && (grpcProto || schemeless) {
		u.Host = net.JoinHostPort(u.Hostname(), map[bool]string{true: "4317", false: "4318"}[grpcProto])
	}
	if code && !grpcProto && (u.Path == "" || u.Path == "/") {
		u.Path = "/v1/metrics"
	}
	return u, nil
}

// checkEnvHeaders checks a headers variable as the SDK parses it:
// "key=value" items separated by commas, keys HTTP tokens, values
// percent-encoded, then trimmed; then as the protocol sends them.
func checkEnvHeaders(name, v string, grpcProto bool) error {
	for i, item := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(item, "=")
		if !ok {
			return envError(name, v, "item %d is not key=value: want key=value,key=value with percent-encoded values", i+1)
		}
		decoded, err := url.PathUnescape(val)
		if err != nil {
			return envError(name, v, "item %d: the value is not percent-encoded", i+1)
		}
		if err := checkHeader(strings.TrimSpace(k), strings.TrimSpace(decoded), grpcProto); err != nil {
			return envError(name, v, "%v", err)
		}
	}
	return nil
}

// checkHeader checks that a header can be sent: for HTTP a token key
// (RFC 9110) and a value without control characters but tab; for gRPC a
// key of [0-9a-z-_.] once lower-cased, and a printable ASCII value unless
// the key ends in "-bin". The error shows the key, never the value.
func checkHeader(k, v string, grpcProto bool) error {
	if k == "" {
		return errors.New("empty header key")
	}
	for _, r := range k {
		if r >= 0x7f || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return fmt.Errorf("header key %s is not an HTTP token", shown("", k))
		}
	}
	if grpcProto && strings.Trim(strings.ToLower(k), "abcdefghijklmnopqrstuvwxyz0123456789-_.") != "" {
		return fmt.Errorf("header key %s: gRPC allows only 0-9, a-z, -, _ and .", shown("", k))
	}
	if grpcProto && strings.HasSuffix(strings.ToLower(k), "-bin") {
		return nil
	}
	for _, r := range v {
		if (r < ' ' && (r != '\t' || grpcProto)) || r == 0x7f || (grpcProto && r > 0x7e) {
			return fmt.Errorf("header %s: the value has a character %s cannot send (want %s)", shown("", k),
				map[bool]string{true: "gRPC", false: "HTTP"}[grpcProto],
				map[bool]string{true: "printable ASCII", false: "no control characters"}[grpcProto])
		}
	}
	return nil
}

// newOTLPExporter builds the SDK's OTLP exporter of the protocol. The
// exporter reads the OTEL_EXPORTER_OTLP_* variables itself; runway adds
// its defaults only where a variable is unset, and the code options.
func newOTLPExporter(ctx context.Context, c *config) (sdkmetric.Exporter, error) {
	env := c.env
	// The request timeout: the variable, else the export timeout; never
	// more than the export timeout. Failed requests are retried within it
	// only: the next interval sends the cumulative values again.
	timeout := min(cmp.Or(c.otlpTimeout, c.timeout), c.timeout)
	retry := otlpmetricgrpc.RetryConfig{
		Enabled:         true,
		InitialInterval: min(max(timeout/10, 10*time.Millisecond), time.Second),
		MaxInterval:     max(timeout/2, 10*time.Millisecond),
		MaxElapsedTime:  timeout,
	}
	o := &c.o
	endpoint := c.endpointURL != nil
	// Where no endpoint is given in code and OTEL_EXPORTER_OTLP_*INSECURE
	// is unset, runway's default is plaintext for an endpoint without
	// scheme: the local collector by default, host:port as WithOTLP reads it.
	ep := cmp.Or(env.get(envOTLPMetricsEndpoint), env.get(envOTLPEndpoint))
	plaintext := !endpoint && !strings.Contains(ep, "://") &&
		env.get(envOTLPInsecure) == "" && env.get(envOTLPMetricsInsecure) == ""
	timeoutOpt := env.get(envOTLPTimeout) == "" && env.get(envOTLPMetricsTimeout) == ""
	temporalityOpt, headersOpt := o.temporality != "", o.headersSet

	if o.protocol == protocolHTTP {
		opts := []otlpmetrichttp.Option{otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig(retry))}
		if endpoint {
			opts = append(opts, otlpmetrichttp.WithEndpointURL(c.endpointURL.String()))
		}
		if plaintext {
			opts = append(opts, otlpmetrichttp.WithInsecure())
		}
		if timeoutOpt {
			opts = append(opts, otlpmetrichttp.WithTimeout(timeout))
		}
		if temporalityOpt {
			opts = append(opts, otlpmetrichttp.WithTemporalitySelector(temporality(o.temporality)))
		}
		if headersOpt {
			opts = append(opts, otlpmetrichttp.WithHeaders(o.headers))
		}
		return otlpmetrichttp.New(ctx, opts...)
	}

	// gRPC's reconnect backoff grows to 120 s by default: a collector that
	// comes up after the application would see nothing for minutes. Keep
	// the longest wait between connection attempts at half an interval
	// (jitter adds up to 20 %), so data flows within two intervals.
	maxDelay := max(c.interval/2, 10*time.Millisecond)
	connect := grpc.ConnectParams{
		Backoff: backoff.Config{
			BaseDelay:  min(time.Second, maxDelay),
			Multiplier: backoff.DefaultConfig.Multiplier,
			Jitter:     backoff.DefaultConfig.Jitter,
			MaxDelay:   maxDelay,
		},
		MinConnectTimeout: max(c.interval, time.Second),
	}
	opts := []otlpmetricgrpc.Option{
		otlpmetricgrpc.WithRetry(retry),
		otlpmetricgrpc.WithDialOption(grpc.WithConnectParams(connect)),
	}
	if endpoint {
		opts = append(opts, otlpmetricgrpc.WithEndpointURL(c.endpointURL.String()))
		if c.endpointURL.Scheme == "http" {
			// Plaintext in code wins over a certificate variable, which
			// would turn TLS on.
			opts = append(opts, otlpmetricgrpc.WithTLSCredentials(insecure.NewCredentials()))
		}
	}
	if plaintext {
		opts = append(opts, otlpmetricgrpc.WithInsecure())
	}
	if timeoutOpt {
		opts = append(opts, otlpmetricgrpc.WithTimeout(timeout))
	}
	if temporalityOpt {
		opts = append(opts, otlpmetricgrpc.WithTemporalitySelector(temporality(o.temporality)))
	}
	if headersOpt {
		opts = append(opts, otlpmetricgrpc.WithHeaders(o.headers))
	}
	return otlpmetricgrpc.New(ctx, opts...)
}
