package instrument

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Instrument names, units and descriptions: the metric contract.
const (
	InFlightName        = "runway.requests.in_flight"
	InFlightByRouteName = "runway.requests.in_flight_by_route"
	RequestsName        = "runway.requests"
	DurationName        = "runway.request.duration"
	// StreamsInFlightName counts long-lived streams (server-sent events,
	// WebSockets and other hijacked connections, streaming RPCs), which are
	// kept out of InFlightName: an Int64ObservableUpDownCounter with unit
	// "{stream}" and description StreamsInFlightDescription.
	StreamsInFlightName        = "runway.streams.in_flight"
	StreamsInFlightDescription = "Long-lived streams in flight (server-sent events, WebSockets, streaming RPCs), kept out of runway.requests.in_flight."
	streamUnit                 = "{stream}"
	// InFlightTimeName is the time-weighted in-flight count: request-seconds
	// spent in flight, including the elapsed part of the requests still in
	// flight at collection, so its rate is the average number in flight.
	InFlightTimeName        = "runway.requests.in_flight_time"
	InFlightTimeByRouteName = "runway.requests.in_flight_time_by_route"

	requestUnit  = "{request}"
	durationUnit = "s"

	// Descriptions shared by every recorder that creates the instruments
	// (HTTP middleware, gRPC stats handler): the SDK merges instruments of
	// one name only when unit and description are identical.
	inFlightDescription = "Requests in flight: received by the middleware and not yet finished. The autoscaling signal."
	requestsDescription = "Finished requests, by method and final status code."
	durationDescription = "Duration of requests (HTTP requests and RPCs), from the middleware receiving the request to the handler returning."
)

// recorder owns the instruments of one middleware and the counters behind
// the asynchronous ones. In-flight requests and request counts live in
// atomics and are reported when a reader collects, so the request path
// makes one synchronous measurement (the duration histogram).
type recorder struct {
	routes *routeTable
	// inflight is written by every request: it sits on its own cache
	// line, so that the read-only fields around it are not invalidated on
	// the other cores at each write.
	_        cacheLinePad
	inflight atomic.Int64
	_        cacheLinePad

	duration        metric.Float64Histogram
	inflightObs     metric.Int64ObservableUpDownCounter
	inflightByRoute metric.Int64ObservableUpDownCounter // nil without routes
	requests        metric.Int64ObservableCounter

	// epoch is the origin of the time-weighted counters' clock (inflight_time.go).
	epoch               time.Time
	inflightTime        metric.Float64ObservableCounter // nil when off
	inflightTimeByRoute metric.Float64ObservableCounter // nil when off or without routes
	twWords             []uint64                        // scratch for collection, under collectMu

	peak *peakTracker // nil without WithPeakInFlight (peak.go)
}

func newRecorder(c *config, routes *routeTable) (*recorder, error) {
	meter := c.provider.Meter(ScopeName, metric.WithInstrumentationVersion(Version()))
	rec := &recorder{routes: routes, epoch: time.Now()}
	var err error
	if rec.duration, err = meter.Float64Histogram(DurationName,
		metric.WithUnit(durationUnit),
		metric.WithDescription(durationDescription),
		metric.WithExplicitBucketBoundaries(c.buckets...),
	); err != nil {
		return nil, fmt.Errorf("instrument: creating %s: %w", DurationName, err)
	}
	if rec.inflightObs, err = meter.Int64ObservableUpDownCounter(InFlightName,
		metric.WithUnit(requestUnit),
		metric.WithDescription(inFlightDescription),
	); err != nil {
		return nil, fmt.Errorf("instrument: creating %s: %w", InFlightName, err)
	}
	if rec.requests, err = meter.Int64ObservableCounter(RequestsName,
		metric.WithUnit(requestUnit),
		metric.WithDescription(requestsDescription),
	); err != nil {
		return nil, fmt.Errorf("instrument: creating %s: %w", RequestsName, err)
	}
	observed := []metric.Observable{rec.inflightObs, rec.requests}
	if routes.withRoute {
		if rec.inflightByRoute, err = meter.Int64ObservableUpDownCounter(InFlightByRouteName,
			metric.WithUnit(requestUnit),
			metric.WithDescription("Requests in flight by route group."),
		); err != nil {
			return nil, fmt.Errorf("instrument: creating %s: %w", InFlightByRouteName, err)
		}
		observed = append(observed, rec.inflightByRoute)
	}
	if observed, err = rec.newInflightTime(c, meter, observed); err != nil {
		return nil, err
	}
	if rec.peak, err = newPeakTracker(c, rec); err != nil {
		return nil, err
	}
	if _, err := meter.RegisterCallback(rec.observe, observed...); err != nil {
		return nil, fmt.Errorf("instrument: registering callback: %w", err)
	}
	return rec, nil
}

// cacheLinePad keeps a field that every request writes away from the
// fields that every request reads.
type cacheLinePad [64]byte

// start marks a request of route rt as in flight.
func (rec *recorder) start(rt *route) {
	n := rec.inflight.Add(1)
	if rec.inflightByRoute != nil { // without routes nothing reads it
		rt.inflight.Add(1)
	}
	if rec.peak != nil {
		rec.peak.note(n)
	}
}

// end records a finished request of route rt (in flight since it was
// started) under the route rec (usually rt), and marks it no longer in
// flight.
func (rec *recorder) end(ctx context.Context, rt, recRoute *route, method, status int, elapsed time.Duration) {
	rec.duration.Record(ctx, elapsed.Seconds(), recRoute.recordOpts[method]...)
	recRoute.count(method, status)
	if rec.inflightByRoute != nil {
		rt.inflight.Add(-1)
	}
	rec.inflight.Add(-1)
}

// observe reports the asynchronous instruments. Several middlewares on one
// MeterProvider each observe; the SDK sums observations with the same
// attributes, so their in-flight totals add up.
func (rec *recorder) observe(_ context.Context, o metric.Observer) error {
	o.ObserveInt64(rec.inflightObs, rec.inflight.Load())
	t := rec.routes
	t.collectMu.Lock()
	defer t.collectMu.Unlock()
	rec.observeInflightTime(o, t.routes())
	for _, rt := range t.routes() {
		if rec.inflightByRoute != nil && rt.preDispatch.Load() {
			o.ObserveInt64(rec.inflightByRoute, rt.inflight.Load(), rt.inflightOpt...)
		}
		for m := range rt.counts {
			c := rt.counts[m].Load()
			if c == nil {
				continue
			}
			for slot := range c.n {
				n := c.n[slot].Load()
				if n == 0 {
					continue
				}
				if c.opts[slot] == nil {
					c.opts[slot] = countOpts(rt, t.withRoute, m, slot)
				}
				o.ObserveInt64(rec.requests, n, c.opts[slot]...)
			}
		}
	}
	return nil
}

func countOpts(rt *route, withRoute bool, method, slot int) []metric.ObserveOption {
	attrs := []attribute.KeyValue{
		MethodKey.String(methodName(method)),
		StatusCodeKey.Int(slotStatus(slot)),
	}
	if withRoute {
		attrs = append(attrs, RouteKey.String(rt.name))
	}
	return []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(attrs...))}
}
