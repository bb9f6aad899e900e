package instrument

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

func TestRouteGroups(t *testing.T) {
	groups := []RouteGroup{
		{`^/api/infer`, "inference"},
		{`^/api/embed`, "embedding"},
		{`^/api/`, "api"},
		{`/v[0-9]+/items$`, "items"},
	}
	for _, tc := range []struct{ path, want string }{
		{"/api/infer", "inference"},
		{"/api/infer/batch", "inference"},
		{"/api/embed", "embedding"},
		{"/api/other", "api"},
		{"/x/v2/items", "items"},
		{"/x/v2/items/1", otherValue},
		{"/", otherValue},
		{"/API/infer", otherValue},
	} {
		t.Run(tc.path, func(t *testing.T) {
			m := newManual(t)
			h := mustHandler(t, http.NotFoundHandler(), WithMeterProvider(m.provider), WithRouteGroups(groups...))
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", tc.path, nil))
			rm := m.collect(t)
			if v, _ := sumValue(rm, requestsName, methodKey.String("GET"), statusCodeKey.Int(404), routeKey.String(tc.want)); v != 1 {
				t.Errorf("request to %s not counted under route %q", tc.path, tc.want)
			}
			if _, ok := histPoint(rm, durationName, methodKey.String("GET"), routeKey.String(tc.want)); !ok {
				t.Errorf("duration of %s not recorded under route %q", tc.path, tc.want)
			}
		})
	}
}

func TestInFlightByRoute(t *testing.T) {
	m := newManual(t)
	release := make(chan struct{})
	var entered sync.WaitGroup
	h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered.Done()
		<-release
	}), WithMeterProvider(m.provider), WithRouteGroups(RouteGroup{`^/api/infer`, "inference"}, RouteGroup{`^/api/embed`, "embedding"}))
	paths := []string{"/api/infer", "/api/infer", "/api/infer", "/api/embed", "/nowhere"}
	var done sync.WaitGroup
	entered.Add(len(paths))
	for _, p := range paths {
		done.Add(1)
		go func() {
			defer done.Done()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
		}()
	}
	entered.Wait()
	rm := m.collect(t)
	for route, want := range map[string]int64{"inference": 3, "embedding": 1, otherValue: 1} {
		if v, ok := sumValue(rm, inFlightByRouteName, routeKey.String(route)); !ok || v != want {
			t.Errorf("in flight by route %q = %d (present %v), want %d", route, v, ok, want)
		}
	}
	if v, _ := sumValue(rm, inFlightName); v != 5 {
		t.Errorf("in flight = %d, want 5", v)
	}
	close(release)
	done.Wait()
	rm = m.collect(t)
	for _, route := range []string{"inference", "embedding", otherValue} {
		if v, _ := sumValue(rm, inFlightByRouteName, routeKey.String(route)); v != 0 {
			t.Errorf("in flight by route %q after release = %d, want 0", route, v)
		}
	}
}

// TestServeMuxRoutes wraps a ServeMux: its patterns name the requests,
// read from r.Pattern once the handler returns, and in-flight counts by
// route come only from route groups.
func TestServeMuxRoutes(t *testing.T) {
	m := newManual(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/static/", func(w http.ResponseWriter, r *http.Request) {})
	h := mustHandler(t, mux, WithMeterProvider(m.provider))
	for _, r := range []*http.Request{
		httptest.NewRequest("GET", "/items/1", nil),
		httptest.NewRequest("GET", "/items/2", nil),
		httptest.NewRequest("GET", "/static/a/b.css", nil),
		httptest.NewRequest("GET", "/missing", nil),
		httptest.NewRequest("POST", "/items/3", nil),
	} {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	rm := m.collect(t)
	for _, tc := range []struct {
		method, route string
		status        int
		want          int64
	}{
		{"GET", "/items/{id}", 200, 2},
		{"GET", "/static/", 200, 1},
		{"GET", "", 404, 1},
		{"POST", "", 405, 1},
	} {
		attrs := []attribute.KeyValue{methodKey.String(tc.method), statusCodeKey.Int(tc.status)}
		if tc.route != "" {
			attrs = append(attrs, routeKey.String(tc.route))
		}
		if v, _ := sumValue(rm, requestsName, attrs...); v != tc.want {
			t.Errorf("requests%v = %d, want %d", attrs, v, tc.want)
		}
	}
	if n := sumPoints(rm, inFlightByRouteName); n != 0 {
		t.Errorf("%s has %d points without route groups, want none", inFlightByRouteName, n)
	}
}

func TestMaxRoutesBoundsSeries(t *testing.T) {
	m := newManual(t)
	mux := http.NewServeMux()
	for i := 0; i < 10; i++ {
		mux.HandleFunc(fmt.Sprintf("/r%d", i), func(w http.ResponseWriter, r *http.Request) {})
	}
	h := mustHandler(t, mux, WithMeterProvider(m.provider), WithMaxRoutes(3))
	for i := 0; i < 10; i++ {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", fmt.Sprintf("/r%d", i), nil))
	}
	rm := m.collect(t)
	if n := sumPoints(rm, requestsName); n != 4 {
		t.Errorf("%d request series with WithMaxRoutes(3), want 3 routes + %s", n, otherValue)
	}
	if v, _ := sumValue(rm, requestsName, methodKey.String("GET"), statusCodeKey.Int(200), routeKey.String(otherValue)); v != 7 {
		t.Errorf("overflow requests = %d, want 7", v)
	}
}

func TestPatternRoute(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/items/{id}", "/items/{id}"},
		{"GET /items/{id}", "/items/{id}"},
		{"GET example.com/x", "/x"},
		{"example.com/x/{id}", "/x/{id}"},
		{"/items/:id", "/items/:id"},
		{"", ""},
		{"/", "/"},
	} {
		if got := patternRoute(tc.in); got != tc.want {
			t.Errorf("patternRoute(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestGroupMatcherPrefixFastPath(t *testing.T) {
	for _, tc := range []struct {
		pattern  string
		isPrefix bool
	}{
		{`^/api/infer`, true},
		{`^/api/v1\.0`, true},
		{`^/api/v1.0`, false},
		{`/api`, false},
		{`^/api$`, false},
	} {
		m := newGroupMatcher(RouteGroup{tc.pattern, "g"}, nil)
		if m.isPrefix != tc.isPrefix {
			t.Errorf("%s: prefix fast path = %v, want %v", tc.pattern, m.isPrefix, tc.isPrefix)
		}
	}
}
