package instrument

import (
	"net/http"
	"sync"
	"time"

	"github.com/otel-runway/runway/instrument/internal/contract"
)

// Middleware measures the requests passing through the handlers it wraps
// (see the package documentation for the metrics and the contract). Build
// it with NewMiddleware; release it with Close.
type Middleware struct {
	m *measurer
}

// NewMiddleware returns a net/http middleware that measures every request
// passing through the handlers it wraps. It works with any http.Handler:
// ServeMux, chi, gorilla, or a plain handler (Wrap's method value is the
// func(http.Handler) http.Handler that routers' Use methods take). The
// instruments are created once, here; an invalid option is an error that
// wraps ErrInvalidOption and names the option.
//
// The middleware registers callbacks on its MeterProvider; they are
// reported until Close. Several middlewares on one MeterProvider add up:
// their in-flight counts, request counts and time-weighted counts are
// summed by the SDK, and WithPeakInFlight reports the peak of their total.
func NewMiddleware(opts ...Option) (*Middleware, error) {
	m, err := newMeasurer(opts)
	if err != nil {
		return nil, err
	}
	return &Middleware{m: m}, nil
}

// Wrap returns next wrapped with the middleware. Any number of handlers
// may be wrapped; they share one set of counters.
func (mw *Middleware) Wrap(next http.Handler) http.Handler {
	return &handler{m: mw.m, next: next}
}

// Close ends the middleware's reporting: it unregisters its callbacks from
// its MeterProvider, so what it counted is no longer reported, and from
// then on its handlers record nothing, synchronous instruments included.
// Requests that reach its handlers after Close are served unmeasured;
// requests still running through them at Close are served to the end and
// recorded nowhere (neither in runway.request.duration nor in
// http.server.request.duration). Its tables can be garbage collected once
// no handler it wrapped is referenced. Close is idempotent; it returns the
// first error of the MeterProvider.
//
// Several middlewares on one MeterProvider report sums: when one of them
// closes, its share leaves the sums of runway.requests and
// runway.requests.in_flight_time, and a cumulative counter that decreases
// is read by Prometheus as a counter reset (rate and increase treat the
// new, lower value as a restart from zero, which shows as a spike for one
// scrape interval). Close a middleware with the MeterProvider (at
// shutdown), or keep it for as long as the provider serves metrics.
func (mw *Middleware) Close() error {
	m := mw.m
	m.closeOnce.Do(func() {
		m.rec.closed.Store(true)
		m.closeErr = m.regs.Unregister()
		if m.rec.peak != nil {
			if err := m.rec.peak.release(); err != nil && m.closeErr == nil {
				m.closeErr = err
			}
		}
	})
	return m.closeErr
}

// measurer is what the handlers of one middleware share.
type measurer struct {
	rec      *recorder
	groups   *groupResolver // nil without route groups
	unrouted *route         // the route before dispatch without groups
	excluded map[string]struct{}
	maxExcl  int // length of the longest excluded path

	// routeFunc names routes after dispatch (WithRouteFunc); without it
	// and without groups, the request's Pattern does.
	routeFunc func(*http.Request) string
	streams   *streamClassifier // nil with WithoutStreams

	regs      *contract.Registrations
	closeOnce sync.Once
	closeErr  error
}

func newMeasurer(opts []Option) (_ *measurer, err error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = c.regs.Unregister() // what was registered before the error
		}
	}()
	routes := newRouteTable(len(c.groups) > 0, c.maxRoutes)
	m := &measurer{unrouted: routes.unrouted, excluded: make(map[string]struct{}, len(c.excluded)), regs: c.regs}
	m.routeFunc = c.routeFunc
	for _, p := range c.excluded {
		m.excluded[p] = struct{}{}
		m.maxExcl = max(m.maxExcl, len(p))
	}
	if len(c.groups) > 0 {
		m.groups = newGroupResolver(routes, c.groups)
	}
	if m.rec, err = newRecorder(c, routes); err != nil {
		return nil, err
	}
	if m.streams, err = newStreamClassifier(c, m.rec); err != nil {
		return nil, err
	}
	// Last, so that no error can follow: the tracker is shared.
	if m.rec.peak, err = newPeakTracker(c); err != nil {
		return nil, err
	}
	return m, nil
}

// isExcluded reports whether path passes through unmeasured. A path longer
// than every excluded path is not hashed.
func (m *measurer) isExcluded(path string) bool {
	if len(path) > m.maxExcl {
		return false
	}
	_, ok := m.excluded[path]
	return ok
}

// route returns the route of a request known before dispatch: its route
// group, else the unrouted route.
func (m *measurer) route(r *http.Request) *route {
	if m.groups == nil {
		return m.unrouted
	}
	return m.groups.resolve(r)
}

type handler struct {
	m    *measurer
	next http.Handler
}

// ServeHTTP measures one request. The in-flight count is decremented in a
// deferred call, so it comes back down whatever the handler does: return,
// panic (recorded as status 500; the panic continues to net/http), abort
// with http.ErrAbortHandler, hijack the connection, or stream.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := h.m
	if m.isExcluded(r.URL.Path) || m.rec.closed.Load() {
		h.next.ServeHTTP(w, r)
		return
	}
	method := methodIndex(r.Method)
	protocol := protocolIndex(r)
	act := activeIndex(method, protocol)
	rt := m.route(r)
	start := time.Now()
	rw, wrapped := newResponseWriter(w)
	if m.streams == nil || !m.streams.begin(rw, rt, act, start) {
		m.rec.start(rt, act)
		rw.st.timed = m.rec.timeStart(rt, start)
	}
	returned := false
	defer func() {
		status := http.StatusInternalServerError // the handler panicked
		if returned {
			status = rw.finalStatus()
		}
		recRoute, routePanic := rt, any(nil)
		if m.routeFunc != nil || (m.groups == nil && r.Pattern != "") {
			recRoute, routePanic = m.routeAfter(r, rt)
		}
		if rw.st.stream {
			m.streams.end(recRoute, method, status)
		} else {
			elapsed := time.Since(start)
			m.rec.end(r.Context(), rt, recRoute, method, protocol, status, elapsed)
			if rw.st.timed {
				m.rec.timeEnd(rt, start, elapsed)
			}
		}
		rw.release()
		if routePanic != nil {
			panic(routePanic)
		}
	}()
	h.next.ServeHTTP(wrapped, r)
	returned = true
}

// routeAfter returns the route a finished request is recorded under: the
// one of the route function if there is one, else, without route groups,
// the pattern that net/http's ServeMux (or another router) set in
// r.Pattern; if that gives no route, rt, found before dispatch. A panic of
// the route function is returned, to be raised again once the request is
// recorded.
func (m *measurer) routeAfter(r *http.Request, rt *route) (_ *route, panicked any) {
	var name string
	switch {
	case m.routeFunc != nil:
		name, panicked = callRouteFunc(m.routeFunc, r)
	case m.groups == nil:
		name = patternRoute(r.Pattern)
	}
	if name == "" {
		return rt, panicked
	}
	return m.rec.routes.lookup(name), panicked
}

func callRouteFunc(f func(*http.Request) string, r *http.Request) (name string, panicked any) {
	defer func() {
		if p := recover(); p != nil {
			name, panicked = "", p
		}
	}()
	return f(r), nil
}
