package exporter

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
)

// mapEnviron is an environment backed by a map, for the checks that do
// not reach the SDK.
func mapEnviron(vars map[string]string) environ {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// TestChooseExporters covers which exporters run. With no
// OTEL_METRICS_EXPORTER, an OTLP endpoint or protocol variable turns OTLP
// push on beside Prometheus: before, such a service pushed nothing.
func TestChooseExporters(t *testing.T) {
	type env = map[string]string
	both := exporters{prometheus: true, otlp: true}
	tests := []struct {
		name    string
		env     env
		opts    []Option
		want    exporters
		wantErr string
	}{
		{name: "default is prometheus", want: exporters{prometheus: true}},
		{name: "env otlp", env: env{envMetricsExporter: "otlp"}, want: exporters{otlp: true}},
		{name: "env both, spaces and case", env: env{envMetricsExporter: " Prometheus , OTLP "}, want: both},
		{name: "env none", env: env{envMetricsExporter: "NONE"}},
		{name: "env empty means default", env: env{envMetricsExporter: " "}, want: exporters{prometheus: true}},
		{name: "endpoint variable pushes too", env: env{envOTLPEndpoint: "http://c:4317"}, want: both},
		{name: "metrics endpoint variable pushes too", env: env{envOTLPMetricsEndpoint: "http://c:4317"}, want: both},
		{name: "protocol variable pushes too", env: env{envOTLPProtocol: "grpc"}, want: both},
		{name: "metrics protocol variable pushes too", env: env{envOTLPMetricsProtocol: "http/protobuf"}, want: both},
		{name: "headers alone do not", env: env{envOTLPHeaders: "k=v"}, want: exporters{prometheus: true}},
		{name: "OTEL_METRICS_EXPORTER wins over the endpoint", env: env{envMetricsExporter: "prometheus", envOTLPEndpoint: "http://c:4317"},
			want: exporters{prometheus: true}},
		{name: "env typo", env: env{envMetricsExporter: "otlpp"}, wantErr: `OTEL_METRICS_EXPORTER="otlpp": want otlp, prometheus or none`},
		{name: "env unknown in a list", env: env{envMetricsExporter: "prometheus,zipkin"}, wantErr: "zipkin"},
		{name: "env none with others", env: env{envMetricsExporter: "none,otlp"}, wantErr: "none cannot be combined"},
		{name: "code wins over env", env: env{envMetricsExporter: "prometheus"},
			opts: []Option{WithOTLP("collector:4317")}, want: exporters{otlp: true}},
		{name: "code prometheus ignores env otlp and endpoint", env: env{envMetricsExporter: "otlp", envOTLPEndpoint: "http://c:4317"},
			opts: []Option{WithPrometheus()}, want: exporters{prometheus: true}},
		{name: "code both", opts: []Option{WithPrometheus(), WithOTLP("c:1")}, want: both},
		{name: "a bad variable fails beside code options", env: env{envMetricsExporter: "otlpp"},
			opts: []Option{WithPrometheus()}, wantErr: envMetricsExporter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := newConfig(tt.opts, mapEnviron(tt.env))
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalidEnv) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrInvalidEnv with %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.exporters != tt.want {
				t.Errorf("exporters = %+v, want %+v", c.exporters, tt.want)
			}
		})
	}
}

