package instrument

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/otel-runway/runway/instrument/internal/contract"
	"github.com/otel-runway/runway/instrument/internal/names"
	"github.com/otel-runway/runway/instrument/internal/timeweighted"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// RouteGroup names a set of request paths. Pattern is a regular expression
// (Go RE2 syntax) matched against the request's URL path; Name is the value
// recorded as http.route for the requests it matches.
//
// Example: RouteGroup{Pattern: `^/api/infer`, Name: "inference"}.
type RouteGroup struct {
	Pattern string
	Name    string
}

func (g RouteGroup) validate() error {
	if g.Name == "" {
		return errors.New("empty name")
	}
	if g.Pattern == "" {
		return errors.New("empty pattern")
	}
	if _, err := regexp.Compile(g.Pattern); err != nil {
		return err
	}
	return nil
}

// groupMatcher matches a path against one route group. Patterns that are
// an anchored literal prefix (such as `^/api/infer`) are matched with
// strings.HasPrefix instead of the regexp engine.
type groupMatcher struct {
	prefix   string
	isPrefix bool
	re       *regexp.Regexp
	route    *route
}

func newGroupMatcher(g RouteGroup, rt *route) groupMatcher {
	m := groupMatcher{route: rt}
	if rest, ok := strings.CutPrefix(g.Pattern, "^"); ok {
		if re, err := regexp.Compile(rest); err == nil {
			if lit, complete := re.LiteralPrefix(); complete {
				m.prefix, m.isPrefix = lit, true
				return m
			}
		}
	}
	m.re = regexp.MustCompile(g.Pattern) // validated by WithRouteGroups
	return m
}

func (m *groupMatcher) match(path string) bool {
	if m.isPrefix {
		return strings.HasPrefix(path, m.prefix)
	}
	return m.re.MatchString(path)
}

// route holds the counters of one http.route value. Its tables are built
// when the route is first seen, so the request path only indexes them.
type route struct {
	name string
	// inflight counts the requests of this route that are in flight. It
	// has a cache line of its own (see cacheLinePad).
	_        cacheLinePad
	inflight atomic.Int64
	_        cacheLinePad
	// preDispatch is set once the route has been found before a handler
	// ran; only such routes report runway.requests.in_flight_by_route.
	preDispatch atomic.Bool
	// tw is the time-weighted in-flight counter (inflight_time.go).
	tw timeweighted.Counter
	// recordOpts holds, per method index, the attribute option of
	// runway.request.duration.
	recordOpts [numMethods][]metric.RecordOption
	// inflightOpts is the attribute option of in_flight_by_route.
	inflightOpt []metric.ObserveOption
	// counts holds, per method index, the counters of the status codes
	// seen so far: a list replaced whole (copy on write) under the
	// table's mu when a status is first seen, so that memory grows with
	// the series actually seen.
	counts [numMethods]atomic.Pointer[[]*statusCount]
}

// statusCount counts the requests of one route, method and status code:
// one series of runway.requests.
type statusCount struct {
	code int
	n    atomic.Int64
	// opt caches the attribute option of the series for collection. It
	// is only touched with routeTable.collectMu held.
	opt []metric.ObserveOption
	// otel caches the attribute options of http.server.request.duration
	// (otel.go); nil in runway mode.
	otel atomic.Pointer[otelOpts]
}

// newRoute returns the route named name; the route "" (no route known)
// records no http.route attribute.
func newRoute(name string) *route {
	rt := &route{name: name}
	for i := range rt.recordOpts {
		attrs := []attribute.KeyValue{methodKey.String(methodName(i))}
		if name != "" {
			attrs = append(attrs, routeKey.String(name))
		}
		rt.recordOpts[i] = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attrs...))}
	}
	rt.inflightOpt = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(routeKey.String(name)))}
	return rt
}

