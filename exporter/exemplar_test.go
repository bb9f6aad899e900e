package exporter

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/trace"
)

// TestExemplarFilter reads exemplars from what the Prometheus exporter
// gathers. (The exporter's /metrics handler serves the text format, which
// has no exemplars; an OTLP export carries the same ones.)
func TestExemplarFilter(t *testing.T) {
	sampled := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{1},
		SpanID:     trace.SpanID{1},
		TraceFlags: trace.FlagsSampled,
	}))
	for _, tc := range []struct {
		name     string
		env      map[string]string
		opts     []Option
		ctx      context.Context
		exemplar bool
	}{
		{"default is off, even in a sampled span", nil, nil, sampled, false},
		{"env trace_based in a sampled span", map[string]string{envExemplarFilter: "trace_based"}, nil, sampled, true},
		{"env trace_based without a span", map[string]string{envExemplarFilter: " Trace_Based "}, nil, context.Background(), false},
		{"env always_on without a span", map[string]string{envExemplarFilter: "always_on"}, nil, context.Background(), true},
		{"env always_off", map[string]string{envExemplarFilter: "always_off"}, nil, sampled, false},
		{"option wins over env (on)", map[string]string{envExemplarFilter: "always_off"},
			[]Option{WithExemplarFilter(exemplar.AlwaysOnFilter)}, context.Background(), true},
		{"option wins over env (off)", map[string]string{envExemplarFilter: "always_on"},
			[]Option{WithExemplarFilter(exemplar.AlwaysOffFilter)}, sampled, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			opts := append([]Option{setEnv(t, tc.env), WithPrometheus(), WithPrometheusRegistry(reg)}, tc.opts...)
			e, err := New(context.Background(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = e.Shutdown(context.Background()) })
			h, err := e.MeterProvider().Meter("test").Float64Histogram("test.duration")
			if err != nil {
				t.Fatal(err)
			}
			h.Record(tc.ctx, 0.1)

			fams, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			found, got := false, false
			for _, f := range fams {
				if f.GetName() != "test_duration" {
					continue
				}
				found = true
				for _, m := range f.GetMetric() {
					for _, b := range m.GetHistogram().GetBucket() {
						if b.GetExemplar() != nil {
							got = true
						}
					}
				}
			}
			if !found {
				t.Fatal("test_duration not gathered")
			}
			if got != tc.exemplar {
				t.Errorf("exemplar gathered = %v, want %v", got, tc.exemplar)
			}
		})
	}
}

func TestExemplarFilterInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
		want error
		text string
	}{
		{"nil option", []Option{noEnv, WithExemplarFilter(nil)}, ErrInvalidOption, "WithExemplarFilter"},
		{"unknown env value", []Option{setEnv(t, map[string]string{envExemplarFilter: "sometimes"})}, ErrInvalidEnv, envExemplarFilter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(context.Background(), tc.opts...)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("New: %v, want %v naming %s", err, tc.want, tc.text)
			}
		})
	}
}