// TestConfigEndpoint covers WithOTLP's endpoint (what runway gives the
// exporter) and the checks of the endpoint variables.
func TestConfigEndpoint(t *testing.T) {
	type env = map[string]string
	tests := []struct {
		name    string
		env     env
		code    string
		want    string // the URL given to the exporter, "" for none
		wantErr string // the option or variable the error names
	}{
		{name: "default: the exporter's"},
		{name: "host:port is plaintext", code: "collector:4317", want: "http://collector:4317"},
		{name: "host alone gets 4317", code: "collector", want: "http://collector:4317"},
		{name: "http is plaintext", code: "http://collector:4317", want: "http://collector:4317"},
		{name: "https is tls", code: "https://gw.example:443", want: "https://gw.example:443"},
		{name: "port defaults to 4317", code: "https://gw.example", want: "https://gw.example:4317"},
		{name: "trailing slash", code: "http://c:4317/", want: "http://c:4317/"},
		{name: "ipv6", code: "[::1]:4317", want: "http://[::1]:4317"},
		{name: "http/protobuf gets /v1/metrics", code: "http://c:4318", env: env{envOTLPProtocol: "http/protobuf"}, want: "http://c:4318/v1/metrics"},
		{name: "http/protobuf keeps a path", code: "https://c/otlp", env: env{envOTLPProtocol: "http/protobuf"}, want: "https://c/otlp"},
		{name: "http/protobuf host:port gets 4318", code: "c", env: env{envOTLPProtocol: "http/protobuf"}, want: "http://c:4318/v1/metrics"},
		{name: "env checked, read by the exporter", env: env{envOTLPEndpoint: "http://generic:1", envOTLPMetricsEndpoint: "https://metrics:2"}},
		{name: "env host:port for grpc", env: env{envOTLPEndpoint: "collector:4317"}},
		{name: "bad scheme in code", code: "ftp://c:1", wantErr: "WithOTLP"},
		{name: "path in code", code: "http://c:1/v1/metrics", wantErr: "WithOTLP"},
		{name: "no host in code", code: "http://:4317", wantErr: "WithOTLP"},
		{name: "bad port in code", code: "c:port", wantErr: "WithOTLP"},
		{name: "port out of range in code", code: "c:99999", wantErr: "WithOTLP"},
		{name: "port 0 in env", env: env{envOTLPEndpoint: "https://c:0"}, wantErr: envOTLPEndpoint},
		{name: "bracket host in env", env: env{envOTLPMetricsEndpoint: "]"}, wantErr: envOTLPMetricsEndpoint},
		{name: "unix socket in env", env: env{envOTLPMetricsEndpoint: "unix:///sock"}, wantErr: envOTLPMetricsEndpoint},
		{name: "query in env", env: env{envOTLPEndpoint: "http://c:1?x=y"}, wantErr: envOTLPEndpoint},
		{name: "IP without scheme in env", env: env{envOTLPEndpoint: "127.0.0.1:4317"}, wantErr: envOTLPEndpoint},
		{name: "http/protobuf without scheme in env", env: env{envOTLPProtocol: "http/protobuf", envOTLPEndpoint: "c:4318"}, wantErr: envOTLPEndpoint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := newConfig([]Option{WithOTLP(tt.code)}, mapEnviron(tt.env))
			if tt.wantErr != "" {
				want := ErrInvalidEnv
				if tt.wantErr == "WithOTLP" {
					want = ErrInvalidOption
				}
				if !errors.Is(err, want) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %v naming %s", err, want, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if c.endpointURL != nil {
				got = c.endpointURL.String()
			}
			if got != tt.want {
				t.Errorf("endpoint = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConfigIntervalAndTimeout(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		opts     []Option
		interval time.Duration
		timeout  time.Duration
		wantErr  string
	}{
		{name: "defaults", interval: 5 * time.Second, timeout: 5 * time.Second},
		{name: "env interval", env: map[string]string{envExportInterval: "250"},
			interval: 250 * time.Millisecond, timeout: 250 * time.Millisecond},
		{name: "env timeout", env: map[string]string{envExportTimeout: "1500"},
			interval: 5 * time.Second, timeout: 1500 * time.Millisecond},
		{name: "timeout capped at interval", env: map[string]string{envExportInterval: "1000", envExportTimeout: "30000"},
			interval: time.Second, timeout: time.Second},
		{name: "code interval wins", env: map[string]string{envExportInterval: "250"},
			opts: []Option{WithExportInterval(2 * time.Second)}, interval: 2 * time.Second, timeout: 2 * time.Second},
		{name: "code timeout wins", env: map[string]string{envExportTimeout: "100"},
			opts: []Option{WithExportTimeout(time.Second)}, interval: 5 * time.Second, timeout: time.Second},
		{name: "env interval not a number", env: map[string]string{envExportInterval: "5s"}, wantErr: envExportInterval},
		{name: "env interval zero", env: map[string]string{envExportInterval: "0"}, wantErr: envExportInterval},
		{name: "env interval negative", env: map[string]string{envExportInterval: "-5"}, wantErr: envExportInterval},
		{name: "env interval overflow", env: map[string]string{envExportInterval: "99999999999999999"}, wantErr: envExportInterval},
		{name: "env timeout bad", env: map[string]string{envExportTimeout: "soon"}, wantErr: envExportTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := newConfig(tt.opts, mapEnviron(tt.env))
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalidEnv) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrInvalidEnv naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.interval != tt.interval || c.timeout != tt.timeout {
				t.Errorf("interval=%v timeout=%v, want %v %v", c.interval, c.timeout, tt.interval, tt.timeout)
			}
		})
	}
}

func TestConfigResource(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		opts    []Option
		want    map[string]string
		wantErr string
	}{
		{name: "defaults", want: map[string]string{
			"service.name":        defaultServiceName(),
			"service.instance.id": defaultInstanceID(),
		}},
		{name: "env resource attributes, percent-decoded",
			env: map[string]string{envResourceAttributes: "service.name=from-attrs, deployment.environment.name=prod%20eu,team=a%3Db"},
			want: map[string]string{
				"service.name":                "from-attrs",
				"deployment.environment.name": "prod eu",
				"team":                        "a=b",
			}},
		{name: "OTEL_SERVICE_NAME over resource attributes",
			env:  map[string]string{envResourceAttributes: "service.name=from-attrs", envServiceName: "from-name"},
			want: map[string]string{"service.name": "from-name"}},
		{name: "env instance id", env: map[string]string{envResourceAttributes: "service.instance.id=pod-7"},
			want: map[string]string{"service.instance.id": "pod-7"}},
		{name: "code attributes over env",
			env:  map[string]string{envResourceAttributes: "team=env", envServiceName: "from-name"},
			opts: []Option{WithResourceAttributes(attribute.String("team", "code"), attribute.String("service.name", "attr"))},
			want: map[string]string{"team": "code", "service.name": "attr"}},
		{name: "WithServiceName over everything",
			env: map[string]string{envResourceAttributes: "service.name=from-attrs", envServiceName: "from-name"},
			opts: []Option{
				WithServiceName("code"),
				WithResourceAttributes(attribute.String("service.name", "attr")),
				WithServiceInstanceID("i-1"),
			},
			want: map[string]string{"service.name": "code", "service.instance.id": "i-1"}},
		{name: "bad pair", env: map[string]string{envResourceAttributes: "a=1,novalue"}, wantErr: envResourceAttributes},
		{name: "empty item", env: map[string]string{envResourceAttributes: "a=1,,b=2"}, wantErr: envResourceAttributes},
		{name: "bad escape", env: map[string]string{envResourceAttributes: "a=%zz"}, wantErr: envResourceAttributes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t, tt.env)
			c, err := newConfig(tt.opts, os.LookupEnv)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalidEnv) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrInvalidEnv naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			res, err := newResource(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.want {
				got, ok := res.Set().Value(attribute.Key(k))
				if !ok || got.AsString() != want {
					t.Errorf("%s = %q, want %q", k, got.AsString(), want)
				}
			}
			if v, _ := res.Set().Value("telemetry.sdk.language"); v.AsString() != "go" {
				t.Errorf("telemetry.sdk.language = %q, want go", v.AsString())
			}
		})
	}
}

