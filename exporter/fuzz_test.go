package exporter

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// The fuzz targets below run their seeds (f.Add and testdata/fuzz) with
// every go test; .ci/test fuzzes each for a bounded time.

// FuzzParseEndpoint checks the OTLP endpoint check on any input, for both
// protocols, in code and in the environment: it never panics, it never
// echoes user information, and what it accepts is an http or https URL
// with a host and a usable port that the SDK's exporters can read.
func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{
		"collector:4317", "http://c:4317/", "https://gw.example", "[::1]:4317", "localhost",
		"grpc://c:1", "http://", "http://c:4317/v1/metrics", "http://u:s3cret@c:1", "c:99999", "c:-1",
		"http://[::1", "https://c:0", " c:1", "c:1?x", "::1", "[fe80::1%25eth0]:4317", "10.0.0.1:4317",
		"u:s3cret@c:1", "HTTPS://C:1/", "http://c:1/#f",
	} {
		f.Add(s, true, true)
		f.Add(s, false, false)
	}
	f.Fuzz(func(t *testing.T, raw string, grpcProto, code bool) {
		u, err := parseEndpoint(raw, grpcProto, code)
		if err != nil {
			if strings.Contains(raw, "s3cret") && strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error %q echoes user information", err)
			}
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Hostname() == "" || u.User != nil {
			t.Fatalf("parseEndpoint(%q) accepted %q", raw, u)
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
				t.Fatalf("parseEndpoint(%q) accepted port %q", raw, p)
			}
		} else if code && grpcProto {
			t.Fatalf("parseEndpoint(%q) gives gRPC no port: %q", raw, u)
		}
		if !code {
			// The SDK parses the variable with url.Parse and reads its host.
			if _, err := url.Parse(raw); err != nil {
				t.Fatalf("parseEndpoint(%q) accepted what the SDK cannot parse: %v", raw, err)
			}
			if !strings.Contains(raw, "://") {
				if _, _, err := net.SplitHostPort(raw); err != nil || !grpcProto {
					t.Fatalf("parseEndpoint(%q) accepted a URL without scheme", raw)
				}
			}
		}
		if _, err := url.Parse(u.String()); err != nil {
			t.Fatalf("parseEndpoint(%q) built %q, which is not a URL", raw, u)
		}
	})
}

// FuzzEnv runs the whole configuration on any values of the environment
// variables it reads: it never panics, an error wraps ErrInvalidEnv, names
// a variable that was set and stays short whatever the input's length.
func FuzzEnv(f *testing.F) {
	f.Add("otlp", "http://c:4317", "", "1000", "500", "svc", "service.instance.id=pod-1,team=a%20b")
	f.Add("prometheus,otlp", "", "https://m:1", "5000", "", "", "")
	f.Add("none,otlp", "c:99999", "ftp://x", "-1", "0", "", "k=%zz")
	f.Add("zipkin", "", "", "9223372036854775807", "1e3", "", "=v,k")
	f.Add("", "http://", "", " 10 ", "", "\x00", ",,,")
	f.Add("otlpp"+strings.Repeat("x", 5000), "http://u:s3cret@c:1", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, exporters, endpoint, metricsEndpoint, interval, timeout, service, attrs string) {
		env := map[string]string{
			envMetricsExporter:     exporters,
			envOTLPEndpoint:        endpoint,
			envOTLPMetricsEndpoint: metricsEndpoint,
			envExportInterval:      interval,
			envExportTimeout:       timeout,
			envServiceName:         service,
			envResourceAttributes:  attrs,
		}
		c, err := newConfig(nil, mapEnviron(env))
		if err != nil {
			if !errors.Is(err, ErrInvalidEnv) {
				t.Fatalf("error %q does not wrap ErrInvalidEnv", err)
			}
			if len(err.Error()) > 8*(maxShown*2+300) {
				t.Fatalf("error of %d bytes", len(err.Error()))
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error %q echoes user information", err)
			}
			named := false
			for name, v := range env {
				if strings.TrimSpace(v) != "" && strings.Contains(err.Error(), name) {
					named = true
				}
			}
			if !named {
				t.Fatalf("error %q names no variable that was set", err)
			}
			return
		}
		if c.interval <= 0 || c.timeout <= 0 || c.timeout > c.interval {
			t.Fatalf("interval %v, timeout %v", c.interval, c.timeout)
		}
	})
}
