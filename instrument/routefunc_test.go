package instrument

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// inPlaceRouter imitates chi and gorilla/mux: it finds the route while it
// dispatches and writes it into a slot that the request's context already
// holds, so the request the middleware got sees it afterwards.
type inPlaceRouter struct {
	routes map[string]string // path → template
	panics bool
}

type routeSlotKey struct{}

// withRouteSlot is the outer part of the router, run before the middleware
// (chi's Mux.ServeHTTP putting its RouteContext in the context).
func withRouteSlot(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), routeSlotKey{}, new(string))))
	})
}

func (rt inPlaceRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tmpl, ok := rt.routes[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	*r.Context().Value(routeSlotKey{}).(*string) = tmpl
	if rt.panics {
		panic("handler panic")
	}
	w.WriteHeader(http.StatusOK)
}

func slotRoute(r *http.Request) string {
	if p, ok := r.Context().Value(routeSlotKey{}).(*string); ok {
		return *p
	}
	return ""
}

func TestRouteFunc(t *testing.T) {
	router := inPlaceRouter{routes: map[string]string{
		"/items/1": "/items/{id}", "/items/2": "/items/{id}", "/users/ann": "/users/{name}",
	}}
	for _, tc := range []struct {
		name    string
		opts    []Option
		paths   []string
		want    map[string]int64 // http.route → requests
		byRoute map[string]int64 // in_flight_by_route points expected (value 0)
	}{
		{
			name:  "templates, never raw paths",
			paths: []string{"/items/1", "/items/2", "/users/ann", "/nope"},
			want:  map[string]int64{"/items/{id}": 2, "/users/{name}": 1}, // and /nope without http.route
		},
		{
			name:  "bounded by WithMaxRoutes",
			opts:  []Option{WithMaxRoutes(1)},
			paths: []string{"/items/1", "/users/ann", "/users/ann"},
			want:  map[string]int64{"/items/{id}": 1, otherValue: 2},
		},
		{
			name:    "route groups name the in-flight, the router the requests",
			opts:    []Option{WithRouteGroups(RouteGroup{`^/items`, "items"})},
			paths:   []string{"/items/1", "/users/ann"},
			want:    map[string]int64{"/items/{id}": 1, "/users/{name}": 1},
			byRoute: map[string]int64{"items": 0, otherValue: 0},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManual(t)
			opts := append([]Option{WithMeterProvider(m.provider), WithRouteFunc(slotRoute)}, tc.opts...)
			h := withRouteSlot(mustHandler(t, router, opts...))
			for _, p := range tc.paths {
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
			}
			rm := m.collect(t)
			if got := routeCounts(t, m); !maps.Equal(got, tc.want) {
				t.Errorf("runway.requests by http.route = %v, want %v", got, tc.want)
			}
			for route, n := range tc.want {
				if dp, ok := histPoint(rm, durationName, methodKey.String("GET"), routeKey.String(route)); !ok || int64(dp.Count) != n {
					t.Errorf("duration{%s} count = %d (present %v), want %d", route, dp.Count, ok, n)
				}
			}
			if got := sumPoints(rm, inFlightByRouteName); got != len(tc.byRoute) {
				t.Errorf("%s has %d points, want %d (routes found after dispatch have none)", inFlightByRouteName, got, len(tc.byRoute))
			}
			for route := range tc.byRoute {
				if _, ok := sumValue(rm, inFlightByRouteName, routeKey.String(route)); !ok {
					t.Errorf("%s{%s} missing", inFlightByRouteName, route)
				}
			}
			if v, _ := sumValue(rm, inFlightName); v != 0 {
				t.Errorf("in flight = %d, want 0", v)
			}
		})
	}
}

func TestRouteFuncWithPanics(t *testing.T) {
	for _, tc := range []struct {
		name      string
		handler   http.Handler
		routeFunc func(*http.Request) string
		wantPanic string
		wantRoute string
		status    int
	}{
		{
			name:      "handler panics: route still recorded, handler's panic propagates",
			handler:   inPlaceRouter{routes: map[string]string{"/items/1": "/items/{id}"}, panics: true},
			routeFunc: slotRoute,
			wantPanic: "handler panic",
			wantRoute: "/items/{id}",
			status:    500,
		},
		{
			name:      "route function panics: request recorded, its panic raised again",
			handler:   inPlaceRouter{routes: map[string]string{"/items/1": "/items/{id}"}},
			routeFunc: func(*http.Request) string { panic("route func panic") },
			wantPanic: "route func panic",
			wantRoute: "", // no route
			status:    200,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManual(t)
			h := withRouteSlot(mustHandler(t, tc.handler, WithMeterProvider(m.provider), WithRouteFunc(tc.routeFunc)))
			func() {
				defer func() {
					if p := recover(); fmt.Sprint(p) != tc.wantPanic {
						t.Errorf("panic %v, want %q", p, tc.wantPanic)
					}
				}()
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/items/1", nil))
			}()
			rm := m.collect(t)
			if v, _ := sumValue(rm, inFlightName); v != 0 {
				t.Errorf("in flight = %d, want 0", v)
			}
			attrs := []attribute.KeyValue{methodKey.String("GET"), statusCodeKey.Int(tc.status)}
			if tc.wantRoute != "" {
				attrs = append(attrs, routeKey.String(tc.wantRoute))
			}
			if v, ok := sumValue(rm, requestsName, attrs...); !ok || v != 1 {
				t.Errorf("runway.requests{GET,%d,%s} = %d (present %v), want 1", tc.status, tc.wantRoute, v, ok)
			}
		})
	}
}

