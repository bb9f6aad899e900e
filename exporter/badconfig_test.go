package exporter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
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
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}

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
		{name: "WithMetricsWebConfig missing file", opts: []Option{WithMetricsAddr("127.0.0.1:0"), WithMetricsWebConfig(missing)}, want: ErrInvalidOption, names: []string{"WithMetricsWebConfig", "missing.pem"}},
		{name: "WithMetricsWebConfig without WithMetricsAddr", opts: []Option{WithMetricsWebConfig(missing)}, want: ErrInvalidOption, names: []string{"WithMetricsWebConfig", "WithMetricsAddr"}},
		{name: "WithPrometheusRegistry nil", opts: []Option{WithPrometheusRegistry(nil)}, want: ErrInvalidOption, names: []string{"WithPrometheusRegistry"}},

		{name: "WithOTLPProtocol http/json", opts: []Option{WithOTLP("c:1"), WithOTLPProtocol("http/json")}, want: ErrInvalidOption, names: []string{"WithOTLPProtocol", "http/json"}},
		{name: "WithOTLPHeaders bad name", opts: []Option{WithOTLP("c:1"), WithOTLPHeaders(map[string]string{"api key": "v"})}, want: ErrInvalidOption, names: []string{"WithOTLPHeaders"}},
		{name: "WithOTLPHeaders newline", opts: []Option{WithOTLP("c:1"), WithOTLPHeaders(map[string]string{"k": "a\r\nb"})}, want: ErrInvalidOption, names: []string{"WithOTLPHeaders"}},
		{name: "WithTemporalityPreference unknown", opts: []Option{WithOTLP("c:1"), WithTemporalityPreference("sometimes")}, want: ErrInvalidOption, names: []string{"WithTemporalityPreference"}},
		{name: "WithOTLP http query", opts: []Option{WithOTLPProtocol("http/protobuf"), WithOTLP("http://c:4318/v1/metrics?x=1")}, want: ErrInvalidOption, names: []string{"WithOTLP"}},
		{name: "WithOTLPHeaders not a gRPC key", opts: []Option{WithOTLP("c:1"), WithOTLPHeaders(map[string]string{"x!y": "1"})}, want: ErrInvalidOption, names: []string{"WithOTLPHeaders", "x!y", "gRPC"}},
		{name: "WithOTLPHeaders gRPC value with a tab", opts: []Option{WithOTLP("c:1"), WithOTLPHeaders(map[string]string{"k": "a\tb"})}, want: ErrInvalidOption, names: []string{"WithOTLPHeaders", "gRPC"}},
		{name: "WithOTLP user information", opts: []Option{WithOTLP("http://user:pw@c:1")}, want: ErrInvalidOption, names: []string{"WithOTLP", "REDACTED"}},
		{name: "WithOTLP http bad scheme", opts: []Option{WithOTLPProtocol("http/protobuf"), WithOTLP("grpc://c:4318")}, want: ErrInvalidOption, names: []string{"WithOTLP"}},

		// Environment variables.
		{name: "RUNWAY_METRICS_WEB_CONFIG missing file", env: env{envMetricsWebConfig: missing}, opts: []Option{WithMetricsAddr("127.0.0.1:0")}, want: ErrInvalidEnv, names: []string{envMetricsWebConfig, "missing.pem"}},
		{name: "RUNWAY_METRICS_WEB_CONFIG without WithMetricsAddr", env: env{envMetricsWebConfig: missing}, want: ErrInvalidEnv, names: []string{envMetricsWebConfig, "WithMetricsAddr"}},
		{name: "OTEL_METRICS_EXPORTER unknown", env: env{envMetricsExporter: "prometheus,zipkin"}, want: ErrInvalidEnv, names: []string{envMetricsExporter, "zipkin"}},
		{name: "OTEL_METRICS_EXPORTER typo", env: env{envMetricsExporter: "otlpp"}, want: ErrInvalidEnv, names: []string{envMetricsExporter, "otlpp", "want otlp, prometheus or none"}},
		{name: "OTEL_METRICS_EXPORTER typo beside code options", env: env{envMetricsExporter: "otlpp"}, opts: []Option{WithPrometheus()}, want: ErrInvalidEnv, names: []string{envMetricsExporter}},
		{name: "OTEL_METRICS_EXPORTER empty item", env: env{envMetricsExporter: "prometheus,"}, want: ErrInvalidEnv, names: []string{envMetricsExporter}},
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

		{name: "OTEL_RESOURCE_ATTRIBUTES trailing comma", env: env{envResourceAttributes: "k=v,"}, want: ErrInvalidEnv, names: []string{envResourceAttributes}},
		{name: "OTEL_GO_X_CARDINALITY_LIMIT not a number", env: env{envCardinalityLimit: "lots"}, want: ErrInvalidEnv, names: []string{envCardinalityLimit}},
		{name: "OTEL_EXPORTER_OTLP_ENDPOINT IP without scheme", env: env{envMetricsExporter: "otlp", envOTLPEndpoint: "10.0.0.1:4317"}, want: ErrInvalidEnv, names: []string{envOTLPEndpoint}},
		{name: "OTEL_EXPORTER_OTLP_ENDPOINT no port", env: env{envMetricsExporter: "otlp", envOTLPEndpoint: "collector"}, want: ErrInvalidEnv, names: []string{envOTLPEndpoint}},
		{name: "OTEL_EXPORTER_OTLP_ENDPOINT http without scheme", env: env{envOTLPProtocol: "http/protobuf", envOTLPEndpoint: "c:4318"}, want: ErrInvalidEnv, names: []string{envOTLPEndpoint}},
		{name: "OTEL_EXPORTER_OTLP_ENDPOINT gRPC path", env: env{envOTLPEndpoint: "http://c:4317/v1/metrics"}, want: ErrInvalidEnv, names: []string{envOTLPEndpoint}},
		{name: "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT user information", env: env{envOTLPMetricsEndpoint: "http://user:s3cret@c:4317"}, want: ErrInvalidEnv, names: []string{envOTLPMetricsEndpoint, "REDACTED"}},
		{name: "OTEL_EXPORTER_OTLP_HEADERS gRPC key", env: env{envOTLPEndpoint: "http://c:4317", envOTLPHeaders: "x!y=1"}, want: ErrInvalidEnv, names: []string{envOTLPHeaders, "x!y", "gRPC"}},
		{name: "OTEL_EXPORTER_OTLP_HEADERS gRPC non-ASCII value", env: env{envOTLPEndpoint: "http://c:4317", envOTLPHeaders: "k=%C3%A9"}, want: ErrInvalidEnv, names: []string{envOTLPHeaders, "printable ASCII"}},
		{name: "OTEL_EXPORTER_OTLP_HEADERS gRPC tab", env: env{envOTLPEndpoint: "http://c:4317", envOTLPHeaders: "k=a%09b"}, want: ErrInvalidEnv, names: []string{envOTLPHeaders}},
		{name: "OTEL_EXPORTER_OTLP_HEADERS trailing comma", env: env{envOTLPEndpoint: "http://c:4317", envOTLPHeaders: "k=v,"}, want: ErrInvalidEnv, names: []string{envOTLPHeaders}},
		{name: "OTEL_EXPORTER_OTLP_COMPRESSION upper case", env: env{envOTLPEndpoint: "http://c:4317", envOTLPCompression: "GZIP"}, want: ErrInvalidEnv, names: []string{envOTLPCompression, "lower case"}},
		{name: "OTEL_EXPORTER_OTLP_METRICS_INSECURE with https", env: env{envOTLPEndpoint: "https://c:4317", envOTLPMetricsInsecure: "TRUE"}, want: ErrInvalidEnv, names: []string{envOTLPMetricsInsecure, "https"}},
		{name: "OTEL_EXPORTER_OTLP_INSECURE yes", env: env{envOTLPEndpoint: "c:4317", envOTLPInsecure: "yes"}, want: ErrInvalidEnv, names: []string{envOTLPInsecure}},
		{name: "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION unknown", env: env{envOTLPEndpoint: "c:4317", envHistogramAggregation: "exponential"}, want: ErrInvalidEnv, names: []string{envHistogramAggregation}},
		{name: "OTEL_EXPORTER_OTLP_PROTOCOL unknown", env: env{envMetricsExporter: "otlp", envOTLPProtocol: "http/json"}, want: ErrInvalidEnv, names: []string{envOTLPProtocol}},
		{name: "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL unknown", env: env{envMetricsExporter: "otlp", envOTLPMetricsProtocol: "HTTP"}, want: ErrInvalidEnv, names: []string{envOTLPMetricsProtocol}},
		{name: "OTEL_EXPORTER_OTLP_ENDPOINT http fragment", env: env{envMetricsExporter: "otlp", envOTLPProtocol: "http/protobuf", envOTLPEndpoint: "http://c:4318/#x"}, want: ErrInvalidEnv, names: []string{envOTLPEndpoint}},
		{name: "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT http port", env: env{envMetricsExporter: "otlp", envOTLPProtocol: "http/protobuf", envOTLPMetricsEndpoint: "http://c:99999/v1/metrics"}, want: ErrInvalidEnv, names: []string{envOTLPMetricsEndpoint}},
		{name: "OTEL_EXPORTER_OTLP_HEADERS no =", env: env{envMetricsExporter: "otlp", envOTLPHeaders: "api-key"}, want: ErrInvalidEnv, names: []string{envOTLPHeaders}},
		{name: "OTEL_EXPORTER_OTLP_METRICS_HEADERS bad escape", env: env{envMetricsExporter: "otlp", envOTLPMetricsHeaders: "k=%zz"}, want: ErrInvalidEnv, names: []string{envOTLPMetricsHeaders}},
		{name: "OTEL_EXPORTER_OTLP_HEADERS bad name", env: env{envMetricsExporter: "otlp", envOTLPHeaders: "a:b=c"}, want: ErrInvalidEnv, names: []string{envOTLPHeaders}},
		{name: "OTEL_EXPORTER_OTLP_COMPRESSION unknown", env: env{envMetricsExporter: "otlp", envOTLPCompression: "zstd"}, want: ErrInvalidEnv, names: []string{envOTLPCompression}},
		{name: "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION unknown", env: env{envMetricsExporter: "otlp", envOTLPMetricsCompression: "deflate"}, want: ErrInvalidEnv, names: []string{envOTLPMetricsCompression}},
		{name: "OTEL_EXPORTER_OTLP_TIMEOUT with unit", env: env{envMetricsExporter: "otlp", envOTLPTimeout: "10s"}, want: ErrInvalidEnv, names: []string{envOTLPTimeout}},
		{name: "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT zero", env: env{envMetricsExporter: "otlp", envOTLPMetricsTimeout: "0"}, want: ErrInvalidEnv, names: []string{envOTLPMetricsTimeout}},
		{name: "OTEL_EXPORTER_OTLP_CERTIFICATE missing", env: env{envMetricsExporter: "otlp", envOTLPEndpoint: "https://c:4317", envOTLPCertificate: missing}, want: ErrInvalidEnv, names: []string{envOTLPCertificate, "missing.pem"}},
		{name: "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE not PEM", env: env{envMetricsExporter: "otlp", envOTLPEndpoint: "https://c:4317", envOTLPMetricsCertificate: notPEM}, want: ErrInvalidEnv, names: []string{envOTLPMetricsCertificate}},
		{name: "OTEL_EXPORTER_OTLP_CLIENT_KEY without certificate", env: env{envMetricsExporter: "otlp", envOTLPEndpoint: "https://c:4317", envOTLPClientKey: notPEM}, want: ErrInvalidEnv, names: []string{envOTLPClientKey}},
		{name: "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE without key", env: env{envMetricsExporter: "otlp", envOTLPEndpoint: "https://c:4317", envOTLPMetricsClientCertificate: notPEM}, want: ErrInvalidEnv, names: []string{envOTLPMetricsClientCertificate}},
		{name: "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE unreadable pair", env: env{envMetricsExporter: "otlp", envOTLPEndpoint: "https://c:4317", envOTLPClientCertificate: notPEM, envOTLPClientKey: notPEM}, want: ErrInvalidEnv, names: []string{envOTLPClientCertificate}},
		{name: "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE unknown", env: env{envMetricsExporter: "otlp", envTemporalityPreference: "deltas"}, want: ErrInvalidEnv, names: []string{envTemporalityPreference}},

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
			handler, shutdown, err := Setup(context.Background(), http.NotFoundHandler(), append([]Option{setEnv(t, tc.env)}, tc.opts...)...)
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
