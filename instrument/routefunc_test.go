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
			want:  map[string]int64{"/items/{id}": 2, "/users/{name}": 1, otherValue: 1},
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
			wantRoute: otherValue,
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
			if v, ok := sumValue(rm, requestsName, methodKey.String("GET"), statusCodeKey.Int(tc.status), routeKey.String(tc.wantRoute)); !ok || v != 1 {
				t.Errorf("runway.requests{GET,%d,%s} = %d (present %v), want 1", tc.status, tc.wantRoute, v, ok)
			}
		})
	}
}

// frameworkWriter stands for gin's and echo's response writers: a wrapper
// around the writer the middleware passed on, exposing it through Unwrap.
type frameworkWriter struct{ http.ResponseWriter }

func (w *frameworkWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// framework stands for gin or echo: it routes inside its own handler and
// its middleware reports the route with SetRoute through its own writer,
// which it reuses like they pool theirs (serve one request at a time).
func framework(found *bool) http.Handler {
	fw := new(frameworkWriter)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := ""
		if strings.HasPrefix(r.URL.Path, "/items/") {
			route = "/items/:id"
		}
		fw.ResponseWriter = w
		*found = SetRoute(fw, route)
		w.WriteHeader(http.StatusOK)
	})
}

func TestSetRoute(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      []Option
		path      string
		wantRoute string // "" means no http.route attribute
	}{
		{"with WithSetRoute", []Option{WithSetRoute(true)}, "/items/7", "/items/:id"},
		{"empty route is ignored", []Option{WithSetRoute(true)}, "/other", otherValue},
		{"wins over the route function", []Option{WithRouteFunc(func(*http.Request) string { return "/from-func" })}, "/items/7", "/items/:id"},
		{"with another route option", []Option{WithRouteGroups(RouteGroup{"^/", "all"})}, "/items/7", "/items/:id"},
		{"ignored without any route option", nil, "/items/7", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManual(t)
			var found bool
			h := mustHandler(t, framework(&found), append([]Option{WithMeterProvider(m.provider)}, tc.opts...)...)
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", tc.path, nil))
			if !found {
				t.Error("SetRoute did not find the middleware's writer")
			}
			rm := m.collect(t)
			want := []attribute.KeyValue{methodKey.String("GET"), statusCodeKey.Int(200)}
			if tc.wantRoute != "" {
				want = append(want, routeKey.String(tc.wantRoute))
			}
			if v, ok := sumValue(rm, requestsName, want...); !ok || v != 1 || sumPoints(rm, requestsName) != 1 {
				t.Errorf("runway.requests%v = %d (present %v, %d points), want one point of 1", want, v, ok, sumPoints(rm, requestsName))
			}
		})
	}
}

func TestSetRouteWithoutMiddleware(t *testing.T) {
	if SetRoute(httptest.NewRecorder(), "/x") {
		t.Error("SetRoute reported a middleware on a plain writer")
	}
	var loop selfWriter
	loop.self = &loop
	if SetRoute(&loop, "/x") {
		t.Error("SetRoute reported a middleware on a writer that unwraps to itself")
	}
}

// selfWriter unwraps to itself: SetRoute must stop.
type selfWriter struct {
	http.ResponseWriter
	self *selfWriter
}

func (w *selfWriter) Unwrap() http.ResponseWriter { return w.self }

func TestAfterDispatchRoutesDoNotAllocate(t *testing.T) {
	m := newManual(t)
	var found bool
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
			name: "set route",
			h:    mustHandler(t, framework(&found), WithMeterProvider(m.provider), WithSetRoute(true)),
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
