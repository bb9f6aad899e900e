// Package instrument measures the requests a Go server has in flight, with
// a request counter and a latency histogram, through the OpenTelemetry
// metrics API. It depends on the API only: the application chooses the SDK
// and exporters (package exporter builds them), and anyone with their own
// MeterProvider can use this package alone.
//
// # Metrics
//
//	OTel instrument                     kind                              unit       attributes                                           Prometheus name
//	runway.requests.in_flight           Int64ObservableUpDownCounter      {request}  none                                                 runway_requests_in_flight
//	runway.requests.in_flight_by_route  Int64ObservableUpDownCounter      {request}  http.route                                           runway_requests_in_flight_by_route
//	runway.requests                     Int64ObservableCounter            {request}  http.request.method, http.response.status_code,     runway_requests_total
//	                                                                                 http.route (with routes)
//	runway.request.duration             Float64Histogram, explicit        s          http.request.method, http.route (with routes)        runway_request_duration_seconds
//	                                    buckets in seconds
//
// runway.requests.in_flight is the autoscaling signal: requests that have
// entered the middleware and not yet finished. runway.requests.in_flight_by_route
// is reported only when routes are configured (WithRouteGroups or
// WithServeMux). The Prometheus names are those the OpenTelemetry
// Prometheus exporter gives with its default translation.
//
// In-flight counts and request counts are kept in atomics and reported
// when a reader collects; each request makes one synchronous measurement,
// the duration. When several middlewares share a MeterProvider, the SDK
// adds their observations up, so runway.requests.in_flight is the total
// of the process.
//
// # Bounded attributes
//
// No value taken from a request reaches an attribute unchecked:
//   - http.request.method is one of GET, HEAD, POST, PUT, DELETE, CONNECT,
//     OPTIONS, TRACE, PATCH, QUERY (exact case), else "_OTHER".
//   - http.route is a route group name (WithRouteGroups) or a ServeMux
//     pattern (WithServeMux), never a raw path. A request that matches
//     none is recorded with http.route "_OTHER" and is still counted in
//     runway.requests.in_flight. At most WithMaxRoutes routes are tracked.
//   - http.response.status_code is the status the handler wrote (100–999;
//     anything else, from a non-standard ResponseWriter, is recorded as 0).
//
// The number of runway.requests series is therefore at most
// 11 methods × statuses used × (routes + 1).
//
// # Contract
//
// The in-flight count comes back to exactly its previous value whatever
// happens to a request, because it is decremented in a deferred call:
//   - The handler returns: the status is the first final status written;
//     200 when the handler wrote a body, flushed or wrote nothing.
//   - Informational 1xx responses (other than 101) are not final.
//   - A second WriteHeader does not change the recorded status.
//   - The handler panics, including with http.ErrAbortHandler: the request
//     is recorded with status 500 and the panic continues, unrecovered, to
//     net/http (or whatever recovers it above the middleware).
//   - The connection is hijacked: status 101 unless the handler wrote
//     another status first. The request ends when the handler returns,
//     whatever happens to the connection afterwards.
//   - The client disconnects: the request ends when the handler returns.
//   - Streaming (Flush) responses: the request is in flight until the
//     handler returns.
//   - http.TimeoutHandler inside the middleware: the request ends with
//     status 503 when the timeout fires. Outside the middleware: the
//     request stays in flight until the abandoned handler really returns,
//     since it still holds the server's resources.
//
// The ResponseWriter handed to the handler implements exactly the optional
// interfaces of the one it wraps (http.Flusher, http.Hijacker,
// io.ReaderFrom, http.Pusher, io.StringWriter) and Unwrap, so
// http.ResponseController and type assertions behave as without the
// middleware. It must not be used after ServeHTTP returns (net/http's own
// rule): it is reused for later requests.
//
// Requests to excluded paths (by default DefaultExcludedPaths: /metrics
// and the usual health probes) pass through unmeasured.
//
// Each middleware registers a callback on its MeterProvider for the life of
// that provider; build middlewares once, at start-up.
package instrument
