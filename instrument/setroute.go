package instrument

import "net/http"

// measuredWriter is implemented by every ResponseWriter the middleware
// hands to a handler (the generated wrappers embed *responseWriter).
type measuredWriter interface {
	measured() *responseWriter
}

func (rw *responseWriter) measured() *responseWriter { return rw }

// SetRoute reports the route of the request being served through w, for
// frameworks that keep the matched route in their own request context
// rather than in the *http.Request (gin's c.FullPath(), echo's c.Path()).
// w is the ResponseWriter the middleware passed on, or any writer that
// wraps it and exposes it through an Unwrap() http.ResponseWriter method,
// as gin's and echo's writers do. It reports whether a measuring
// middleware was found.
//
// route must be a route template, never a raw path; "" is ignored. The
// middleware records it as http.route on runway.requests and
// runway.request.duration when the request ends, in preference to
// WithRouteFunc; it needs WithSetRoute or another route option, and
// distinct values are bounded by WithMaxRoutes. It does not change
// runway.requests.in_flight_by_route. SetRoute does not allocate; it must
// be called before the handler returns, from the goroutine serving the
// request. With nested middlewares, the innermost one takes the route.
func SetRoute(w http.ResponseWriter, route string) bool {
	for range maxUnwrap {
		if mw, ok := w.(measuredWriter); ok {
			if route != "" {
				mw.measured().route = route
			}
			return true
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return false
		}
		w = u.Unwrap()
	}
	return false
}
