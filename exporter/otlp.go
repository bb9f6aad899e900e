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

// The OTLP variables: OTEL_EXPORTER_OTLP_ and a suffix, or
// OTEL_EXPORTER_OTLP_METRICS_ and the suffix, which wins. The SDK's
// exporters read them all but the protocol.
const (
	envOTLP                = "OTEL_EXPORTER_OTLP_"
	envOTLPMetrics         = envOTLP + "METRICS_"
	envOTLPEndpoint        = envOTLP + "ENDPOINT"
	envOTLPMetricsEndpoint = envOTLPMetrics + "ENDPOINT"
	envOTLPProtocol        = envOTLP + "PROTOCOL"
	envOTLPMetricsProtocol = envOTLPMetrics + "PROTOCOL"

	protocolGRPC = string(ProtocolGRPC)
	protocolHTTP = string(ProtocolHTTPProtobuf)
)

// otlpChecks are the rules the SDK's reading of each OTLP variable implies
// (by suffix; "METRICS_" ones have no generic form). A value they accept
// is read by the SDK without an error or a warning.
var otlpChecks = []struct {
	suffix string
	check  func(v string, grpcProto bool) error
}{
	{"ENDPOINT", func(v string, g bool) error { _, err := parseEndpoint(v, g, false); return err }},
	{"PROTOCOL", enum(protocolGRPC, protocolHTTP)},
	{"HEADERS", checkEnvHeaders},
	// The SDK compares compression case-sensitively: "GZIP" would not compress.
	{"COMPRESSION", func(v string, _ bool) error {
		if v != "gzip" && v != "none" {
			return errors.New("want gzip or none, in lower case")
		}
		return nil
	}},
	{"TIMEOUT", func(v string, _ bool) error { _, err := parseMillis(v); return err }},
	{"INSECURE", enum("true", "false")},
	{"CERTIFICATE", checkCAFile},
	{"METRICS_TEMPORALITY_PREFERENCE", enum("cumulative", "delta", "lowmemory")},
	{"METRICS_DEFAULT_HISTOGRAM_AGGREGATION", enum("explicit_bucket_histogram", "base2_exponential_bucket_histogram")},
}

// checkOTLP resolves the protocol, checks the OTLP options and every OTLP
// variable, and records the endpoint URL of WithOTLP and the timeout
// variable.
func (c *config) checkOTLP(env environ) {
	o := &c.o
	for _, name := range []string{envOTLPMetricsProtocol, envOTLPProtocol} {
		if v := strings.ToLower(env.get(name)); o.protocol == "" && enum(protocolGRPC, protocolHTTP)(v, false) == nil {
			o.protocol = v
		}
	}
	o.protocol = cmp.Or(o.protocol, protocolGRPC)
	grpcProto := o.protocol == protocolGRPC
	if o.endpoint != "" {
		u, err := parseEndpoint(o.endpoint, grpcProto, true)
		if err != nil {
			c.invalid("WithOTLP", "endpoint %s: %v", shown("WithOTLP", o.endpoint), err)
		}
		c.endpointURL = u
	}
	for k, v := range o.headers {
		if err := checkHeader(k, v, grpcProto); err != nil {
			c.invalid("WithOTLPHeaders", "%v", err)
		}
	}
	for _, rule := range otlpChecks {
		names := []string{envOTLP + rule.suffix}
		if !strings.HasPrefix(rule.suffix, "METRICS_") {
			names = append(names, envOTLPMetrics+rule.suffix)
		}
		for _, name := range names {
			if v := env.get(name); v != "" {
				if err := rule.check(v, grpcProto); err != nil {
					c.errs = append(c.errs, envError(name, v, "%v", err))
				}
			}
		}
	}
	for _, prefix := range []string{envOTLP, envOTLPMetrics} {
		// The SDK applies INSECURE after the scheme: it would send
		// plaintext to an https:// endpoint.
		ep := cmp.Or(env.get(envOTLPMetricsEndpoint), env.get(envOTLPEndpoint))
		if c.endpointURL == nil && strings.EqualFold(env.get(prefix+"INSECURE"), "true") && strings.HasPrefix(strings.ToLower(ep), "https://") {
			c.errs = append(c.errs, envError(prefix+"INSECURE", "true", "contradicts the https:// endpoint: want false, or an endpoint without scheme"))
		}
		cert, key := prefix+"CLIENT_CERTIFICATE", prefix+"CLIENT_KEY"
		if err := checkClientCert(env.get(cert), env.get(key)); err != nil {
			name := cert
			if env.get(cert) == "" {
				name = key
			}
			c.errs = append(c.errs, envError(name, env.get(name), "%v (%s and %s)", err, cert, key))
		}
		d, _ := parseMillis(env.get(prefix + "TIMEOUT"))
		c.otlpTimeout = cmp.Or(d, c.otlpTimeout)
	}
}

// enum accepts one of the values, compared case-insensitively as the
// specification asks for enumerations.
func enum(allowed ...string) func(string, bool) error {
	return func(v string, _ bool) error {
		for _, a := range allowed {
			if strings.EqualFold(v, a) {
				return nil
			}
		}
		return fmt.Errorf("want %s", strings.Join(allowed, ", "))
	}
}

func checkCAFile(file string, _ bool) error {
	pem, err := os.ReadFile(file)
	if err == nil && !x509.NewCertPool().AppendCertsFromPEM(pem) {
		err = errors.New("no PEM certificate in it")
	}
	if err != nil {
		return fmt.Errorf("want a PEM file of CA certificates: %w", err)
	}
	return nil
}

