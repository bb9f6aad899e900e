package instrument

import (
	"errors"
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
// option of the same kind replaces an earlier one; a nil Option is
// ignored. NewMiddleware reports every invalid option, not only the
// first: its error joins one error per bad option (errors.Join), each
// naming its option and wrapping ErrInvalidOption.
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
	routeFunc func(*http.Request) string
	excluded  []string
	maxRoutes int
	// noInflightTime turns runway.requests.in_flight_time off (WithoutInFlightTime).
	noInflightTime bool
	// noStreams turns stream classification off (WithoutStreams).
	noStreams    bool
	streamRoutes []string
	// peak enables runway.requests.in_flight.peak (WithPeakInFlight).
	peak       bool
	peakWindow time.Duration
	// conv is the set of instruments chosen by WithConventions.
	conv contract.Families
	// bucketsSet records that WithDurationBuckets was given.
	bucketsSet bool
}

// newConfig resolves the defaults and applies opts. It reports every
// invalid option, joined, and then the options that contradict each other.
func newConfig(opts []Option) (*config, error) {
	c := &config{
		excluded:  defaultExcludedPaths,
		maxRoutes: defaultMaxRoutes,
		regs:      new(contract.Registrations),
		conv:      contract.Families{Runway: true},
	}
	c.buckets = defaultDurationBuckets
	var errs []error
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(c); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, c.contradictions()...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if c.provider == nil {
		c.provider = otel.GetMeterProvider()
	}
	return c, nil
}

