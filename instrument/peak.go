package instrument

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// PeakInFlightName is the highest in-flight value over a recent window
// (WithPeakInFlight), so a burst between two collections is seen.
const PeakInFlightName = "runway.requests.in_flight.peak"

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
type peakTracker struct {
	inflight *atomic.Int64 // the recorder's in-flight count
	window   time.Duration
	max      atomic.Int64
	obs      metric.Int64ObservableGauge

	mu   sync.Mutex
	segs []peakSegment // closed segments, oldest first
}

type peakSegment struct {
	end time.Time
	max int64
}

func newPeakTracker(c *config, rec *recorder) (*peakTracker, error) {
	if !c.peak {
		return nil, nil
	}
	p := &peakTracker{inflight: &rec.inflight, window: c.peakWindow}
	meter := c.provider.Meter(ScopeName, metric.WithInstrumentationVersion(Version()))
	var err error
	if p.obs, err = meter.Int64ObservableGauge(PeakInFlightName,
		metric.WithUnit(requestUnit),
		metric.WithDescription("Highest number of requests in flight over the recent window (since the previous collection with a window of 0)."),
	); err != nil {
		return nil, fmt.Errorf("instrument: creating %s: %w", PeakInFlightName, err)
	}
	if _, err := meter.RegisterCallback(p.observe, p.obs); err != nil {
		return nil, fmt.Errorf("instrument: registering peak callback: %w", err)
	}
	return p, nil
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
