package instrument

import (
	"net/http"
	"strings"
	"time"

	"github.com/otel-runway/runway/instrument/internal/contract"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// defaultExcludedPaths are the paths that are not measured unless
// WithExcludedPaths says otherwise: the metrics endpoint and the usual
// health and readiness probes.
var defaultExcludedPaths = []string{"/metrics", "/healthz", "/health", "/readyz", "/livez"}

// defaultDurationBuckets are the explicit bucket boundaries, in seconds, of
// runway.request.duration: those of the OpenTelemetry HTTP semantic
// conventions.
var defaultDurationBuckets = contract.DurationBuckets()

// defaultMaxRoutes is the default number of distinct routes (route groups
// and router patterns) tracked before further routes are recorded as
// "_OTHER": the OpenTelemetry SDK's default cardinality limit.
const defaultMaxRoutes = contract.DefaultMaxSeries

// Option configures the middleware. Options are applied in order; a later
// option of the same kind replaces an earlier one.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

// config is the resolved configuration of a middleware.
type config struct {
	provider metric.MeterProvider
	buckets  []float64
	// regs collects the callback registrations of the middleware being
	// built, released by Middleware.Close.
	regs      *contract.Registrations
	groups    []RouteGroup
	mux       *http.ServeMux
	routeFunc func(*http.Request) string
	setRoute  bool
	excluded  []string
	maxRoutes int
	// noInflightTime turns runway.requests.in_flight_time off (WithInFlightTime).
	noInflightTime bool
	// noStreams turns stream classification off (WithStreams).
	noStreams    bool
	streamRoutes []string
	// peak enables runway.requests.in_flight.peak (WithPeakInFlight).
	peak       bool
	peakWindow time.Duration
	// conv is the set of instruments chosen by WithConventions.
	conv contract.Conventions
}

// newConfig resolves the defaults and applies opts. It returns the first
// error an option reports.
func newConfig(opts []Option) (*config, error) {
	c := &config{
		excluded:  defaultExcludedPaths,
		maxRoutes: defaultMaxRoutes,
		regs:      new(contract.Registrations),
		conv:      contract.Conventions{Runway: true},
	}
	c.buckets = defaultDurationBuckets
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(c); err != nil {
			return nil, err
		}
	}
	if c.provider == nil {
		c.provider = otel.GetMeterProvider()
	}
	if c.mux != nil && len(c.groups) > 0 {
		return nil, optionError("WithServeMux", "cannot be combined with WithRouteGroups: choose one source of routes")
	}
	return c, nil
}

// WithMeterProvider sets the MeterProvider the instruments are created
// from. The default is the global provider, otel.GetMeterProvider(), read
// when the middleware is constructed. A nil provider is an error.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) error {
		if mp == nil {
			return optionError("WithMeterProvider", "nil MeterProvider")
		}
		c.provider = mp
		return nil
	})
}

// WithRouteGroups sets the route groups: each request path is matched
// against the groups in order and the first match names the request's
// route (http.route). A request that matches no group is recorded with
// http.route set to "_OTHER". Several groups may share a name.
//
// The default is no groups: no http.route attribute and no
// runway.requests.in_flight_by_route series. An invalid pattern or an empty
// name is an error that names the entry.
func WithRouteGroups(groups ...RouteGroup) Option {
	return optionFunc(func(c *config) error {
		for i, g := range groups {
			if err := g.validate(); err != nil {
				return optionError("WithRouteGroups", "entry %d (%q → %q): %v", i, g.Pattern, g.Name, err)
			}
		}
		c.groups = append([]RouteGroup(nil), groups...)
		return nil
	})
}

