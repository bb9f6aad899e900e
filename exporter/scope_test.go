package exporter

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/otel-runway/runway/instrument"
)

// TestScopeLabels scrapes a served application: by default every series of
// runway carries the otel_scope_* labels, and with WithoutScopeLabels no
// series on the endpoint carries any, as asgi-runway's output did.
func TestScopeLabels(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      []Option
		wantScope bool
	}{
		{"default", nil, true},
		{"WithoutScopeLabels", []Option{WithoutScopeLabels()}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			handler, shutdown, err := Setup(context.Background(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "ok")
			}), append([]Option{noEnv}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer shutdown(context.Background())
			srv := httptest.NewServer(handler)
			defer srv.Close()
			getOK(t, srv.URL+"/x")

			fams := scrape(t, srv.URL+MetricsPath)
			checked := 0
			for name, mf := range fams {
				for _, m := range mf.GetMetric() {
					l := labels(m)
					scoped := 0
					for k := range l {
						if strings.HasPrefix(k, "otel_scope_") {
							scoped++
						}
					}
					if !strings.HasPrefix(name, "runway_") {
						if !tc.wantScope && scoped > 0 {
							t.Errorf("%s%v carries scope labels", name, l)
						}
						continue
					}
					checked++
					if tc.wantScope && l["otel_scope_name"] != instrument.ScopeName {
						t.Errorf("%s%v: otel_scope_name = %q, want %q", name, l, l["otel_scope_name"], instrument.ScopeName)
					}
					if !tc.wantScope && scoped > 0 {
						t.Errorf("%s%v carries scope labels", name, l)
					}
				}
			}
			if checked < 3 {
				t.Errorf("checked %d runway series, want at least in-flight, requests and duration", checked)
			}
		})
	}
}

// TestScopeLabelsKeepLibrariesApart records one instrument name from two
// instrumentation scopes, as runway and otelhttp do with
// http.server.request.duration. With the scope labels the scrape has one
// series per scope; without them the two collide and one is lost.
func TestScopeLabelsKeepLibrariesApart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    []Option
		collide bool
	}{
		{"default", nil, false},
		{"WithoutScopeLabels", []Option{WithoutScopeLabels()}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hookOtelErrors(t, func(error) {})
			e, err := New(context.Background(), append([]Option{noEnv}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Shutdown(context.Background())
			for _, scope := range []string{"library-a", "library-b"} {
				c, err := e.MeterProvider().Meter(scope).Int64Counter("shared.requests")
				if err != nil {
					t.Fatal(err)
				}
				c.Add(context.Background(), 1)
			}
			srv := httptest.NewServer(e.MetricsHandler())
			defer srv.Close()
			fams := scrape(t, srv.URL)
			n := len(fams["shared_requests_total"].GetMetric())
			t.Logf("%d series of shared_requests_total", n)
			if !tc.collide && n != 2 {
				t.Errorf("%d series, want one per scope", n)
			}
			if tc.collide && n == 2 {
				t.Errorf("two series without scope labels: they do not collide, so the documented reason for the default is wrong")
			}
		})
	}
}
