package instrument

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// The fuzz targets below run their seeds (f.Add and testdata/fuzz) with
// every go test; .ci/test fuzzes each for a bounded time.

// FuzzRouteGroup checks route-group configuration against any pattern and
// name: WithRouteGroups either rejects the group with an error that names
// the option, or accepts it, and then the matcher (with its literal-prefix
// fast path) agrees with the regular expression on any path, and the
// middleware records the request under the group or "_OTHER".
func FuzzRouteGroup(f *testing.F) {
	for _, seed := range [][3]string{
		{`^/api/infer`, "inference", "/api/infer/batch"},
		{`^/api/v1\.0`, "v1", "/api/v1.0/x"},
		{`^/api/v1.0`, "v1", "/api/v1x0"},
		{`/v[0-9]+/items$`, "items", "/x/v2/items"},
		{`^(?i)/API`, "api", "/api"},
		{`^/a|/b`, "ab", "/c/b"},
		{`^$`, "empty", ""},
		{`^^/x`, "x", "/x"},
		{`^/api[`, "broken", "/api"},
		{`^/x`, "", "/x"},
		{"", "noname", "/"},
		{`^/\x{FFFD}`, "replacement", "/\xff"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, pattern, name, path string) {
		g := RouteGroup{Pattern: pattern, Name: name}
		c, err := newConfig([]Option{WithRouteGroups(g)})
		if err != nil {
			if !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), "WithRouteGroups") {
				t.Fatalf("error %q does not name WithRouteGroups", err)
			}
			if _, reErr := regexp.Compile(pattern); reErr == nil && pattern != "" && name != "" {
				t.Fatalf("valid group %q → %q rejected: %v", pattern, name, err)
			}
			return
		}
		re, reErr := regexp.Compile(pattern)
		if reErr != nil || name == "" {
			t.Fatalf("invalid group %q → %q accepted", pattern, name)
		}
		m := newGroupMatcher(c.groups[0], nil)
		if got, want := m.match(path), re.MatchString(path); got != want {
			t.Fatalf("pattern %q on path %q: matcher says %v, regexp says %v (prefix fast path %v, prefix %q)",
				pattern, path, got, want, m.isPrefix, m.prefix)
		}

		mm := newManual(t)
		h := mustHandler(t, http.NotFoundHandler(), WithMeterProvider(mm.provider), WithRouteGroups(g), WithExcludedPaths())
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.Path = path
		h.ServeHTTP(httptest.NewRecorder(), req)
		want := otherValue
		if re.MatchString(path) {
			want = name
		}
		if v, _ := sumValue(mm.collect(t), requestsName, methodKey.String("GET"), statusCodeKey.Int(404), routeKey.String(want)); v != 1 {
			t.Fatalf("request to %q not counted under route %q", path, want)
		}
	})
}

// FuzzNormalizeMethod checks that any method maps to itself when it is one
// of the known methods (exact case) and to "_OTHER" otherwise, so the
// method attribute has at most numMethods values.
func FuzzNormalizeMethod(f *testing.F) {
	for _, m := range []string{"GET", "get", "QUERY", "PROPFIND", "", "GET ", "\x00", "CONNECT", "_OTHER", strings.Repeat("A", 300)} {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, m string) {
		got := methodName(methodIndex(m))
		i := methodIndex(m)
		if i < 0 || i >= numMethods {
			t.Fatalf("methodIndex(%q) = %d, out of the table", m, i)
		}
		if slices.Contains(knownMethods[:], m) {
			if got != m {
				t.Fatalf("methodName(methodIndex(%q)) = %q, want itself", m, got)
			}
			return
		}
		if got != otherValue || i != methodOther {
			t.Fatalf("methodName(methodIndex(%q)) = %q (index %d), want %q", m, got, i, otherValue)
		}
	})
}

// FuzzServeMuxRoute sends any method, host and path through a middleware
// wrapping a ServeMux, which takes routes from r.Pattern: the route
// recorded is one of the mux's path templates or none, never anything
// from the request.
func FuzzServeMuxRoute(f *testing.F) {
	mux := http.NewServeMux()
	ok := func(http.ResponseWriter, *http.Request) {}
	patterns := []string{"/items/{id}", "GET /users/{name}/posts/{post...}", "POST /upload", "/static/", "example.com/host-only", "/{$}"}
	for _, p := range patterns {
		mux.HandleFunc(p, ok)
	}
	routes := []string{""} // no http.route: nothing matched
	for _, p := range patterns {
		routes = append(routes, patternRoute(p))
	}
	for _, seed := range [][3]string{
		{"GET", "example.com", "/items/42"},
		{"POST", "x", "/users/ann/posts/a/b/c"},
		{"PROPFIND", "example.com", "/host-only"},
		{"GET", "evil", "/static/../../etc/passwd"},
		{"get", "", "/"},
		{"DELETE", "[::1]", "/upload"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, method, host, path string) {
		mm := newManual(t)
		h := mustHandler(t, mux, WithMeterProvider(mm.provider), WithExcludedPaths())
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Method, req.Host, req.URL.Path = method, host, path
		h.ServeHTTP(httptest.NewRecorder(), req)
		m, found := findMetric(mm.collect(t), requestsName)
		if !found {
			t.Fatal("request not counted")
		}
		points := m.Data.(metricdata.Sum[int64]).DataPoints
		if len(points) != 1 || points[0].Value != 1 {
			t.Fatalf("want one request in one series, got %+v", points)
		}
		route, _ := points[0].Attributes.Value(routeKey)
		if !slices.Contains(routes, route.AsString()) {
			t.Fatalf("%s %s%s recorded under route %q, not a mux template", method, host, path, route.AsString())
		}
		gotMethod, _ := points[0].Attributes.Value(methodKey)
		if gotMethod.AsString() != methodName(methodIndex(method)) {
			t.Fatalf("method %q recorded as %q", method, gotMethod.AsString())
		}
	})
}