// checkClientCert wants both files or neither (the SDK ignores one alone),
// and a certificate that matches its key.
func checkClientCert(cert, key string) error {
	switch {
	case cert == "" && key == "":
		return nil
	case cert == "" || key == "":
		return errors.New("want a client certificate and its key, or neither")
	}
	if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
		return fmt.Errorf("want a PEM client certificate and its key: %w", err)
	}
	return nil
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

// checkEnvHeaders checks a headers variable as the SDK parses it (see
// keyValues), then as the protocol sends it.
func checkEnvHeaders(v string, grpcProto bool) error {
	return keyValues(v, func(k, val string) error { return checkHeader(k, val, grpcProto) })
}

// checkHeader checks that a header can be sent: for HTTP a token key
// (RFC 9110) and a value without control characters but tab; for gRPC a
// key of [0-9a-z-_.] once lower-cased, and a printable ASCII value unless
// the key ends in "-bin". The error shows the key, never the value.
func checkHeader(k, v string, grpcProto bool) error {
	if k == "" || strings.ContainsFunc(k, func(r rune) bool {
		return r >= 0x7f || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
	}) {
		return fmt.Errorf("header key %s is not an HTTP token", shown("", k))
	}
	if !grpcProto {
		if strings.ContainsFunc(v, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			return fmt.Errorf("header %s: want a value without control characters", shown("", k))
		}
		return nil
	}
	if strings.Trim(strings.ToLower(k), "abcdefghijklmnopqrstuvwxyz0123456789-_.") != "" {
		return fmt.Errorf("header key %s: gRPC allows only 0-9, a-z, -, _ and .", shown("", k))
	}
	if !strings.HasSuffix(strings.ToLower(k), "-bin") && strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r > '~' }) {
		return fmt.Errorf("header %s: gRPC wants a value of printable ASCII", shown("", k))
	}
	return nil
}

// otlpOptions are the options runway gives one of the SDK's OTLP
// exporters, whose types differ.
type otlpOptions[O any] struct {
	endpointURL func(string) O
	insecure    func() O
	timeout     func(time.Duration) O
	temporality func(sdkmetric.TemporalitySelector) O
	headers     func(map[string]string) O
}

// build returns the code options, and runway's defaults where a variable
// is unset: the SDK applies them after reading the environment.
func (f otlpOptions[O]) build(c *config, timeout time.Duration) []O {
	env, o := c.env, &c.o
	var opts []O
	if c.endpointURL != nil {
		opts = append(opts, f.endpointURL(c.endpointURL.String()))
	} else if ep := cmp.Or(env.get(envOTLPMetricsEndpoint), env.get(envOTLPEndpoint)); !strings.Contains(ep, "://") &&
		env.get(envOTLP+"INSECURE") == "" && env.get(envOTLPMetrics+"INSECURE") == "" {
		// Plaintext for an endpoint without scheme, or none (localhost).
		opts = append(opts, f.insecure())
	}
	if env.get(envOTLP+"TIMEOUT") == "" && env.get(envOTLPMetrics+"TIMEOUT") == "" {
		opts = append(opts, f.timeout(timeout))
	}
	if o.temporality != "" {
		opts = append(opts, f.temporality(temporality(o.temporality)))
	}
	if o.headersSet {
		opts = append(opts, f.headers(o.headers))
	}
	return opts
}

// newOTLPExporter builds the SDK's OTLP exporter of the protocol. It reads
// the OTEL_EXPORTER_OTLP_* variables itself; runway adds the code options
// and its defaults.
func newOTLPExporter(ctx context.Context, c *config) (sdkmetric.Exporter, error) {
	// One request is bounded by the timeout variable or the export
	// timeout, and retried within it only: the next interval sends the
	// cumulative values again.
	timeout := min(cmp.Or(c.otlpTimeout, c.timeout), c.timeout)
	retry := otlpmetricgrpc.RetryConfig{
		Enabled:         true,
		InitialInterval: min(max(timeout/10, 10*time.Millisecond), time.Second),
		MaxInterval:     max(timeout/2, 10*time.Millisecond),
		MaxElapsedTime:  timeout,
	}
	if c.o.protocol == protocolHTTP {
		opts := otlpOptions[otlpmetrichttp.Option]{otlpmetrichttp.WithEndpointURL, otlpmetrichttp.WithInsecure,
			otlpmetrichttp.WithTimeout, otlpmetrichttp.WithTemporalitySelector, otlpmetrichttp.WithHeaders}.build(c, timeout)
		return otlpmetrichttp.New(ctx, append(opts, otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig(retry)))...)
	}
	opts := otlpOptions[otlpmetricgrpc.Option]{otlpmetricgrpc.WithEndpointURL, otlpmetricgrpc.WithInsecure,
		otlpmetricgrpc.WithTimeout, otlpmetricgrpc.WithTemporalitySelector, otlpmetricgrpc.WithHeaders}.build(c, timeout)
	if c.endpointURL != nil && c.endpointURL.Scheme == "http" {
		// Plaintext in code wins over a certificate variable, which would
		// turn TLS on.
		opts = append(opts, otlpmetricgrpc.WithTLSCredentials(insecure.NewCredentials()))
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
	return otlpmetricgrpc.New(ctx, append(opts, otlpmetricgrpc.WithRetry(retry),
		otlpmetricgrpc.WithDialOption(grpc.WithConnectParams(connect)))...)
}
