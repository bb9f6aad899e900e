// Package limit is an admission-control middleware for net/http: it
// admits at most a fixed number of requests at once, lets a bounded number
// more wait for a slot, first in, first out, and turns the rest away with
// 503 Service Unavailable and a Retry-After header. What it admits, queues
// and refuses is reported through the OpenTelemetry metrics API, so that
// the drops are seen. Like package instrument it depends on the API only.
//
// It is a middleware of its own, func(http.Handler) http.Handler in shape
// (Limiter.Wrap), independent of instrument's Middleware: the two are
// composed, and the order chooses what runway's metrics see.
//
//	mw, _ := instrument.NewMiddleware(instrument.WithMeterProvider(mp))
//	lim, _ := limit.New(64, 64, limit.WithMeterProvider(mp))
//	handler := mw.Wrap(lim.Wrap(api)) // runway's middleware in front
//
// With runway's middleware in front (outside), as above, a waiting request
// is in runway.requests.in_flight (it is load the server holds, and the
// autoscaling signal should see a queue building), its wait is part of
// runway.request.duration, and a turned-away request is counted in
// runway.requests with the status the limiter answered. With the limiter
// in front, runway sees only the requests the limiter admitted:
// runway.requests.in_flight never exceeds the limit, and refusals appear
// only in runway.limit.rejected.
//
// # Contract
//
//   - A request is admitted at once while fewer than the limit are admitted
//     and no request waits; otherwise it waits if fewer than the queue
//     size wait, else it is refused at once: 503 with Retry-After,
//     runway.limit.reason="queue_full".
//   - A waiting request whose context ends leaves the queue without
//     taking a slot. If the client went away (the context was canceled)
//     the limiter answers 499 (Client Closed Request, nginx's code), which
//     the client never reads but an outer middleware records: a client
//     that gives up is not a server error. reason="canceled". If a
//     deadline passed (a server-side timeout), it answers 503 with
//     Retry-After: the server failed to serve in time. reason="deadline".
//   - An admitted request holds its slot until the wrapped handler returns,
//     whatever the handler does: returns, panics (the slot is released and
//     the panic goes on), streams a response, or hijacks the connection.
//     A server-sent event stream or a WebSocket served by a wrapped handler
//     therefore holds a slot for its whole life: wrap only the handlers
//     that should be limited (for example, give the API routes of a
//     ServeMux the limiter and the stream routes none).
//   - Every request that reaches the wrapped handler passes through the
//     limiter: paths that must answer when the limit is reached (health
//     probes, /metrics) are served beside it, not through it.
//
// # Metrics
//
// The instruments keep runway's instrumentation scope
// (github.com/otel-runway/runway/instrument):
//
//	OTel instrument             kind                          unit       attributes            Prometheus name
//	runway.limit.waiting        Int64ObservableUpDownCounter  {request}  none                  runway_limit_waiting
//	runway.limit.rejected       Int64ObservableCounter        {request}  runway.limit.reason   runway_limit_rejected_total
//	runway.limit.wait.duration  Float64Histogram              s          none                  runway_limit_wait_duration_seconds
//	runway.limit.concurrency    Int64ObservableUpDownCounter  {request}  none                  runway_limit_concurrency
//	runway.limit.queue          Int64ObservableUpDownCounter  {request}  none                  runway_limit_queue
//
// runway.limit.reason is queue_full, canceled or deadline, as above.
// runway.limit.wait.duration records only the requests that had to wait,
// admitted or not. Several Limiters on one MeterProvider add up: the SDK
// sums their observations, so runway.limit.concurrency and
// runway.limit.queue are the process's totals.
//
// # Lifecycle
//
// A Limiter registers a callback on its MeterProvider; Close unregisters
// it. A closed Limiter still admits, queues and refuses requests (the
// handlers it wrapped keep working) but records nothing more.
package limit

//go:generate go run ../internal/surface/cmd/apirecord
