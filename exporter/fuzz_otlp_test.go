package exporter

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseHTTPEndpoint checks the OTLP/HTTP endpoint parser on any input
// and path rule: it never panics, an error quotes the endpoint, and what it
// accepts is an http or https URL with a host and a port that can be dialled
// and a path that starts with "/".
func FuzzParseHTTPEndpoint(f *testing.F) {
	for _, s := range []string{
		"collector:4318", "http://c:4318/", "https://gw.example/otlp", "[::1]:4318", "localhost",
		"grpc://c:1", "http://", "http://c/v1/metrics", "http://u:p@c:1", "c:99999", "http://c:1/#f",
		"http://[::1", "https://c:0/x", " c:1", "c:1?x", "http://c:1/a%2Fb", "http://c:1//",
	} {
		for rule := range 3 {
			f.Add(s, rule)
		}
	}
	f.Fuzz(func(t *testing.T, raw string, rule int) {
		target, full, err := parseHTTPEndpoint(raw, pathRule(((rule%3)+3)%3))
		if err != nil {
			if !strings.Contains(err.Error(), strconv.Quote(raw)) {
				t.Fatalf("error %q does not quote the endpoint", err)
			}
			return
		}
		host, port, err := net.SplitHostPort(target.hostPort)
		if err != nil || host == "" {
			t.Fatalf("parseHTTPEndpoint(%q) accepted %q, which is not host:port", raw, target.hostPort)
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			t.Fatalf("parseHTTPEndpoint(%q) accepted port %q", raw, port)
		}
		u, err := url.Parse(full)
		if err != nil {
			t.Fatalf("parseHTTPEndpoint(%q) built %q, which is not a URL: %v", raw, full, err)
		}
		if (u.Scheme == "https") != target.tls || (u.Scheme != "http" && u.Scheme != "https") {
			t.Fatalf("parseHTTPEndpoint(%q) built %q with tls=%v", raw, full, target.tls)
		}
		if u.Host != target.hostPort || !strings.HasPrefix(u.EscapedPath(), "/") {
			t.Fatalf("parseHTTPEndpoint(%q) built %q for %q", raw, full, target.hostPort)
		}
	})
}

// FuzzParseHeaders checks OTEL_EXPORTER_OTLP_HEADERS parsing on any input:
// it never panics, and every header it accepts is one net/http can send.
func FuzzParseHeaders(f *testing.F) {
	for _, s := range []string{
		"api-key=secret", "a=1,b=2", "k=%20v%20", "k", "=v", "k=%zz", "a b=c", "k=a%0D%0Ab", ",,", "k==v", "k=v=w",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		h, err := parseHeaders(v)
		if err != nil {
			return
		}
		for k, val := range h {
			if k == "" || strings.ContainsAny(k, " \t\r\n:") || strings.ContainsAny(val, "\r\n\x00") {
				t.Fatalf("parseHeaders(%q) accepted %q: %q", v, k, val)
			}
		}
	})
}

// FuzzOTLPEnv runs the configuration with OTLP on and any values of the
// OTLP transport variables: it never panics, an error wraps ErrInvalidEnv
// and names a variable that was set, and an accepted configuration has a
// protocol, a temporality selector and an export timeout within the
// reader's.
func FuzzOTLPEnv(f *testing.F) {
	f.Add("http/protobuf", "http://c:4318/base", "api-key=a%20b", "gzip", "500", "delta")
	f.Add("grpc", "c:4317", "k", "br", "0", "cumulative")
	f.Add("HTTP", "https://c", "=v", "none", "1s", "lowmemory")
	f.Add("", "http://c:1/#x", "a:b=c", "", "-1", "Delta")
	f.Fuzz(func(t *testing.T, protocol, endpoint, headers, compression, timeout, temporality string) {
		env := map[string]string{
			envMetricsExporter:       "otlp",
			envOTLPProtocol:          protocol,
			envOTLPEndpoint:          endpoint,
			envOTLPHeaders:           headers,
			envOTLPCompression:       compression,
			envOTLPTimeout:           timeout,
			envTemporalityPreference: temporality,
		}
		c, err := newConfig([]Option{mapEnv(env)})
		if err != nil {
			if !errors.Is(err, ErrInvalidEnv) {
				t.Fatalf("error %q does not wrap ErrInvalidEnv", err)
			}
			for name, v := range env {
				if name != envMetricsExporter && strings.TrimSpace(v) != "" && strings.Contains(err.Error(), name) {
					return
				}
			}
			t.Fatalf("error %q names no variable that was set", err)
		}
		if c.o.protocol != protocolGRPC && c.o.protocol != protocolHTTP {
			t.Fatalf("protocol %q", c.o.protocol)
		}
		if c.o.selector == nil || c.o.reqTimeout <= 0 || c.o.reqTimeout > c.timeout {
			t.Fatalf("selector %v, request timeout %v (export timeout %v)", c.o.selector != nil, c.o.reqTimeout, c.timeout)
		}
		if c.o.protocol == protocolHTTP && !strings.HasPrefix(c.o.httpURL, "http") {
			t.Fatalf("OTLP/HTTP URL %q", c.o.httpURL)
		}
	})
}
