package exporter

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
)

// The fuzz targets below run their seeds (f.Add and testdata/fuzz) with
// every go test; .ci/test fuzzes each for a bounded time.

// FuzzParseEndpoint checks the OTLP endpoint parser on any input: it never
// panics, and what it accepts is a host and a port that gRPC can dial.
func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{
		"collector:4317", "http://c:4317/", "https://gw.example", "[::1]:4317", "localhost",
		"grpc://c:1", "http://", "http://c:4317/v1/metrics", "http://u:p@c:1", "c:99999", "c:-1",
		"http://[::1", "https://c:0", " c:1", "c:1?x", "::1", "[fe80::1%25eth0]:4317",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		target, err := parseEndpoint(raw)
		if err != nil {
			if !strings.Contains(err.Error(), strconv.Quote(raw)) {
				t.Fatalf("error %q does not quote the endpoint", err)
			}
			return
		}
		host, port, err := net.SplitHostPort(target.hostPort)
		if err != nil {
			t.Fatalf("parseEndpoint(%q) accepted %q, which is not host:port: %v", raw, target.hostPort, err)
		}
		if host == "" {
			t.Fatalf("parseEndpoint(%q) accepted an empty host", raw)
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			t.Fatalf("parseEndpoint(%q) accepted port %q, which cannot be dialled", raw, port)
		}
	})
}

// FuzzEnv runs the whole configuration on any values of the environment
// variables it reads: it never panics, and an error wraps ErrInvalidEnv
// and names a variable that was set.
func FuzzEnv(f *testing.F) {
	f.Add("otlp", "http://c:4317", "", "1000", "500", "svc", "service.instance.id=pod-1,team=a%20b")
	f.Add("prometheus,otlp", "", "https://m:1", "5000", "", "", "")
	f.Add("none,otlp", "c:99999", "ftp://x", "-1", "0", "", "k=%zz")
	f.Add("zipkin", "", "", "9223372036854775807", "1e3", "", "=v,k")
	f.Add("", "http://", "", " 10 ", "", "\x00", ",,,")
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
		c, err := newConfig([]Option{mapEnv(env)})
		if err != nil {
			if !errors.Is(err, ErrInvalidEnv) {
				t.Fatalf("error %q does not wrap ErrInvalidEnv", err)
			}
			named := false
			for name, v := range env {
				if v != "" && strings.Contains(err.Error(), name) {
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
		if c.otlp {
			if _, _, err := net.SplitHostPort(c.target.hostPort); err != nil {
				t.Fatalf("OTLP target %q is not host:port", c.target.hostPort)
			}
		}
		for _, kv := range c.resource {
			if !kv.Valid() {
				t.Fatalf("invalid resource attribute %q", kv.Key)
			}
		}
	})
}
