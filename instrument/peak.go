package instrument

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otel-runway/runway/instrument/internal/contract"
	"go.opentelemetry.io/otel/metric"
)

// peakTracker keeps the highest runway.requests.in_flight value.
//
// The request path only raises max (one load and compare; a CAS when it
// sets a new high). Every collection, by whichever reader, closes a
// segment: it takes max, restarts it at the current in-flight value, and
// logs (its time, its max). A collection reports the highest of the logged
// segments that ended within the window before it.
//
// Why this gives each reader its own window: the SDK runs one callback for
// every reader and does not say which reader is collecting, so no state can
// be kept per reader. But a burst after a reader's previous collection
// (at now − I) falls in a segment that ends after now − I; with I ≤ window
// it is inside the window, whatever other readers collected in between. A
// reader whose interval is at most the window therefore never misses a
// burst; it may also report one that an earlier collection of its own
// already reported, up to window old. With a window of 0 the window is
// "since the previous collection by any reader": exact for one reader, but
// with two readers a burst is reported only to the first that collects.
//
// A gauge cannot be summed across middlewares: two middlewares reporting
// their own peak on one MeterProvider would leave whichever value was
// observed last. So every middleware with WithPeakInFlight on one
// MeterProvider shares one tracker, which counts the requests in flight
// in all of them: the peak is that of their total. They must agree on the
// window; a middleware asking for another window is refused.
type peakTracker struct {
	// inflight counts the requests in flight in every middleware sharing
	// the tracker.
	inflight atomic.Int64
	window   time.Duration
	max      atomic.Int64
	obs      metric.Int64ObservableGauge
	reg      metric.Registration

	// key and refs belong to peaks, under peaks.mu; key is nil for a
	// tracker that is not shared.
	key  metric.MeterProvider
	refs int

	mu   sync.Mutex
	segs []peakSegment // closed segments, oldest first
}

type peakSegment struct {
	end time.Time
	max int64
}

// peaks holds the shared tracker of each MeterProvider.
var peaks struct {
	mu         sync.Mutex
	byProvider map[metric.MeterProvider]*peakTracker
}

// newPeakTracker returns the tracker of c's MeterProvider, shared with the
// other middlewares on it, or nil without WithPeakInFlight. Each tracker
// returned must be released once.
func newPeakTracker(c *config) (*peakTracker, error) {
	if !c.peak {
		return nil, nil
	}
	peaks.mu.Lock()
	defer peaks.mu.Unlock()
	shared := reflect.TypeOf(c.provider).Comparable()
	if shared {
		if p := peaks.byProvider[c.provider]; p != nil {
			if p.window != c.peakWindow {
				return nil, optionError("WithPeakInFlight", "window %v differs from the window %v of another middleware on the same MeterProvider, which reports the one peak of both", c.peakWindow, p.window)
			}
			p.refs++
			return p, nil
		}
	}
	p := &peakTracker{window: c.peakWindow, refs: 1}
	meter := contract.Meter(c.provider)
	var err error
	if p.obs, err = meter.Int64ObservableGauge(peakInFlightName,
		metric.WithUnit(requestUnit),
		metric.WithDescription("Highest number of requests in flight over the recent window (since the previous collection with a window of 0)."),
	); err != nil {
		return nil, fmt.Errorf("instrument: creating %s: %w", peakInFlightName, err)
	}
	if p.reg, err = meter.RegisterCallback(p.observe, p.obs); err != nil {
		return nil, fmt.Errorf("instrument: registering the peak callback: %w", err)
	}
	if shared {
		if peaks.byProvider == nil {
			peaks.byProvider = map[metric.MeterProvider]*peakTracker{}
		}
		p.key = c.provider
		peaks.byProvider[c.provider] = p
	}
	return p, nil
}

// release gives up one middleware's share of p; the last one unregisters
// its callback.
func (p *peakTracker) release() error {
	peaks.mu.Lock()
	defer peaks.mu.Unlock()
	p.refs--
	if p.refs > 0 {
		return nil
	}
	if p.key != nil {
		delete(peaks.byProvider, p.key)
		p.key = nil
	}
	return p.reg.Unregister()
}

// note records that n requests are in flight.
func (p *peakTracker) note(n int64) {
	for {
		m := p.max.Load()
		if n <= m || p.max.CompareAndSwap(m, n) {
			return
		}
	}
}

func (p *peakTracker) observe(_ context.Context, o metric.Observer) error {
	o.ObserveInt64(p.obs, p.collect(time.Now()))
	return nil
}

// collect closes the current segment at now and returns the peak over the
// window.
func (p *peakTracker) collect(now time.Time) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	cur := p.inflight.Load()
	seg := max(p.max.Swap(cur), cur)
	p.segs = append(p.segs, peakSegment{end: now, max: seg})
	from := now.Add(-p.window)
	keep := 0
	for keep < len(p.segs)-1 && p.segs[keep].end.Before(from) {
		keep++
	}
	p.segs = append(p.segs[:0], p.segs[keep:]...)
	peak := int64(0)
	for _, s := range p.segs {
		peak = max(peak, s.max)
	}
	return peak
}
