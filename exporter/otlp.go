package exporter

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// The OTLP transport settings read by [New]. For each setting the
// OTEL_EXPORTER_OTLP_METRICS_* form wins over the generic one.
const (
	envOTLPProtocol                 = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envOTLPMetricsProtocol          = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"
	envOTLPHeaders                  = "OTEL_EXPORTER_OTLP_HEADERS"
	envOTLPMetricsHeaders           = "OTEL_EXPORTER_OTLP_METRICS_HEADERS"
	envOTLPCompression              = "OTEL_EXPORTER_OTLP_COMPRESSION"
	envOTLPMetricsCompression       = "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION"
	envOTLPTimeout                  = "OTEL_EXPORTER_OTLP_TIMEOUT"
	envOTLPMetricsTimeout           = "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT"
	envOTLPCertificate              = "OTEL_EXPORTER_OTLP_CERTIFICATE"
	envOTLPMetricsCertificate       = "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE"
	envOTLPClientCertificate        = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"
	envOTLPMetricsClientCertificate = "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE"
	envOTLPClientKey                = "OTEL_EXPORTER_OTLP_CLIENT_KEY"
	envOTLPMetricsClientKey         = "OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY"
	envTemporalityPreference        = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"
)

// The OTLP protocols, as OTEL_EXPORTER_OTLP_PROTOCOL spells them.
const (
	protocolGRPC = "grpc"
	protocolHTTP = "http/protobuf"
)

const (
	// defaultOTLPHTTPEndpoint is the OTLP/HTTP endpoint when the protocol
	// is http/protobuf and neither [WithOTLP] nor the
	// OTEL_EXPORTER_OTLP_*ENDPOINT variables give one.
	defaultOTLPHTTPEndpoint = "http://localhost:4318/v1/metrics"

	defaultOTLPHTTPPort = "4318"
	otlpMetricsPath     = "/v1/metrics"
)

// otlpSettings is what the OTLP options set and, after resolveOTLP, the
// resolved transport.
type otlpSettings struct {
	// Set by options; zero means "not set in code".
	protocol                  string
	headers                   map[string]string
	headersSet                bool
	compression               string
	caFile, certFile, keyFile string
	tlsSet                    bool
	temporality               string

	// Resolved.
	httpURL     string        // the full URL for http/protobuf
	tlsConfig   *tls.Config   // nil: plaintext, or TLS with the system roots
	reqTimeout  time.Duration // one export, retries included
	selector    sdkmetric.TemporalitySelector
	gzip        bool
	resolvedHdr map[string]string // nil: none
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
		if err := checkProtocol(protocol); err != nil {
			c.invalid("WithOTLPProtocol", "%v", err)
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
// OTEL_EXPORTER_OTLP_HEADERS ("key=value,key=value" with percent-encoded
// values), else none. A key that is not an HTTP header name, or a value
// with a control character, is a construction error.
func WithOTLPHeaders(headers map[string]string) Option {
	return optionFunc(func(c *config) {
		for k, v := range headers {
			if err := checkHeader(k, v); err != nil {
				c.invalid("WithOTLPHeaders", "%v", err)
				return
			}
		}
		c.o.headers, c.o.headersSet = headers, true
	})
}

// WithOTLPCompression compresses OTLP exports: "gzip" or "none".
//
// Default: OTEL_EXPORTER_OTLP_METRICS_COMPRESSION, else
// OTEL_EXPORTER_OTLP_COMPRESSION, else none. Any other value is a
// construction error.
func WithOTLPCompression(compression string) Option {
	return optionFunc(func(c *config) {
		if err := checkCompression(compression); err != nil {
			c.invalid("WithOTLPCompression", "%v", err)
			return
		}
		c.o.compression = compression
	})
}

// WithOTLPCertificates configures TLS for an https OTLP endpoint: caFile is
// a PEM file of the certificate authorities that sign the collector's
// certificate (empty: the system's roots), and clientCertFile and
// clientKeyFile a PEM client certificate and its key for mutual TLS (both
// empty: none). The files are read by [New]. They have no effect on a
// plaintext (http) endpoint.
//
// Default: OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE,
// OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE and
// OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY, else their OTEL_EXPORTER_OTLP_*
// forms, else none. A file that cannot be read or parsed, or a client
// certificate without its key (or the reverse), is a construction error.
func WithOTLPCertificates(caFile, clientCertFile, clientKeyFile string) Option {
	return optionFunc(func(c *config) {
		c.o.caFile, c.o.certFile, c.o.keyFile = caFile, clientCertFile, clientKeyFile
		c.o.tlsSet = true
	})
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
		if _, err := temporalitySelector(preference); err != nil {
			c.invalid("WithTemporalityPreference", "%v", err)
			return
		}
		c.o.temporality = preference
	})
}