// WithServeMux takes each request's route from the pattern that mux would
// dispatch it to (Go 1.22+ patterns such as "GET /items/{id}"; the method
// and host are dropped, so http.route is "/items/{id}"). The route is
// found before the handler runs, so runway.requests.in_flight_by_route
// works with no route groups. Requests that match no pattern are recorded
// with http.route set to "_OTHER". It costs one extra routing of the
// request. It cannot be combined with WithRouteGroups. A nil mux is an
// error.
func WithServeMux(mux *http.ServeMux) Option {
	return optionFunc(func(c *config) error {
		if mux == nil {
			return optionError("WithServeMux", "nil ServeMux")
		}
		c.mux = mux
		return nil
	})
}

// WithRouteFunc takes each request's route from f, called after the
// handler returns (or panics) with the request the middleware received.
// It is meant for routers that record the matched pattern in place while
// they dispatch, such as chi (chi.RouteContext(r.Context()).RoutePattern()
// with the middleware installed by Router.Use) and gorilla/mux
// (mux.CurrentRoute(r).GetPathTemplate() with Router.Use). f must return a
// route template, never a raw path; "" means no route, and the request is
// recorded under the route found before dispatch (a route group or a
// ServeMux pattern) or else "_OTHER". Distinct values are bounded
// by WithMaxRoutes. If f panics, the request is still recorded (under the
// route found before dispatch) and the panic is raised again.
//
// The route of f names http.route on runway.requests and
// runway.request.duration. It is known only once the request is over, so
// it does not name runway.requests.in_flight_by_route: per-route in-flight
// counts come from WithRouteGroups or WithServeMux, which may be combined
// with WithRouteFunc. The default is no route function. A nil f is an
// error.
func WithRouteFunc(f func(r *http.Request) string) Option {
	return optionFunc(func(c *config) error {
		if f == nil {
			return optionError("WithRouteFunc", "nil function")
		}
		c.routeFunc = f
		return nil
	})
}

// WithSetRoute turns http.route on for routes reported by SetRoute, for
// frameworks that are not net/http middleware chains and keep the matched
// route in their own context, such as gin (c.FullPath()) and echo
// (c.Path()): a one-line middleware of the framework passes the route to
// SetRoute. SetRoute is also honoured without this option when another
// route option (WithRouteGroups, WithServeMux, WithRouteFunc) is set. As
// with WithRouteFunc, such routes name runway.requests and
// runway.request.duration, not runway.requests.in_flight_by_route. The
// default is off.
func WithSetRoute(enabled bool) Option {
	return optionFunc(func(c *config) error {
		c.setRoute = enabled
		return nil
	})
}

// WithExcludedPaths sets the request paths that pass through unmeasured,
// matched exactly against the request's URL path. It replaces the default
// list, /metrics /healthz /health /readyz /livez; call it with no paths to measure every
// request. Each path must start with "/".
func WithExcludedPaths(paths ...string) Option {
	return optionFunc(func(c *config) error {
		for i, p := range paths {
			if !strings.HasPrefix(p, "/") {
				return optionError("WithExcludedPaths", "entry %d %q does not start with \"/\"", i, p)
			}
		}
		c.excluded = append([]string(nil), paths...)
		return nil
	})
}

// WithDurationBuckets sets the explicit bucket boundaries, in seconds, of
// runway.request.duration. The default is those of the OpenTelemetry HTTP
// semantic conventions, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5,
// 0.75, 1, 2.5, 5, 7.5 and 10. The
// boundaries must be finite, non-negative and strictly increasing, and
// there must be at least one. A View configured on the MeterProvider still
// wins over this hint.
func WithDurationBuckets(bounds ...float64) Option {
	return optionFunc(func(c *config) error {
		if err := contract.CheckBuckets("instrument", "WithDurationBuckets", bounds); err != nil {
			return err
		}
		c.buckets = append([]float64(nil), bounds...)
		return nil
	})
}

// WithMaxRoutes bounds the number of distinct routes tracked (route group
// names and router patterns). Once n routes are known, a request with a
// new route is recorded with http.route set to "_OTHER", so the
// number of series stays bounded whatever the router reports. The default
// is 2000, the OpenTelemetry SDK's default cardinality limit per metric,
// so that runway keeps no counters whose series the SDK would fold into
// its overflow series; n must be at least 1.
func WithMaxRoutes(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 1 {
			return optionError("WithMaxRoutes", "%d is less than 1", n)
		}
		c.maxRoutes = n
		return nil
	})
}

