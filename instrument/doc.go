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
// Optional instruments (see docs/metrics.md for the contract of each):
//
//	runway.requests.in_flight_time           Float64ObservableCounter   s           none (on by default)         runway_requests_in_flight_time_seconds_total
//	runway.requests.in_flight_time_by_route  Float64ObservableCounter   s           http.route (with routes)     runway_requests_in_flight_time_by_route_seconds_total
//	runway.requests.in_flight.peak           Int64ObservableGauge       {request}   none (WithPeakInFlight)      runway_requests_in_flight_peak
//	runway.streams.in_flight                 Int64ObservableUpDownCtr   {stream}    none (on by default)         runway_streams_in_flight
//	runway.limit.waiting                     Int64ObservableUpDownCtr   {request}   none (WithConcurrencyLimit)  runway_limit_waiting
//	runway.limit.rejected                    Int64ObservableCounter     {request}   runway.limit.reason          runway_limit_rejected_total
//	runway.limit.wait.duration               Float64Histogram           s           none                         runway_limit_wait_duration_seconds
//	runway.limit.concurrency                 Int64ObservableGauge       {request}   none                         runway_limit_concurrency
//	runway.limit.queue                       Int64ObservableGauge       {request}   none                         runway_limit_queue
//	runway.connections.accepted              Int64ObservableCounter     {connection} none (NewListener)          runway_connections_accepted_total
//	runway.connections.open                  Int64ObservableUpDownCtr   {connection} none                        runway_connections_open
//	runway.listener.accept_queue             Int64ObservableGauge       {connection} none (Linux)                runway_listener_accept_queue
//	runway.listener.accept_queue.max         Int64ObservableGauge       {connection} none (Linux)                runway_listener_accept_queue_max
//
// rate(runway_requests_in_flight_time_seconds_total[1m]) is the exact
// average number of requests in flight over the last minute, including
// requests still running, where the in-flight gauge is one sample per
// scrape.
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
// By default (WithStreams) long-lived streams are kept out of
// runway.requests.in_flight, runway.requests.in_flight_time and
// runway.request.duration, and counted in runway.streams.in_flight. A
// request becomes a stream, once and for good: from the start if its route
// is one of WithStreamingRoutes; when the handler writes its final header
// (WriteHeader, or the first Write, WriteString, ReadFrom or Flush) with
// Content-Type text/event-stream set or with status 101; or when it
// hijacks the connection. A stream is counted in runway.requests when the
// handler returns and does not hold a slot of the concurrency limit.
//
// # Concurrency limit
//
// WithConcurrencyLimit(limit, queue) admits at most limit requests at once,
// lets up to queue more wait in FIFO order (leaving when their context
// ends), and answers the rest at once with 503 and Retry-After. It sits
// inside the measurement: waiting requests are in flight, refused ones are
// counted with status 503. Excluded paths bypass it.
//
// Requests to excluded paths (by default defaultExcludedPaths: /metrics
// and the usual health probes) pass through unmeasured.
//
// Each middleware registers a callback on its MeterProvider for the life of
// that provider; build middlewares once, at start-up.
//
// # gRPC
//
// NewGRPCStatsHandler records the same instruments for a gRPC server
// (grpc.StatsHandler): a unary RPC counts in runway.requests.in_flight like
// an HTTP request, so a server speaking both reports one total; streaming
// RPCs count in runway.streams.in_flight. Its runway.requests and
// runway.request.duration series carry rpc.system.name, rpc.method and
// (for the counter) rpc.response.status_code instead of the HTTP keys.
package instrument

//go:generate go run ./internal/surface/cmd/apirecord
