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
// These are the names of ConventionsRunway, the default. With
// WithConventions(ConventionsOTel) the OpenTelemetry HTTP semantic
// conventions name the core metrics instead (ConventionsBoth records both
// sets; ConventionsOTelActive only the first, for a handler otelhttp
// already measures):
//
//	http.server.active_requests         Int64ObservableUpDownCounter      {request}  http.request.method, url.scheme                      http_server_active_requests
//	http.server.request.duration        Float64Histogram, explicit        s          http.request.method, url.scheme,                     http_server_request_duration_seconds
//	                                    buckets in seconds                           http.response.status_code, http.route (with routes),
//	                                                                                 error.type (5xx), network.protocol.name and .version
//
// In otel mode runway.requests.in_flight, runway.requests and
// runway.request.duration are not recorded (the histogram's count gives
// the number of requests); every instrument below keeps its runway name in
// every mode. docs/conventions.md maps the names and gives the queries.
//
// Optional instruments (see docs/metrics.md for the contract of each):
//
//	runway.requests.in_flight_time           Float64ObservableCounter   s           none (on by default)         runway_requests_in_flight_time_seconds_total
//	runway.requests.in_flight_time_by_route  Float64ObservableCounter   s           http.route (with routes)     runway_requests_in_flight_time_by_route_seconds_total
//	runway.requests.in_flight.peak           Int64ObservableGauge       {request}   none (WithPeakInFlight)      runway_requests_in_flight_peak
//	runway.streams.in_flight                 Int64ObservableUpDownCtr   {stream}    none (on by default)         runway_streams_in_flight
//	runway.connections.accepted              Int64ObservableCounter     {connection} none (NewListener)          runway_connections_accepted_total
//	runway.connections.open                  Int64ObservableUpDownCtr   {connection} none                        runway_connections_open
//	runway.listener.accept_queue             Int64ObservableUpDownCtr   {connection} none (Linux)                runway_listener_accept_queue
//	runway.listener.accept_queue.max         Int64ObservableUpDownCtr   {connection} none (Linux)                runway_listener_accept_queue_max
//
// rate(runway_requests_in_flight_time_seconds_total[1m]) is the exact
// average number of requests in flight over the last minute, including
// requests still running, where the in-flight gauge is one sample per
// scrape.
//
// runway.requests.in_flight is the autoscaling signal: requests that have
// entered the middleware and not yet finished. runway.requests.in_flight_by_route
// is reported only with route groups (WithRouteGroups). The Prometheus names are those the OpenTelemetry
// Prometheus exporter gives with its default translation.
//
// In-flight counts and request counts are kept in atomics and reported
// when a reader collects; each request makes one synchronous measurement,
// the duration. When several middlewares (and gRPC stats handlers of
// package runwaygrpc) share a MeterProvider, the SDK adds their
// observations up, so runway.requests.in_flight is the total of the
// process; so are the time-weighted counters and the listener's accept
// queue. The peak is that of the total of the middlewares with
// WithPeakInFlight on the provider, which must agree on its window.
//
// # Bounded attributes
//
// No value taken from a request reaches an attribute unchecked:
//   - http.request.method is one of GET, HEAD, POST, PUT, DELETE, CONNECT,
//     OPTIONS, TRACE, PATCH, QUERY (exact case), else "_OTHER".
//   - http.route is, in this order, what the route function returns
//     (WithRouteFunc), the route group the request matched
//     (WithRouteGroups), or, without either, the pattern that net/http's
//     ServeMux (or chi, or a framework's one-line middleware) set in
//     r.Pattern, read after the handler returns, method and host dropped
//     ("/items/{id}"); never a raw path. A request outside every route
//     group is recorded with http.route "_OTHER"; a request with no route
//     at all (no router, no pattern matched) without http.route. At most
//     WithMaxRoutes routes are tracked; further ones are "_OTHER".
//   - http.response.status_code is the status the handler wrote (100–999;
//     anything else, from a non-standard ResponseWriter, is recorded as 0).
//
// Memory grows with the series seen: a route's counters are created when
// the route is first seen, and those of a (route, method) pair one status
// code at a time, about a hundred bytes per series. runway.requests is
// bounded like the OpenTelemetry SDK bounds a metric by default (its
// cardinality limit, 2000): past 1,999 series, requests of a new
// combination of route, method and status are counted in one series with
// the attribute otel.metric.overflow=true, so none is lost and runway
// keeps no counter the SDK would fold away. WithMaxRoutes (default 2000,
// the same limit) bounds the routes, and so the series of the by-route
// instruments.
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
//     another status first. The request becomes a stream at the hijack
//     (see Streams below) and ends when the handler returns, whatever
//     happens to the connection afterwards.
//   - The client disconnects: the request ends when the handler returns.
//   - Streaming (Flush) responses: the request is in flight until the
//     handler returns, unless it is a stream (below).
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
// # Streams
//
// By default (unless WithoutStreams) long-lived streams are kept out of
// runway.requests.in_flight, runway.requests.in_flight_time and
// runway.request.duration, and counted in runway.streams.in_flight. A
// request becomes a stream, once and for good: from the start if its route
// is one of WithStreamingRoutes; when the handler writes its final header
// (WriteHeader, or the first Write, WriteString, ReadFrom or Flush) with
// Content-Type text/event-stream set or with status 101; or when it
// hijacks the connection. A stream is counted in runway.requests when the
// handler returns.
//
// # Concurrency limit
//
// Admission control is not measurement: the concurrency limit is package
// limit (github.com/otel-runway/runway/instrument/limit), a middleware of
// its own that reports runway.limit.*. Behind this package's middleware
// (mw.Wrap(lim.Wrap(h))) the requests it queues are in flight and the
// ones it turns away are counted with the status it answers (503, or 499
// for a client that gave up while waiting).
//
// Requests to excluded paths (by default /metrics and the usual health
// probes) pass through unmeasured.
//
// # Lifecycle
//
// A Middleware registers callbacks on its MeterProvider; Close unregisters
// them and stops all recording, synchronous instruments included: requests
// still running through its handlers finish unrecorded, later ones pass
// through unmeasured. Its tables can then be garbage collected. A Listener
// does the same on Close. Building and closing middlewares repeatedly (one
// per test, say) leaves nothing behind. Closing one of several middlewares
// on a provider takes its share out of the summed counters, which
// Prometheus reads as a counter reset (see Middleware.Close).
//
// # Time-weighted count
//
// runway.requests.in_flight_time is exact: one 64-bit word per route holds
// both the requests in flight and a running total, updated with one atomic
// add per event. It counts up to 524,288 requests of one route (of the
// whole middleware without routes) in flight at once; a request starting
// beyond that is left out of the time-weighted count (and only of it) until
// fewer are in flight, so the counter saturates instead of corrupting.
//
// # gRPC
//
// Package runwaygrpc records the same instruments for a gRPC server
// (grpc.StatsHandler). It is a package of its own so that a program that
// serves only HTTP does not compile gRPC.
package instrument

//go:generate go run ./internal/surface/cmd/apirecord
