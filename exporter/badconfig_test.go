package exporter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/otel-runway/runway/instrument"
)

// TestBadConfiguration goes through every option and environment variable
// of the exporter, and the middleware options passed through it, with
// values that cannot be used: each must fail construction with an error
// that wraps the right sentinel and names the option or variable; none may
// panic, and none may be accepted silently.
func TestBadConfiguration(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	missing := filepath.Join(t.TempDir(), "missing.pem")
	hash := bcryptHash(t, "pw")

	type env = map[string]string
	for _, tc := range []struct {
		name  string
		env   env
		opts  []Option
		want  error
		names []string // every one must appear in the error
	}{
		// Options.
		{name: "WithServiceName empty", opts: []Option{WithServiceName("")}, want: ErrInvalidOption, names: []string{"WithServiceName"}},
		{name: "WithServiceInstanceID empty", opts: []Option{WithServiceInstanceID("")}, want: ErrInvalidOption, names: []string{"WithServiceInstanceID"}},
		{name: "WithResourceAttributes empty key", opts: []Option{WithResourceAttributes(attribute.String("", "v"))}, want: ErrInvalidOption, names: []string{"WithResourceAttributes"}},
		{name: "WithOTLP bad scheme", opts: []Option{WithOTLP("unix:///otlp.sock")}, want: ErrInvalidOption, names: []string{"WithOTLP"}},
		{name: "WithOTLP path", opts: []Option{WithOTLP("http://c:4317/v1/metrics")}, want: ErrInvalidOption, names: []string{"WithOTLP"}},
		{name: "WithOTLP port out of range", opts: []Option{WithOTLP("c:70000")}, want: ErrInvalidOption, names: []string{"WithOTLP"}},
		{name: "WithOTLP no host", opts: []Option{WithOTLP("http://:4317")}, want: ErrInvalidOption, names: []string{"WithOTLP"}},
		{name: "WithExportInterval zero", opts: []Option{WithExportInterval(0)}, want: ErrInvalidOption, names: []string{"WithExportInterval"}},
		{name: "WithExportInterval negative", opts: []Option{WithExportInterval(-1)}, want: ErrInvalidOption, names: []string{"WithExportInterval"}},
		{name: "WithExportTimeout zero", opts: []Option{WithExportTimeout(0)}, want: ErrInvalidOption, names: []string{"WithExportTimeout"}},
		{name: "WithMetricsAddr no port", opts: []Option{WithMetricsAddr("localhost")}, want: ErrInvalidOption, names: []string{"WithMetricsAddr"}},
		{name: "WithMetricsAddr bad port", opts: []Option{WithMetricsAddr(":http-alt")}, want: ErrInvalidOption, names: []string{"WithMetricsAddr"}},
		{name: "WithMetricsAddr port out of range", opts: []Option{WithMetricsAddr(":65536")}, want: ErrInvalidOption, names: []string{"WithMetricsAddr"}},
		{name: "WithMetricsAddr without Prometheus", opts: []Option{WithOTLP("c:1"), WithMetricsAddr(":0")}, want: ErrInvalidOption, names: []string{"WithMetricsAddr"}},
		{name: "WithMetricsAddr in use", opts: []Option{WithMetricsAddr(busy.Addr().String())}, want: ErrListen, names: []string{"WithMetricsAddr", busy.Addr().String()}},
		{name: "WithPrometheusRegistry nil", opts: []Option{WithPrometheusRegistry(nil)}, want: ErrInvalidOption, names: []string{"WithPrometheusRegistry"}},
		{name: "WithMetricsTLS empty", opts: []Option{WithMetricsAddr("127.0.0.1:0"), WithMetricsTLS("", "")}, want: ErrInvalidOption, names: []string{"WithMetricsTLS"}},
		{name: "WithMetricsTLS missing files", opts: []Option{WithMetricsAddr("127.0.0.1:0"), WithMetricsTLS(missing, missing)}, want: ErrInvalidOption, names: []string{"WithMetricsTLS", "missing.pem"}},
		{name: "WithMetricsTLS without WithMetricsAddr", opts: []Option{WithMetricsTLS(missing, missing)}, want: ErrInvalidOption, names: []string{"WithMetricsTLS", "WithMetricsAddr"}},
		{name: "WithMetricsBasicAuth empty user", opts: []Option{WithMetricsAddr("127.0.0.1:0"), WithMetricsBasicAuth("", hash)}, want: ErrInvalidOption, names: []string{"WithMetricsBasicAuth", "empty user"}},
		{name: "WithMetricsBasicAuth plain password", opts: []Option{WithMetricsAddr("127.0.0.1:0"), WithMetricsBasicAuth("u", "pw")}, want: ErrInvalidOption, names: []string{"WithMetricsBasicAuth", "bcrypt"}},
		{name: "WithMetricsBasicAuth user twice", opts: []Option{WithMetricsAddr("127.0.0.1:0"), WithMetricsBasicAuth("u", hash), WithMetricsBasicAuth("u", hash)}, want: ErrInvalidOption, names: []string{"WithMetricsBasicAuth", "twice"}},
		{name: "WithMetricsBasicAuth without WithMetricsAddr", opts: []Option{WithMetricsBasicAuth("u", hash)}, want: ErrInvalidOption, names: []string{"WithMetricsBasicAuth", "WithMetricsAddr"}},

		// Environment variables.
		{name: "OTEL_METRICS_EXPORTER unknown", env: env{envMetricsExporter: "prometheus,zipkin"}, want: ErrInvalidEnv, names: []string{envMetricsExporter, "zipkin"}},
		{name: "OTEL_METRICS_EXPORTER none with others", env: env{envMetricsExporter: "none,otlp"}, want: ErrInvalidEnv, names: []string{envMetricsExporter}},
		{name: "OTEL_EXPORTER_OTLP_ENDPOINT bad scheme", env: env{envMetricsExporter: "otlp", envOTLPEndpoint: "grpc://c:4317"}, want: ErrInvalidEnv, names: []string{envOTLPEndpoint}},
		{name: "OTEL_EXPORTER_OTLP_ENDPOINT port 0", env: env{envMetricsExporter: "otlp", envOTLPEndpoint: "c:0"}, want: ErrInvalidEnv, names: []string{envOTLPEndpoint}},
		{name: "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT query", env: env{envMetricsExporter: "otlp", envOTLPMetricsEndpoint: "http://c:1?x=y"}, want: ErrInvalidEnv, names: []string{envOTLPMetricsEndpoint}},
		{name: "OTEL_METRIC_EXPORT_INTERVAL with unit", env: env{envExportInterval: "5s"}, want: ErrInvalidEnv, names: []string{envExportInterval}},
		{name: "OTEL_METRIC_EXPORT_INTERVAL zero", env: env{envExportInterval: "0"}, want: ErrInvalidEnv, names: []string{envExportInterval}},
		{name: "OTEL_METRIC_EXPORT_INTERVAL overflow", env: env{envExportInterval: fmt.Sprint(uint64(math.MaxInt64))}, want: ErrInvalidEnv, names: []string{envExportInterval}},
		{name: "OTEL_METRIC_EXPORT_TIMEOUT negative", env: env{envExportTimeout: "-1"}, want: ErrInvalidEnv, names: []string{envExportTimeout}},
		{name: "OTEL_METRIC_EXPORT_TIMEOUT float", env: env{envExportTimeout: "1.5"}, want: ErrInvalidEnv, names: []string{envExportTimeout}},
		{name: "OTEL_RESOURCE_ATTRIBUTES no =", env: env{envResourceAttributes: "team"}, want: ErrInvalidEnv, names: []string{envResourceAttributes}},
		{name: "OTEL_RESOURCE_ATTRIBUTES empty key", env: env{envResourceAttributes: "=v"}, want: ErrInvalidEnv, names: []string{envResourceAttributes}},
		{name: "OTEL_RESOURCE_ATTRIBUTES bad escape", env: env{envResourceAttributes: "k=%zz"}, want: ErrInvalidEnv, names: []string{envResourceAttributes}},

		// Several at once: all are reported.
		{name: "every bad value is reported", env: env{envExportInterval: "soon", envResourceAttributes: "x"},
			opts: []Option{WithServiceName("")}, want: ErrInvalidEnv, names: []string{envExportInterval, envResourceAttributes, "WithServiceName"}},

		// Middleware options, through Setup.
		{name: "WithInstrumentOptions bad route group", opts: []Option{WithInstrumentOptions(instrument.WithRouteGroups(instrument.RouteGroup{Pattern: "^/api/[", Name: "api"}))},
			want: instrument.ErrInvalidOption, names: []string{"WithInstrumentOptions", "WithRouteGroups"}},
		{name: "WithInstrumentOptions bad buckets", opts: []Option{WithInstrumentOptions(instrument.WithDurationBuckets(1, 0.5))},
			want: instrument.ErrInvalidOption, names: []string{"WithInstrumentOptions", "WithDurationBuckets"}},
		{name: "WithInstrumentOptions bad max routes", opts: []Option{WithInstrumentOptions(instrument.WithMaxRoutes(-1))},
			want: instrument.ErrInvalidOption, names: []string{"WithInstrumentOptions", "WithMaxRoutes"}},
		{name: "WithInstrumentOptions nil provider", opts: []Option{WithInstrumentOptions(instrument.WithMeterProvider(nil))},
			want: instrument.ErrInvalidOption, names: []string{"WithInstrumentOptions", "WithMeterProvider"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("panicked: %v", p)
				}
			}()
			handler, shutdown, err := Setup(context.Background(), http.NotFoundHandler(), append([]Option{mapEnv(tc.env)}, tc.opts...)...)
			if err == nil {
				_ = shutdown(context.Background())
				t.Fatalf("accepted: handler %T", handler)
			}
			if handler != nil || shutdown != nil {
				t.Error("a handler or shutdown was returned with the error")
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("error %q does not wrap %q", err, tc.want)
			}
			for _, name := range tc.names {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("error %q does not name %s", err, name)
				}
			}
		})
	}

	t.Run("Setup nil handler", func(t *testing.T) {
		if _, _, err := Setup(context.Background(), nil, noEnv); !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), "nil handler") {
			t.Errorf("Setup(nil) error = %v", err)
		}
	})
	t.Run("Handler nil handler", func(t *testing.T) {
		e := newPrometheus(t)
		if _, err := e.Handler(nil); !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), "Handler") {
			t.Errorf("Handler(nil) error = %v", err)
		}
	})
	t.Run("nil Option ignored", func(t *testing.T) {
		e, err := New(context.Background(), noEnv, nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = e.Shutdown(context.Background())
	})
}