func TestOptionErrors(t *testing.T) {
	tests := []struct {
		name   string
		opts   []Option
		option string // the name the error must mention
	}{
		{"negative interval", []Option{WithExportInterval(-time.Second)}, "WithExportInterval"},
		{"zero interval", []Option{WithExportInterval(0)}, "WithExportInterval"},
		{"negative timeout", []Option{WithExportTimeout(-1)}, "WithExportTimeout"},
		{"empty service name", []Option{WithServiceName("")}, "WithServiceName"},
		{"empty instance id", []Option{WithServiceInstanceID("")}, "WithServiceInstanceID"},
		{"invalid attribute", []Option{WithResourceAttributes(attribute.KeyValue{})}, "WithResourceAttributes"},
		{"address without port", []Option{WithMetricsAddr("localhost")}, "WithMetricsAddr"},
		{"address with named port", []Option{WithMetricsAddr("127.0.0.1:http")}, "WithMetricsAddr"},
		{"address port out of range", []Option{WithMetricsAddr("127.0.0.1:70000")}, "WithMetricsAddr"},
		{"metrics address without prometheus", []Option{WithOTLP("c:1"), WithMetricsAddr("127.0.0.1:0")}, "WithMetricsAddr"},
		{"nil registry", []Option{WithPrometheusRegistry(nil)}, "WithPrometheusRegistry"},
		{"bad endpoint", []Option{WithOTLP("grpc://c:1")}, "WithOTLP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(context.Background(), append([]Option{noEnv}, tt.opts...)...)
			if err == nil {
				_ = e.Shutdown(context.Background())
				t.Fatal("New succeeded")
			}
			if !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), tt.option) {
				t.Errorf("err = %v, want ErrInvalidOption naming %s", err, tt.option)
			}
		})
	}

	t.Run("every error is reported", func(t *testing.T) {
		_, err := New(context.Background(), noEnv, WithServiceName(""), WithExportInterval(-1),
			setEnv(t, map[string]string{envMetricsExporter: "bogus"}))
		for _, name := range []string{"WithServiceName", "WithExportInterval", envMetricsExporter} {
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("err = %v, want it to name %s", err, name)
			}
		}
	})

	t.Run("nil option and empty metrics address are ignored", func(t *testing.T) {
		e, err := New(context.Background(), noEnv, nil, WithMetricsAddr(""))
		if err != nil {
			t.Fatal(err)
		}
		defer e.Shutdown(context.Background())
		if e.MetricsAddr() != "" {
			t.Errorf("MetricsAddr() = %q, want no listener", e.MetricsAddr())
		}
	})
}

