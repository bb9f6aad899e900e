package instrument

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/otel-runway/runway/instrument/internal/contract"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// The metric contract, shared with package runwaygrpc.
const (
	inFlightName            = contract.InFlightName
	inFlightByRouteName     = contract.InFlightByRouteName
	requestsName            = contract.RequestsName
	durationName            = contract.DurationName
	streamsInFlightName     = contract.StreamsInFlightName
	inFlightTimeName        = contract.InFlightTimeName
	inFlightTimeByRouteName = contract.InFlightTimeByRouteName
	peakInFlightName        = contract.PeakInFlightName
	requestUnit             = contract.RequestUnit
	durationUnit            = contract.DurationUnit

	methodKey     = contract.MethodKey
	statusCodeKey = contract.StatusCodeKey
	routeKey      = contract.RouteKey
	overflowKey   = contract.OverflowKey
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

	// closed is set by Middleware.Close: from then on nothing is
	// recorded (requests still in flight finish unrecorded).
	closed atomic.Bool

	conv            contract.Families
	duration        metric.Float64Histogram             // nil without runway names
	inflightObs     metric.Int64ObservableUpDownCounter // nil without runway names
	inflightByRoute metric.Int64ObservableUpDownCounter // nil without routes
	requests        metric.Int64ObservableCounter       // nil without runway names

	// The semantic conventions (otel.go): nil without them.
	active       *activeCounts
	activeObs    metric.Int64ObservableUpDownCounter
	otelDuration metric.Float64Histogram

	// epoch is the origin of the time-weighted counters' clock (inflight_time.go).
	epoch               time.Time
	inflightTime        metric.Float64ObservableCounter // nil when off
	inflightTimeByRoute metric.Float64ObservableCounter // nil when off or without routes
	twWords             []uint64                        // scratch for collection, under collectMu

	peak *peakTracker // nil without WithPeakInFlight (peak.go); shared per provider
}

func newRecorder(c *config, routes *routeTable) (*recorder, error) {
	meter := contract.Meter(c.provider)
	rec := &recorder{routes: routes, epoch: time.Now()}
	rec.conv = c.conv
	var err error
	var observed []metric.Observable
	if c.conv.Runway {
		if rec.duration, err = contract.NewDuration(meter, c.buckets); err != nil {
			return nil, fmt.Errorf("instrument: %w", err)
		}
		if rec.inflightObs, err = contract.NewInFlight(meter); err != nil {
			return nil, fmt.Errorf("instrument: %w", err)
		}
		if rec.requests, err = contract.NewRequests(meter); err != nil {
			return nil, fmt.Errorf("instrument: %w", err)
		}
		observed = append(observed, rec.inflightObs, rec.requests)
	}
	if c.conv.OTel {
		rec.active = newActiveCounts()
		if rec.activeObs, err = meter.Int64ObservableUpDownCounter(contract.ActiveRequestsName,
			metric.WithUnit(contract.ActiveRequestsUnit),
			metric.WithDescription(contract.ActiveRequestsDescription),
		); err != nil {
			return nil, fmt.Errorf("instrument: creating %s: %w", contract.ActiveRequestsName, err)
		}
		observed = append(observed, rec.activeObs)
	}
	if c.conv.OTelDuration {
		if rec.otelDuration, err = meter.Float64Histogram(contract.HTTPDurationName,
			metric.WithUnit(contract.HTTPDurationUnit),
			metric.WithDescription(contract.HTTPDurationDescription),
			metric.WithExplicitBucketBoundaries(c.buckets...),
		); err != nil {
			return nil, fmt.Errorf("instrument: creating %s: %w", contract.HTTPDurationName, err)
		}
	}
	if routes.byRoute {
		if rec.inflightByRoute, err = meter.Int64ObservableUpDownCounter(inFlightByRouteName,
			metric.WithUnit(requestUnit),
			metric.WithDescription("Requests in flight by route group."),
		); err != nil {
			return nil, fmt.Errorf("instrument: creating %s: %w", inFlightByRouteName, err)
		}
		observed = append(observed, rec.inflightByRoute)
	}
	if observed, err = rec.newInflightTime(c, meter, observed); err != nil {
		return nil, err
	}
	if err := c.regs.Register(meter, "middleware", rec.observe, observed...); err != nil {
		return nil, fmt.Errorf("instrument: %w", err)
	}
	return rec, nil
}

