package exporter

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
)

func TestConfigExporters(t *testing.T) {
	tests := []struct {
		name           string
		env            map[string]string
		opts           []Option
		prometheus     bool
		otlp           bool
		target         otlpTarget
		wantErr        error
		wantErrMention string
	}{
		{name: "default is prometheus", prometheus: true},
		{name: "env otlp", env: map[string]string{envMetricsExporter: "otlp"},
			otlp: true, target: otlpTarget{hostPort: "localhost:4317"}},
		{name: "env both, spaces and case", env: map[string]string{envMetricsExporter: " Prometheus , OTLP "},
			prometheus: true, otlp: true, target: otlpTarget{hostPort: "localhost:4317"}},
		{name: "env none", env: map[string]string{envMetricsExporter: "none"}},
		{name: "env empty means default", env: map[string]string{envMetricsExporter: ""}, prometheus: true},
		{name: "env unknown", env: map[string]string{envMetricsExporter: "prometheus,zipkin"},
			wantErr: ErrInvalidEnv, wantErrMention: "OTEL_METRICS_EXPORTER"},
		{name: "env none with others", env: map[string]string{envMetricsExporter: "none,otlp"},
			wantErr: ErrInvalidEnv, wantErrMention: "OTEL_METRICS_EXPORTER"},
		{name: "code wins over env", env: map[string]string{envMetricsExporter: "prometheus"},
			opts: []Option{WithOTLP("collector:4317")}, otlp: true, target: otlpTarget{hostPort: "collector:4317"}},
		{name: "code prometheus ignores env otlp", env: map[string]string{envMetricsExporter: "otlp"},
			opts: []Option{WithPrometheus()}, prometheus: true},
		{name: "code both", opts: []Option{WithPrometheus(), WithOTLP("c:1")},
			prometheus: true, otlp: true, target: otlpTarget{hostPort: "c:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := newConfig(append([]Option{mapEnv(tt.env)}, tt.opts...))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantErrMention) {
					t.Fatalf("err = %v, want %v naming %s", err, tt.wantErr, tt.wantErrMention)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.prometheus != tt.prometheus || c.otlp != tt.otlp || c.target != tt.target {
				t.Errorf("prometheus=%v otlp=%v target=%+v, want %v %v %+v",
					c.prometheus, c.otlp, c.target, tt.prometheus, tt.otlp, tt.target)
			}
		})
	}
}

func TestConfigEndpoint(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		code    string
		want    otlpTarget
		wantErr string // the option or variable the error names
	}{
		{name: "default", want: otlpTarget{hostPort: "localhost:4317"}},
		{name: "host:port is plaintext", code: "collector:4317", want: otlpTarget{hostPort: "collector:4317"}},
		{name: "http is plaintext", code: "http://collector:4317", want: otlpTarget{hostPort: "collector:4317"}},
		{name: "https is tls", code: "https://gw.example:443", want: otlpTarget{hostPort: "gw.example:443", tls: true}},
		{name: "port defaults to 4317", code: "https://gw.example", want: otlpTarget{hostPort: "gw.example:4317", tls: true}},
		{name: "trailing slash", code: "http://c:4317/", want: otlpTarget{hostPort: "c:4317"}},
		{name: "ipv6", code: "[::1]:4317", want: otlpTarget{hostPort: "[::1]:4317"}},
		{name: "env generic", env: map[string]string{envOTLPEndpoint: "http://generic:1"},
			want: otlpTarget{hostPort: "generic:1"}},
		{name: "env metrics over generic",
			env:  map[string]string{envOTLPEndpoint: "http://generic:1", envOTLPMetricsEndpoint: "https://metrics:2"},
			want: otlpTarget{hostPort: "metrics:2", tls: true}},
		{name: "code over env", code: "code:3",
			env:  map[string]string{envOTLPEndpoint: "http://generic:1", envOTLPMetricsEndpoint: "http://metrics:2"},
			want: otlpTarget{hostPort: "code:3"}},
		{name: "bad scheme in code", code: "ftp://c:1", wantErr: "WithOTLP"},
		{name: "path in code", code: "http://c:1/v1/metrics", wantErr: "WithOTLP"},
		{name: "no host in code", code: "http://:4317", wantErr: "WithOTLP"},
		{name: "bad port in code", code: "c:port", wantErr: "WithOTLP"},
		{name: "port out of range in code", code: "c:99999", wantErr: "WithOTLP"},
		{name: "port 0 in env", env: map[string]string{envOTLPEndpoint: "https://c:0"}, wantErr: envOTLPEndpoint},
		{name: "bracket host in env", env: map[string]string{envOTLPMetricsEndpoint: "]"}, wantErr: envOTLPMetricsEndpoint},
		{name: "bad env metrics", env: map[string]string{envOTLPMetricsEndpoint: "unix:///sock"},
			wantErr: envOTLPMetricsEndpoint},
		{name: "bad env generic", env: map[string]string{envOTLPEndpoint: "http://c:1?x=y"},
			wantErr: envOTLPEndpoint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := newConfig([]Option{mapEnv(tt.env), WithOTLP(tt.code)})
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
			if c.target != tt.want {
				t.Errorf("target = %+v, want %+v", c.target, tt.want)
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
			c, err := newConfig(append([]Option{mapEnv(tt.env)}, tt.opts...))
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
		{name: "bad escape", env: map[string]string{envResourceAttributes: "a=%zz"}, wantErr: envResourceAttributes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := newConfig(append([]Option{mapEnv(tt.env)}, tt.opts...))
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
			mapEnv(map[string]string{envMetricsExporter: "bogus"}))
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