// TestErrorsHideSecrets: no error echoes a password in an endpoint's user
// information or a header value, from code or from the environment, and
// a huge value gives a short error.
func TestErrorsHideSecrets(t *testing.T) {
	huge := strings.Repeat("s3cret", 1<<20/6)
	type env = map[string]string
	for _, tc := range []struct {
		name string
		env  env
		opts []Option
	}{
		{name: "WithOTLP user information", opts: []Option{WithOTLP("http://user:s3cret@collector:4317")}},
		{name: "WithOTLP user information without scheme", opts: []Option{WithOTLP("user:s3cret@collector:4317")}},
		{name: "WithOTLPHeaders bad value", opts: []Option{WithOTLP(""), WithOTLPHeaders(map[string]string{"api-key": "s3cret\n"})}},
		{name: "endpoint variable user information", env: env{envOTLPEndpoint: "https://user:s3cret@collector:4317/x"}},
		{name: "endpoint variable user information, bad port", env: env{envOTLPMetricsEndpoint: "http://user:s3cret@collector:99999"}},
		{name: "headers variable, bad key", env: env{envOTLPEndpoint: "http://c:4317", envOTLPHeaders: "api-key=s3cret,x!y=s3cret"}},
		{name: "headers variable, bad value", env: env{envOTLPEndpoint: "http://c:4317", envOTLPMetricsHeaders: "api-key=s3%0Acret"}},
		{name: "headers variable, item without key", env: env{envOTLPEndpoint: "http://c:4317", envOTLPHeaders: "s3cret"}},
		{name: "1 MB variable", env: env{envMetricsExporter: huge}},
		{name: "1 MB headers", env: env{envOTLPEndpoint: "http://c:4317", envOTLPHeaders: "k=" + huge + "\x01"}},
		{name: "1 MB endpoint", env: env{envOTLPEndpoint: "http://" + huge + ":99999"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setEnv(t, tc.env)
			_, err := New(context.Background(), tc.opts...)
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if len(msg) > 1024 {
				t.Errorf("error of %d bytes", len(msg))
			}
			if !strings.Contains(tc.name, "1 MB") && strings.Contains(msg, "s3cret") {
				t.Errorf("error shows a secret: %s", msg)
			}
			if strings.Contains(tc.name, "1 MB") && strings.Count(msg, "s3cret") > maxShown/6+1 {
				t.Errorf("error shows %d bytes of the value: %.300s", strings.Count(msg, "s3cret")*6, msg)
			}
			t.Logf("%.300s", msg)
		})
	}
}