// contradictions reports the options that cannot be honoured together.
func (c *config) contradictions() []error {
	var errs []error
	if len(c.streamRoutes) > 0 {
		groups := make(map[string]bool, len(c.groups))
		for _, g := range c.groups {
			groups[g.Name] = true
		}
		switch {
		case c.noStreams:
			errs = append(errs, optionError("WithStreamingRoutes", "streams are off (WithoutStreams): no request can be a stream"))
		case len(c.groups) == 0:
			errs = append(errs, optionError("WithStreamingRoutes", "needs WithRouteGroups: a request is known to be of a streaming route only by its route group"))
		default:
			for i, n := range c.streamRoutes {
				if !groups[n] {
					errs = append(errs, optionError("WithStreamingRoutes", "entry %d %.64q is not the name of a route group", i, n))
				}
			}
		}
	}
	if c.bucketsSet && !c.conv.Runway && !c.conv.OTelDuration {
		errs = append(errs, optionError("WithDurationBuckets", "the conventions %q record no duration histogram", ConventionsOTelActive))
	}
	return errs
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
// against the groups in order, when the request arrives, and the first
// match names the request's route (http.route) on every instrument. A
// request that matches no group is recorded with http.route set to
// "_OTHER". Several groups may share a name. Route groups are the way to
// per-route in-flight counts (runway.requests.in_flight_by_route and
// runway.requests.in_flight_time_by_route): a router's pattern is known
// only once the request is over. With groups, r.Pattern is not read; a
// route function (WithRouteFunc) still names the requests it knows.
//
// The default is no groups: routes come from r.Pattern (see
// WithRouteFunc). An invalid pattern or an empty name is an error that
// names the entry.
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

// WithRouteFunc takes each request's route from f, called after the
// handler returns (or panics) with the request the middleware received,
// instead of from r.Pattern.
//
// By default the route is r.Pattern, read after the handler returns: the
// pattern that net/http's ServeMux sets on the request it dispatches
// ("GET example.com/items/{id}" is recorded as "/items/{id}": http.route
// holds the path template, so the method and the host are dropped). It
// costs nothing more than a lookup in the route table. chi sets r.Pattern
// too, and a framework that keeps its route elsewhere can put it there
// from its own middleware (gin: c.Request.Pattern = c.FullPath(); see
// examples/routers). The ServeMux must be at or below the middleware, on
// the same *http.Request: a handler between them that dispatches a copy
// (r.WithContext, http.StripPrefix) hides the pattern. A request without
// a pattern (no router, or no route matched) records no http.route.
//
// WithRouteFunc is for routers that record the matched route elsewhere,
// reachable from the request, such as gorilla/mux
// (mux.CurrentRoute(r).GetPathTemplate() with the middleware installed by
// Router.Use). f must return a route template, never a raw path; "" means
// no route: the request is recorded under its route group
// (WithRouteGroups), else with no http.route. Distinct values are bounded
// by WithMaxRoutes. If f panics, the request is still recorded (as if f
// returned "") and the panic is raised again.
//
// Routes found after dispatch name http.route on runway.requests and the
// duration histograms, not on runway.requests.in_flight_by_route, which
// counts requests while they run: that comes from WithRouteGroups, which
// may be combined with WithRouteFunc. A nil f is an error.
func WithRouteFunc(f func(r *http.Request) string) Option {
	return optionFunc(func(c *config) error {
		if f == nil {
			return optionError("WithRouteFunc", "nil function")
		}
		c.routeFunc = f
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
// wins over this hint. With ConventionsOTelActive, which records no
// histogram, it is an error.
func WithDurationBuckets(bounds ...float64) Option {
	return optionFunc(func(c *config) error {
		if err := contract.CheckBuckets("instrument", "WithDurationBuckets", bounds); err != nil {
			return err
		}
		c.buckets, c.bucketsSet = append([]float64(nil), bounds...), true
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

// WithoutInFlightTime turns off the time-weighted in-flight counters
// runway.requests.in_flight_time and (with route groups)
// runway.requests.in_flight_time_by_route. They are on by default: they
// cost one atomic add when a request starts and one when it ends, no
// allocation and no extra clock read. On one MeterProvider the counters
// of every middleware and gRPC stats handler add up: turn them off in
// all of them, or the total misses a part of the load.
func WithoutInFlightTime() Option {
	return optionFunc(func(c *config) error {
		c.noInflightTime = true
		return nil
	})
}

// WithoutStreams turns off the classification of long-lived streams.
// It is on by default: server-sent events (Content-Type
// text/event-stream), responses with status 101, hijacked connections
// (WebSockets) and the routes of WithStreamingRoutes are counted in
// runway.streams.in_flight and kept out of runway.requests.in_flight,
// runway.requests.in_flight_time and runway.request.duration (see the
// package documentation for the exact moment a request becomes a stream).
// Off, they are measured as ordinary requests that last as long as the
// stream, and runway.streams.in_flight is not created.
func WithoutStreams() Option {
	return optionFunc(func(c *config) error {
		c.noStreams = true
		return nil
	})
}

// WithStreamingRoutes marks route groups whose requests are streams from
// the start, such as long polls or chunked feeds that declare themselves
// in no other way. Each name must be the name of a route group
// (WithRouteGroups): the route must be known when the request arrives. It
// replaces any earlier list; the default is none. It is an error with
// WithoutStreams, without WithRouteGroups, or with a name that is no
// group's.
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
//   - ConventionsRunway (the default): runway.requests.in_flight,
//     runway.requests and runway.request.duration, asgi-runway's names;
//   - ConventionsOTel: the OpenTelemetry HTTP semantic conventions,
//     http.server.active_requests (by http.request.method and url.scheme)
//     and http.server.request.duration (by method, scheme, status code,
//     http.route, error.type and protocol); no runway.requests, whose
//     numbers the histogram's count gives;
//   - ConventionsBoth: all of the above, to migrate dashboards;
//   - ConventionsOTelActive: http.server.active_requests only, for a
//     handler that otelhttp already wraps (otelhttp records
//     http.server.request.duration but not the number of active requests).
//
// runway's extensions (in flight by route, the time-weighted counters,
// streams, the peak) keep their runway names in every mode.
// WithDurationBuckets applies to both histograms. Any other value is an
// error; ParseConventions reads one from text.
func WithConventions(conv Conventions) Option {
	return optionFunc(func(c *config) error {
		f, ok := contract.ParseFamilies(string(conv))
		if !ok {
			return optionError("WithConventions", "%.64q is not one of %s", string(conv), contract.ConventionNames)
		}
		c.conv = f
		return nil
	})
}