// framework stands for gin or echo: it routes inside its own handler,
// keeps the route in its own context, and a one-line middleware of the
// framework copies it into r.Pattern, where runway reads it after the
// handler returns.
func framework() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/items/") {
			r.Pattern = "/items/:id" // gin: c.Request.Pattern = c.FullPath()
		}
		w.WriteHeader(http.StatusOK)
	})
}

// TestRouteFromPattern checks the default source of routes, r.Pattern,
// set by net/http's ServeMux or by a framework, and its order with the
// other sources.
func TestRouteFromPattern(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET example.com/items/{id}", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("/users/{name}", func(http.ResponseWriter, *http.Request) {})
	for _, tc := range []struct {
		name      string
		h         http.Handler
		opts      []Option
		host      string
		path      string
		status    int
		wantRoute string // "" means no http.route attribute
	}{
		{"ServeMux pattern, method and host dropped", mux, nil, "example.com", "/items/7", 200, "/items/{id}"},
		{"ServeMux pattern without method", mux, nil, "other.org", "/users/ann", 200, "/users/{name}"},
		{"ServeMux found nothing", mux, nil, "other.org", "/items/7", 404, ""},
		{"framework's route in r.Pattern", framework(), nil, "", "/items/7", 200, "/items/:id"},
		{"no pattern, no router", framework(), nil, "", "/other", 200, ""},
		{"route function instead of r.Pattern", framework(), []Option{WithRouteFunc(func(*http.Request) string { return "/from-func" })}, "", "/items/7", 200, "/from-func"},
		{"route groups instead of r.Pattern", framework(), []Option{WithRouteGroups(RouteGroup{"^/", "all"})}, "", "/items/7", 200, "all"},
		{"bounded by WithMaxRoutes", framework(), []Option{WithMaxRoutes(1), WithRouteFunc(func(*http.Request) string { return "/first" })}, "", "/items/7", 200, "/first"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManual(t)
			h := mustHandler(t, tc.h, append([]Option{WithMeterProvider(m.provider)}, tc.opts...)...)
			r := httptest.NewRequest("GET", tc.path, nil)
			if tc.host != "" {
				r.Host = tc.host
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			rm := m.collect(t)
			want := []attribute.KeyValue{methodKey.String("GET"), statusCodeKey.Int(tc.status)}
			if tc.wantRoute != "" {
				want = append(want, routeKey.String(tc.wantRoute))
			}
			if v, ok := sumValue(rm, requestsName, want...); !ok || v != 1 || sumPoints(rm, requestsName) != 1 {
				t.Errorf("runway.requests%v = %d (present %v, %d points), want one point of 1", want, v, ok, sumPoints(rm, requestsName))
			}
			dur := []attribute.KeyValue{methodKey.String("GET")}
			if tc.wantRoute != "" {
				dur = append(dur, routeKey.String(tc.wantRoute))
			}
			if _, ok := histPoint(rm, durationName, dur...); !ok {
				t.Errorf("runway.request.duration%v missing", dur)
			}
		})
	}
}

func TestAfterDispatchRoutesDoNotAllocate(t *testing.T) {
	m := newManual(t)
	router := inPlaceRouter{routes: map[string]string{"/items/1": "/items/{id}"}}
	for _, tc := range []struct {
		name string
		h    http.Handler
		r    *http.Request
	}{
		{
			name: "route func",
			h:    mustHandler(t, router, WithMeterProvider(m.provider), WithRouteFunc(slotRoute)),
			// The route slot is the router's own allocation: made once here.
			r: httptest.NewRequest("GET", "/items/1", nil).WithContext(context.WithValue(context.Background(), routeSlotKey{}, new(string))),
		},
		{
			name: "r.Pattern",
			h:    mustHandler(t, framework(), WithMeterProvider(m.provider)),
			r:    httptest.NewRequest("GET", "/items/1", nil),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newBenchWriter()   // one header map, as a real server's writer
			tc.h.ServeHTTP(w, tc.r) // learn the route
			if n := testing.AllocsPerRun(200, func() { tc.h.ServeHTTP(w, tc.r) }); n != 0 {
				t.Errorf("%v allocations per request, want 0", n)
			}
		})
	}
}

// routeCounts sums runway.requests by http.route, over methods and codes.
func routeCounts(t *testing.T, m *manual) map[string]int64 {
	t.Helper()
	got := map[string]int64{}
	sm, ok := findMetric(m.collect(t), requestsName)
	if !ok {
		return got
	}
	for _, dp := range sm.Data.(metricdata.Sum[int64]).DataPoints {
		if v, ok := dp.Attributes.Value(routeKey); ok {
			got[v.AsString()] += dp.Value
		}
	}
	return got
}
