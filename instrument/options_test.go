package instrument

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/otel-runway/runway/instrument/internal/contract"
)

func TestInvalidOptions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []Option
		option string // the option the error must name
		detail string // and this text
	}{
		{"nil provider", []Option{WithMeterProvider(nil)}, "WithMeterProvider", "nil"},
		{"bad regex", []Option{WithRouteGroups(RouteGroup{"^/a", "a"}, RouteGroup{"^/api/[", "api"})}, "WithRouteGroups", "entry 1"},
		{"empty name", []Option{WithRouteGroups(RouteGroup{"^/a", ""})}, "WithRouteGroups", "empty name"},
		{"empty pattern", []Option{WithRouteGroups(RouteGroup{"", "a"})}, "WithRouteGroups", "empty pattern"},
		{"nil route func", []Option{WithRouteFunc(nil)}, "WithRouteFunc", "nil"},
		{"streaming routes with streams off", []Option{WithRouteGroups(RouteGroup{"^/feed", "feed"}), WithStreamingRoutes("feed"), WithoutStreams()}, "WithStreamingRoutes", "WithoutStreams"},
		{"streaming routes without groups", []Option{WithStreamingRoutes("/events/{id}")}, "WithStreamingRoutes", "WithRouteGroups"},
		{"streaming route not a group", []Option{WithRouteGroups(RouteGroup{"^/feed", "feed"}), WithStreamingRoutes("feed", "news")}, "WithStreamingRoutes", `entry 1 "news"`},
		{"empty streaming route", []Option{WithStreamingRoutes("")}, "WithStreamingRoutes", "entry 0 is empty"},
		{"buckets without a histogram", []Option{WithConventions(ConventionsOTelActive), WithDurationBuckets(1, 2)}, "WithDurationBuckets", "otel-active"},
		{"relative excluded path", []Option{WithExcludedPaths("/ok", "metrics")}, "WithExcludedPaths", `"metrics"`},
		{"no buckets", []Option{WithDurationBuckets()}, "WithDurationBuckets", "no boundaries"},
		{"unsorted buckets", []Option{WithDurationBuckets(0.1, 0.05)}, "WithDurationBuckets", "boundary 1"},
		{"duplicate buckets", []Option{WithDurationBuckets(0.1, 0.1)}, "WithDurationBuckets", "boundary 1"},
		{"negative bucket", []Option{WithDurationBuckets(-1)}, "WithDurationBuckets", "boundary 0"},
		{"NaN bucket", []Option{WithDurationBuckets(math.NaN())}, "WithDurationBuckets", "boundary 0"},
		{"infinite bucket", []Option{WithDurationBuckets(1, math.Inf(1))}, "WithDurationBuckets", "boundary 1"},
		{"zero max routes", []Option{WithMaxRoutes(0)}, "WithMaxRoutes", "0"},
		{"unknown conventions", []Option{WithConventions("semconv")}, "WithConventions", `"semconv"`},
		{"conventions in upper case", []Option{WithConventions("OTel")}, "WithConventions", `"OTel"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mw, err := NewMiddleware(tc.opts...)
			if err == nil {
				t.Fatal("no error")
			}
			if mw != nil {
				t.Error("a middleware was returned with the error")
			}
			if !errors.Is(err, ErrInvalidOption) {
				t.Errorf("error %v does not wrap ErrInvalidOption", err)
			}
			if !strings.Contains(err.Error(), tc.option) || !strings.Contains(err.Error(), tc.detail) {
				t.Errorf("error %q does not name %s and %q", err, tc.option, tc.detail)
			}
		})
	}
}

// TestEveryInvalidOptionReported: NewMiddleware reports all the bad
// options of one call, not only the first, each naming its option.
func TestEveryInvalidOptionReported(t *testing.T) {
	_, err := NewMiddleware(WithMeterProvider(nil), WithMaxRoutes(0), WithConventions("semconv"), WithExcludedPaths("metrics"))
	if err == nil {
		t.Fatal("no error")
	}
	for _, option := range []string{"WithMeterProvider", "WithMaxRoutes", "WithConventions", "WithExcludedPaths"} {
		if !strings.Contains(err.Error(), option) {
			t.Errorf("error %q does not name %s", err, option)
		}
	}
	if !errors.Is(err, ErrInvalidOption) {
		t.Errorf("error %v does not wrap ErrInvalidOption", err)
	}
}

// TestParseConventions reads the conventions from text, as the exporter
// does from RUNWAY_METRICS_CONVENTIONS.
func TestParseConventions(t *testing.T) {
	for _, c := range []Conventions{ConventionsRunway, ConventionsOTel, ConventionsBoth, ConventionsOTelActive} {
		got, err := ParseConventions(string(c))
		if err != nil || got != c {
			t.Errorf("ParseConventions(%q) = %q, %v", c, got, err)
		}
		if _, err := NewMiddleware(WithConventions(c), WithMeterProvider(newManual(t).provider)); err != nil {
			t.Errorf("WithConventions(%q): %v", c, err)
		}
	}
	for _, s := range []string{"", "OTel", "semconv", strings.Repeat("x", 1<<20)} {
		_, err := ParseConventions(s)
		if err == nil {
			t.Errorf("ParseConventions(%.10q) accepted", s)
		} else if len(err.Error()) > 200 {
			t.Errorf("ParseConventions: error of %d bytes echoes its input unbounded", len(err.Error()))
		}
	}
}

func TestNilOptionIgnored(t *testing.T) {
	if _, err := NewMiddleware(nil, WithMaxRoutes(2)); err != nil {
		t.Fatal(err)
	}
}

func TestDurationBucketsOption(t *testing.T) {
	m := newManual(t)
	h := mustHandler(t, http.NotFoundHandler(), WithMeterProvider(m.provider), WithDurationBuckets(0.5, 1, 2))
	h.ServeHTTP(discard{}, mustRequest("GET", "/"))
	dp, ok := histPoint(m.collect(t), durationName, methodKey.String("GET"))
	if !ok || len(dp.Bounds) != 3 || dp.Bounds[2] != 2 {
		t.Errorf("bounds = %v, want [0.5 1 2]", dp.Bounds)
	}
}

type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

func mustRequest(method, path string) *http.Request {
	r, err := http.NewRequest(method, path, nil)
	if err != nil {
		panic(err)
	}
	return r
}

// TestScopeName checks that the exported scope name is the one package
// runwaygrpc creates its instruments under, so that HTTP and gRPC
// instruments of one name merge.
func TestScopeName(t *testing.T) {
	if ScopeName != contract.ScopeName {
		t.Errorf("ScopeName = %q, the shared scope is %q", ScopeName, contract.ScopeName)
	}
}