// resolveOTLP resolves the OTLP transport from the options, the
// environment and the defaults, after the interval and timeout. Errors name
// the option or variable.
func (c *config) resolveOTLP() {
	o := &c.o

	// Protocol.
	if o.protocol == "" {
		name, v := c.envPair(envOTLPMetricsProtocol, envOTLPProtocol)
		if v == "" {
			v = protocolGRPC
		} else if err := checkProtocol(v); err != nil {
			c.errs = append(c.errs, fmt.Errorf("%w: %s: %w", ErrInvalidEnv, name, err))
			v = protocolGRPC
		}
		o.protocol = v
	}

	// Endpoint.
	source, raw, generic := "WithOTLP", c.endpoint, false
	if raw == "" {
		source, raw = envOTLPMetricsEndpoint, c.env(envOTLPMetricsEndpoint)
	}
	if raw == "" {
		source, raw, generic = envOTLPEndpoint, c.env(envOTLPEndpoint), true
	}
	if raw == "" {
		source, raw, generic = "default", defaultOTLPEndpoint, false
		if o.protocol == protocolHTTP {
			raw = defaultOTLPHTTPEndpoint
		}
	}
	var err error
	if o.protocol == protocolHTTP {
		var path pathRule
		switch {
		case generic:
			path = appendMetricsPath
		case source == "WithOTLP":
			path = defaultMetricsPath
		default:
			path = pathAsIs
		}
		c.target, o.httpURL, err = parseHTTPEndpoint(raw, path)
	} else {
		c.target, err = parseEndpoint(raw)
	}
	switch {
	case err == nil:
	case source == "WithOTLP":
		c.invalid("WithOTLP", "%v", err)
	default:
		c.errs = append(c.errs, fmt.Errorf("%w: %s: %w", ErrInvalidEnv, source, err))
	}

	// Headers.
	if o.headersSet {
		o.resolvedHdr = o.headers
	} else if name, v := c.envPair(envOTLPMetricsHeaders, envOTLPHeaders); v != "" {
		h, err := parseHeaders(v)
		if err != nil {
			c.errs = append(c.errs, fmt.Errorf("%w: %s: %w", ErrInvalidEnv, name, err))
		}
		o.resolvedHdr = h
	}

	// Compression.
	if o.compression == "" {
		name, v := c.envPair(envOTLPMetricsCompression, envOTLPCompression)
		if err := checkCompression(v); v != "" && err != nil {
			c.errs = append(c.errs, fmt.Errorf("%w: %s: %w", ErrInvalidEnv, name, err))
		}
		o.compression = v
	}
	o.gzip = strings.EqualFold(o.compression, "gzip")

	// Timeout of one export, never more than the reader's timeout.
	o.reqTimeout = c.timeout
	if name, _ := c.envPair(envOTLPMetricsTimeout, envOTLPTimeout); name != "" {
		d, err := c.envMillis(name)
		c.appendErr(err)
		if d > 0 {
			o.reqTimeout = min(d, c.timeout)
		}
	}

	// TLS, for https endpoints only.
	caName, certName, keyName := "WithOTLPCertificates", "WithOTLPCertificates", "WithOTLPCertificates"
	if !o.tlsSet {
		caName, o.caFile = c.envPair(envOTLPMetricsCertificate, envOTLPCertificate)
		certName, o.certFile = c.envPair(envOTLPMetricsClientCertificate, envOTLPClientCertificate)
		keyName, o.keyFile = c.envPair(envOTLPMetricsClientKey, envOTLPClientKey)
	}
	if c.target.tls {
		o.tlsConfig = c.loadTLS(caName, certName, keyName)
	}

	// Temporality.
	pref := o.temporality
	if pref == "" {
		pref = c.env(envTemporalityPreference)
	}
	sel, err := temporalitySelector(pref)
	if err != nil && o.temporality == "" {
		c.errs = append(c.errs, fmt.Errorf("%w: %s: %w", ErrInvalidEnv, envTemporalityPreference, err))
	}
	o.selector = sel
}

// envPair returns the first of the named variables that is set and not
// empty, with its value; ("", "") if none is.
func (c *config) envPair(names ...string) (name, value string) {
	for _, n := range names {
		if v := c.env(n); v != "" {
			return n, v
		}
	}
	return "", ""
}