// cacheLinePad keeps a field that every request writes away from the
// fields that every request reads.
type cacheLinePad [64]byte

// start marks a request of route rt as in flight; act is its series of
// http.server.active_requests (activeIndex).
func (rec *recorder) start(rt *route, act int) {
	rec.inflight.Add(1)
	if a := rec.active; a != nil {
		a.n[act].Add(1)
		if !a.seen[act].Load() {
			a.seen[act].Store(true)
		}
	}
	if rec.inflightByRoute != nil { // without routes nothing reads it
		rt.inflight.Add(1)
	}
	if rec.peak != nil {
		rec.peak.note(rec.peak.inflight.Add(1))
	}
}

// end records a finished request of route rt (in flight since it was
// started) under the route rec (usually rt), and marks it no longer in
// flight. protocol is the request's protocolIndex.
func (rec *recorder) end(ctx context.Context, rt, recRoute *route, method, protocol, status int, elapsed time.Duration) {
	if rec.closed.Load() {
		rec.leave(rt, activeIndex(method, protocol))
		return
	}
	secs := elapsed.Seconds()
	if rec.duration != nil {
		rec.duration.Record(ctx, secs, recRoute.recordOpts[method]...)
	}
	c := rec.routes.count(recRoute, method, status)
	if rec.otelDuration != nil {
		rec.otelDuration.Record(ctx, secs, rec.routes.otelRecordOpt(c, recRoute, method, protocol)...)
	}
	rec.leave(rt, activeIndex(method, protocol))
}

// leave marks a request of route rt, of series act of
// http.server.active_requests, no longer in flight.
func (rec *recorder) leave(rt *route, act int) {
	if rec.active != nil {
		rec.active.n[act].Add(-1)
	}
	if rec.inflightByRoute != nil {
		rt.inflight.Add(-1)
	}
	rec.inflight.Add(-1)
	if rec.peak != nil {
		rec.peak.inflight.Add(-1)
	}
}

// observe reports the asynchronous instruments. Several middlewares on one
// MeterProvider each observe; the SDK sums observations with the same
// attributes, so their in-flight totals add up.
func (rec *recorder) observe(_ context.Context, o metric.Observer) error {
	if rec.inflightObs != nil {
		o.ObserveInt64(rec.inflightObs, rec.inflight.Load())
	}
	if a := rec.active; a != nil {
		for i := range a.n {
			if a.seen[i].Load() {
				o.ObserveInt64(rec.activeObs, a.n[i].Load(), a.opt[i]...)
			}
		}
	}
	t := rec.routes
	t.collectMu.Lock()
	defer t.collectMu.Unlock()
	rec.observeInflightTime(o, t.routes())
	for _, rt := range t.routes() {
		if rec.inflightByRoute != nil && rt.preDispatch.Load() {
			o.ObserveInt64(rec.inflightByRoute, rt.inflight.Load(), rt.inflightOpt...)
		}
		if rec.requests == nil {
			continue
		}
		for m := range rt.counts {
			p := rt.counts[m].Load()
			if p == nil {
				continue
			}
			for _, c := range *p {
				if c.opt == nil {
					c.opt = countOpts(rt, m, c.code)
				}
				o.ObserveInt64(rec.requests, c.n.Load(), c.opt...)
			}
		}
	}
	if n := t.overflow.n.Load(); n > 0 && rec.requests != nil {
		o.ObserveInt64(rec.requests, n, t.overflow.opt...)
	}
	return nil
}

func countOpts(rt *route, method, code int) []metric.ObserveOption {
	attrs := []attribute.KeyValue{
		methodKey.String(methodName(method)),
		statusCodeKey.Int(code),
	}
	if rt.name != "" {
		attrs = append(attrs, routeKey.String(rt.name))
	}
	return []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(attrs...))}
}