// WithInFlightTime turns the time-weighted in-flight counters
// runway.requests.in_flight_time (and, with routes,
// runway.requests.in_flight_time_by_route) on or off. They are on by
// default: they cost one atomic add when a request starts and one when it
// ends, no allocation and no extra clock read.
func WithInFlightTime(enabled bool) Option {
	return optionFunc(func(c *config) error {
		c.noInflightTime = !enabled
		return nil
	})
}

// WithStreams turns the classification of long-lived streams on or off. It
// is on by default: server-sent events (Content-Type text/event-stream),
// responses with status 101, hijacked connections (WebSockets) and the
// routes of WithStreamingRoutes are counted in runway.streams.in_flight and
// kept out of runway.requests.in_flight, runway.requests.in_flight_time and
// runway.request.duration (see the package documentation for the exact
// moment a request becomes a stream). Off, they are measured as ordinary
// requests that last as long as the stream.
func WithStreams(enabled bool) Option {
	return optionFunc(func(c *config) error {
		c.noStreams = !enabled
		return nil
	})
}

// WithStreamingRoutes marks routes whose requests are streams from the
// start, such as long polls or chunked feeds that declare themselves in no
// other way. Each name is a route group name (WithRouteGroups) or a
// ServeMux route, the pattern without its method ("/events/{id}"). It
// replaces any earlier list; the default is none. Names must not be empty;
// it has no effect with WithStreams(false).
func WithStreamingRoutes(names ...string) Option {
	return optionFunc(func(c *config) error {
		for i, n := range names {
			if n == "" {
				return optionError("WithStreamingRoutes", "entry %d is empty", i)
			}
		}
		c.streamRoutes = append([]string(nil), names...)
		return nil
	})
}

// WithPeakInFlight adds runway.requests.in_flight.peak: the highest number
// of requests in flight over the window before each collection, so that a
// burst between two scrapes is seen. Set window to at least the longest
// collection interval of the MeterProvider's readers (scrape interval,
// export interval): each reader then sees every burst since its own
// previous collection, whatever the other readers do, and may see a burst
// again until it is window old. A window of 0 means "since the previous
// collection by any reader", which is exact with a single reader. The
// default is off; window must not be negative. It costs a load and a
// compare per request (a compare-and-swap when a new high is reached). The
// window is kept in 64 slots, a fixed cost whatever its length: a burst is
// reported until it is between window and window + window/64 old.
func WithPeakInFlight(window time.Duration) Option {
	return optionFunc(func(c *config) error {
		if window < 0 {
			return optionError("WithPeakInFlight", "negative window %v", window)
		}
		c.peak, c.peakWindow = true, window
		return nil
	})
}

// WithConventions chooses the names of the core metrics:
//
//   - "runway" (the default): runway.requests.in_flight, runway.requests
//     and runway.request.duration, asgi-runway's names;
//   - "otel": the OpenTelemetry HTTP semantic conventions,
//     http.server.active_requests (by http.request.method and url.scheme)
//     and http.server.request.duration (by method, scheme, status code,
//     http.route, error.type and protocol); no runway.requests, whose
//     numbers the histogram's count gives;
//   - "both": all of the above, to migrate dashboards;
//   - "otel-active": http.server.active_requests only, for a handler that
//     otelhttp already wraps (otelhttp records http.server.request.duration
//     but not the number of active requests).
//
// runway's extensions (in flight by route, the time-weighted counters,
// streams, the peak) keep their runway names in
// every mode. WithDurationBuckets applies to both histograms. Any other
// value is an error.
func WithConventions(name string) Option {
	return optionFunc(func(c *config) error {
		conv, err := contract.ParseConventions("instrument", name)
		c.conv = conv
		return err
	})
}