// loadTLS reads the CA and client certificate files. It returns nil when
// none is given (TLS with the system's roots).
func (c *config) loadTLS(caName, certName, keyName string) *tls.Config {
	o := &c.o
	if o.caFile == "" && o.certFile == "" && o.keyFile == "" {
		return nil
	}
	bad := func(name, format string, args ...any) {
		if strings.HasPrefix(name, "With") {
			c.invalid(name, format, args...)
			return
		}
		c.errs = append(c.errs, fmt.Errorf("%w: %s: %s", ErrInvalidEnv, name, fmt.Sprintf(format, args...)))
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			bad(caName, "%v", err)
			return nil
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			bad(caName, "%s holds no PEM certificate", o.caFile)
			return nil
		}
		cfg.RootCAs = pool
	}
	switch {
	case o.certFile == "" && o.keyFile == "":
	case o.certFile == "":
		bad(keyName, "a client key without a client certificate")
		return nil
	case o.keyFile == "":
		bad(certName, "a client certificate without its key")
		return nil
	default:
		pair, err := tls.LoadX509KeyPair(o.certFile, o.keyFile)
		if err != nil {
			bad(certName, "%v", err)
			return nil
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg
}

func checkProtocol(p string) error {
	switch p {
	case protocolGRPC, protocolHTTP:
		return nil
	}
	return fmt.Errorf("protocol %q: want grpc or http/protobuf", p)
}

func checkCompression(v string) error {
	switch strings.ToLower(v) {
	case "gzip", "none":
		return nil
	}
	return fmt.Errorf("compression %q: want gzip or none", v)
}

// checkHeader accepts an HTTP header name (an RFC 9110 token) and a value
// without control characters other than tab.
func checkHeader(k, v string) error {
	if k == "" {
		return fmt.Errorf("empty header name")
	}
	for _, r := range k {
		if r >= 0x7f || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return fmt.Errorf("header name %q is not an HTTP token", k)
		}
	}
	for _, r := range v {
		if (r < ' ' && r != '\t') || r == 0x7f {
			return fmt.Errorf("header %q: value has a control character", k)
		}
	}
	return nil
}

// parseHeaders parses "key=value,key=value" with percent-encoded values,
// the format of OTEL_EXPORTER_OTLP_HEADERS.
func parseHeaders(v string) (map[string]string, error) {
	h := map[string]string{}
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, val, ok := strings.Cut(item, "=")
		k = strings.TrimSpace(k)
		if !ok {
			return nil, fmt.Errorf("%q is not key=value", item)
		}
		decoded, err := url.PathUnescape(strings.TrimSpace(val))
		if err != nil {
			return nil, fmt.Errorf("value of %q: %w", k, err)
		}
		if err := checkHeader(k, decoded); err != nil {
			return nil, err
		}
		h[k] = decoded
	}
	return h, nil
}

// pathRule says what the URL path of an OTLP/HTTP endpoint becomes.
type pathRule int

const (
	pathAsIs           pathRule = iota // a signal-specific endpoint: as is, "/" if empty
	appendMetricsPath                  // the generic endpoint: base path + /v1/metrics
	defaultMetricsPath                 // WithOTLP: /v1/metrics if the path is empty
)