// count adds one request of route rt with the given method index and
// status code, and returns its series (t.overflow past the bound). Codes
// outside 100–999 are counted as 0.
func (t *routeTable) count(rt *route, method, code int) *statusCount {
	if code < 100 || code > 999 {
		code = 0
	}
	if p := rt.counts[method].Load(); p != nil {
		for _, c := range *p {
			if c.code == code {
				c.n.Add(1)
				return c
			}
		}
	}
	return t.countNew(rt, method, code)
}

// countNew counts a request whose status has not been seen yet for its
// route and method: it adds the series, or, once maxSeries series exist,
// counts it in the overflow series.
func (t *routeTable) countNew(rt *route, method, code int) *statusCount {
	t.mu.Lock()
	defer t.mu.Unlock()
	var list []*statusCount
	if p := rt.counts[method].Load(); p != nil {
		list = *p
		for _, c := range list {
			if c.code == code {
				c.n.Add(1)
				return c
			}
		}
	}
	if t.series >= t.maxSeries-1 { // the overflow series is one of them
		t.overflow.n.Add(1)
		return &t.overflow
	}
	t.series++
	c := &statusCount{code: code}
	c.n.Store(1)
	next := append(list[:len(list):len(list)], c)
	rt.counts[method].Store(&next)
	return c
}

// routeTable is the bounded set of routes of one middleware. Lookups by
// name are lock-free once a route exists.
type routeTable struct {
	// byRoute is set with route groups: the routes found before dispatch
	// report runway.requests.in_flight_by_route.
	byRoute bool
	max     int
	// series counts the runway.requests series (route, method, status)
	// created, under mu; past maxSeries − 1 further ones are counted in
	// overflow, reported with otel.metric.overflow=true, as the SDK does
	// past its cardinality limit.
	series, maxSeries int
	overflow          statusCount
	names             names.Table[route]
	mu                sync.Mutex // guards series and the statusCount lists
	// unrouted is the route of a request whose route is not known: it
	// records no http.route. other is "_OTHER": a request outside every
	// route group, or past the bound of WithMaxRoutes.
	unrouted, other *route
	// collectMu serialises collections, which fill the statusCount.opt
	// caches.
	collectMu sync.Mutex
}

func newRouteTable(byRoute bool, max int) *routeTable {
	t := &routeTable{byRoute: byRoute, max: max, maxSeries: contract.DefaultMaxSeries}
	t.overflow.opt = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(overflowKey.Bool(true)))}
	t.unrouted, t.other = newRoute(""), newRoute(otherValue)
	t.names.Init(max, newRoute)
	t.names.Fixed("", t.unrouted)
	t.names.Fixed(otherValue, t.other)
	return t
}

// lookup returns the route named name, creating it while fewer than max
// routes exist; past that it returns the "_OTHER" route. lookup("")
// returns the unrouted route.
func (t *routeTable) lookup(name string) *route {
	if rt, ok := t.names.Lookup(name); ok {
		return rt
	}
	return t.other
}

// routes returns every known route.
func (t *routeTable) routes() []*route { return t.names.All() }

// groupResolver finds the route group of a request before its handler
// runs.
type groupResolver struct {
	matchers []groupMatcher
	other    *route
}

func newGroupResolver(t *routeTable, groups []RouteGroup) *groupResolver {
	gr := &groupResolver{other: t.other}
	for _, g := range groups {
		rt := t.lookup(g.Name)
		rt.preDispatch.Store(true)
		gr.matchers = append(gr.matchers, newGroupMatcher(g, rt))
	}
	t.other.preDispatch.Store(true)
	return gr
}

func (gr *groupResolver) resolve(r *http.Request) *route {
	p := r.URL.Path
	for i := range gr.matchers {
		if gr.matchers[i].match(p) {
			return gr.matchers[i].route
		}
	}
	return gr.other
}

// patternRoute turns a pattern of net/http's ServeMux ("[METHOD ][HOST]/PATH")
// into an http.route value, the path template: the method and the host
// are dropped, as http.route holds the path only. A route template of
// another router ("/items/:id") is returned as it is. It does not
// allocate.
func patternRoute(pattern string) string {
	if i := strings.IndexByte(pattern, '/'); i > 0 {
		return pattern[i:]
	}
	return pattern
}