// TestSDKReadsWhatRunwayAccepts sets each variable to values runway
// accepts and builds the exporters: the SDK must read them without
// logging an error or a warning. The same values but for a detail are
// refused by runway, because the SDK would drop or mis-read them.
func TestSDKReadsWhatRunwayAccepts(t *testing.T) {
	ca := newCert(t, "ca", x509.ExtKeyUsageServerAuth)
	type env = map[string]string
	for _, tc := range []struct {
		name string
		env  env
	}{
		{"grpc endpoint URL", env{envOTLPEndpoint: "http://c:4317"}},
		{"grpc endpoint host:port", env{envOTLPEndpoint: "collector:4317"}},
		{"grpc endpoint https without port", env{envOTLPMetricsEndpoint: "https://otlp.example"}},
		{"http endpoint with path", env{envOTLPProtocol: "http/protobuf", envOTLPEndpoint: "https://c/api/v1/otlp"}},
		{"grpc headers", env{envOTLPHeaders: "api-key=a%20b, X-Tenant = blue ,k-bin=%00%FF"}},
		{"http headers", env{envOTLPProtocol: "HTTP/PROTOBUF", envOTLPHeaders: "x!y=1,k=a%09b"}},
		{"compression", env{envOTLPCompression: "gzip", envOTLPMetricsCompression: "none"}},
		{"timeouts", env{envOTLPTimeout: "1000", envOTLPMetricsTimeout: " 500 "}},
		{"insecure", env{envOTLPInsecure: "TRUE", envOTLPMetricsInsecure: "false"}},
		{"certificates", env{envOTLPCertificate: ca.certFile, envOTLPClientCertificate: ca.certFile, envOTLPClientKey: ca.keyFile}},
		{"temporality and aggregation", env{envTemporalityPreference: "LowMemory", envHistogramAggregation: "Base2_Exponential_Bucket_Histogram"}},
		{"reader and provider", env{envExportInterval: "2000", envExportTimeout: "1000", envExemplarFilter: "Trace_Based", envCardinalityLimit: "-1"}},
		{"resource", env{envResourceAttributes: "team=a%20b, k = v ", envServiceName: "svc"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := env{envMetricsExporter: "otlp,prometheus"}
			for k, v := range tc.env {
				vars[k] = v
			}
			setEnv(t, vars)
			var complaints []error
			hookOtelErrors(t, func(err error) { complaints = append(complaints, err) })
			e, err := New(context.Background())
			otelErrors.Store(nil) // the SDK has read the variables; exports to nowhere may fail
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			_ = e.Shutdown(ctx)
			if len(complaints) > 0 {
				t.Errorf("the SDK complained: %v", complaints)
			}
		})
	}
}