// parseHTTPEndpoint parses an OTLP/HTTP endpoint: "http://host[:port][/path]"
// (plaintext), "https://..." (TLS) or "host[:port][/path]" (plaintext, port
// 4318 when missing). A URL with a scheme and no port uses the scheme's port.
// It returns the target and the full URL to post to.
func parseHTTPEndpoint(raw string, rule pathRule) (otlpTarget, string, error) {
	s := raw
	schemeless := !strings.Contains(s, "://")
	if schemeless {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return otlpTarget{}, "", fmt.Errorf("endpoint %q: %w", raw, err)
	}
	var t otlpTarget
	port := u.Port()
	switch u.Scheme {
	case "http":
		if port == "" && !schemeless {
			port = "80"
		}
	case "https":
		t.tls = true
		if port == "" {
			port = "443"
		}
	default:
		return otlpTarget{}, "", fmt.Errorf("endpoint %q: scheme %q is not http or https", raw, u.Scheme)
	}
	if port == "" {
		port = defaultOTLPHTTPPort
	}
	if u.Hostname() == "" {
		return otlpTarget{}, "", fmt.Errorf("endpoint %q: no host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return otlpTarget{}, "", fmt.Errorf("endpoint %q: want only scheme, host, port and path", raw)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return otlpTarget{}, "", fmt.Errorf("endpoint %q: port %q is not a number in 1-65535", raw, port)
	}
	t.hostPort = net.JoinHostPort(u.Hostname(), port)
	if strings.ContainsAny(u.Hostname(), "[]") {
		return otlpTarget{}, "", fmt.Errorf("endpoint %q: host %q is not a host name or IP address", raw, u.Hostname())
	}
	path := u.EscapedPath()
	switch rule {
	case appendMetricsPath:
		path = strings.TrimSuffix(path, "/") + otlpMetricsPath
	case defaultMetricsPath:
		if path == "" || path == "/" {
			path = otlpMetricsPath
		}
	default:
		if path == "" {
			path = "/"
		}
	}
	return t, u.Scheme + "://" + t.hostPort + path, nil
}

// temporalitySelector returns the selector of an
// OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE value (case-insensitive;
// empty is cumulative).
func temporalitySelector(pref string) (sdkmetric.TemporalitySelector, error) {
	switch strings.ToLower(pref) {
	case "", "cumulative":
		return sdkmetric.DefaultTemporalitySelector, nil
	case "delta":
		return func(k sdkmetric.InstrumentKind) metricdata.Temporality {
			switch k {
			case sdkmetric.InstrumentKindCounter, sdkmetric.InstrumentKindObservableCounter, sdkmetric.InstrumentKindHistogram:
				return metricdata.DeltaTemporality
			}
			return metricdata.CumulativeTemporality
		}, nil
	case "lowmemory":
		return func(k sdkmetric.InstrumentKind) metricdata.Temporality {
			switch k {
			case sdkmetric.InstrumentKindCounter, sdkmetric.InstrumentKindHistogram:
				return metricdata.DeltaTemporality
			}
			return metricdata.CumulativeTemporality
		}, nil
	}
	return sdkmetric.DefaultTemporalitySelector, fmt.Errorf("temporality %q: want cumulative, delta or lowmemory", pref)
}

// newOTLPExporter builds the OTLP exporter of the resolved protocol.
func newOTLPExporter(ctx context.Context, c *config) (sdkmetric.Exporter, error) {
	if c.o.protocol == protocolHTTP {
		return otlpmetrichttp.New(ctx, otlpHTTPOptions(c)...)
	}
	return otlpmetricgrpc.New(ctx, otlpOptions(c)...)
}

// otlpHTTPOptions configures the OTLP/HTTP exporter. Every request is
// bounded by the export timeout, and a failed export is retried only within
// it, so exports never pile up behind a collector that hangs.
func otlpHTTPOptions(c *config) []otlpmetrichttp.Option {
	o := &c.o
	opts := []otlpmetrichttp.Option{
		otlpmetrichttp.WithEndpointURL(o.httpURL),
		otlpmetrichttp.WithTimeout(o.reqTimeout),
		otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig(retryConfig(o.reqTimeout))),
		otlpmetrichttp.WithTemporalitySelector(o.selector),
		otlpmetrichttp.WithHeaders(o.resolvedHdr),
		otlpmetrichttp.WithCompression(otlpmetrichttp.NoCompression),
	}
	if o.gzip {
		opts = append(opts, otlpmetrichttp.WithCompression(otlpmetrichttp.GzipCompression))
	}
	if o.tlsConfig != nil {
		opts = append(opts, otlpmetrichttp.WithTLSClientConfig(o.tlsConfig))
	}
	return opts
}

// retryConfig retries a failed export within its own timeout only; the
// next interval sends the cumulative values again.
func retryConfig(timeout time.Duration) otlpmetricgrpc.RetryConfig {
	return otlpmetricgrpc.RetryConfig{
		Enabled:         true,
		InitialInterval: min(max(timeout/10, 10*time.Millisecond), time.Second),
		MaxInterval:     max(timeout/2, 10*time.Millisecond),
		MaxElapsedTime:  timeout,
	}
}

// otlpOptions configures the OTLP/gRPC exporter so that it never blocks the
// application and reconnects quickly to a collector that starts late.
func otlpOptions(c *config) []otlpmetricgrpc.Option {
	o := &c.o
	var opts []otlpmetricgrpc.Option
	switch {
	case c.target.tls && o.tlsConfig != nil:
		opts = append(opts,
			otlpmetricgrpc.WithEndpoint(c.target.hostPort),
			otlpmetricgrpc.WithTLSCredentials(credentials.NewTLS(o.tlsConfig)))
	case c.target.tls:
		// An https URL turns transport security on even if
		// OTEL_EXPORTER_OTLP_INSECURE says otherwise.
		opts = append(opts, otlpmetricgrpc.WithEndpointURL("https://"+c.target.hostPort))
	default:
		opts = append(opts,
			otlpmetricgrpc.WithEndpoint(c.target.hostPort),
			otlpmetricgrpc.WithTLSCredentials(insecure.NewCredentials()))
	}
	opts = append(opts,
		otlpmetricgrpc.WithHeaders(o.resolvedHdr),
		otlpmetricgrpc.WithTemporalitySelector(o.selector),
	)
	if o.gzip {
		opts = append(opts, otlpmetricgrpc.WithCompressor("gzip"))
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

	return append(opts,
		otlpmetricgrpc.WithTimeout(o.reqTimeout),
		otlpmetricgrpc.WithRetry(retryConfig(o.reqTimeout)),
		otlpmetricgrpc.WithDialOption(grpc.WithConnectParams(connect)),
	)
}
