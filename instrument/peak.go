package instrument

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/otel-runway/runway/instrument/internal/contract"
	"go.opentelemetry.io/otel/metric"
)

// peakTracker keeps the highest runway.requests.in_flight value.
//
// The request path only raises max (one load and compare; a CAS when it
// sets a new high). Every collection, by whichever reader, closes a
// segment: it takes max and restarts it at the current in-flight value.
// The segment's maximum is kept in the slot of the time it closed: the
// window is cut into peakSlots slots, each holding the highest segment
// that closed in it, in a ring of fixed size. A collection reports the
// highest slot that ends after now − window: every segment that closed
// within the window, and possibly segments up to one slot (window /
// peakSlots) older. The cost is fixed whatever the window and however
// often readers collect.
//
// Why this gives each reader its own window: the SDK runs one callback for
// every reader and does not say which reader is collecting, so no state can
// be kept per reader. But a burst after a reader's previous collection
// (at now − I) falls in a segment that ends after now − I; with I ≤ window
// it is inside the window, whatever other readers collected in between. A
// reader whose interval is at most the window therefore never misses a
// burst; it may also report one that an earlier collection of its own
// already reported, up to window (plus a slot) old. With a window of 0 the
// window is "since the previous collection by any reader": exact for one
// reader, but with two readers a burst is reported only to the first that
// collects.
//
// A gauge cannot be summed across middlewares: two middlewares reporting
// their own peak on one MeterProvider would leave whichever value was
// observed last. So every middleware with WithPeakInFlight on one
// MeterProvider shares one tracker, which counts the requests in flight
// in all of them: the peak is that of their total. They must agree on the
// window; a middleware asking for another window is refused. The trackers
// are found by provider in a process-wide table that holds a pointer
// provider weakly: a provider that is dropped without its middlewares
// being closed is still garbage collected, and its entry goes with it.
type peakTracker struct {
	// inflight counts the requests in flight in every middleware sharing
	// the tracker.
	inflight atomic.Int64
	window   time.Duration
	max      atomic.Int64
	obs      metric.Int64ObservableGauge
	reg      metric.Registration

	// key, shared, refs and cleanup belong to peaks, under peaks.mu.
	key     peakKey
	shared  bool
	refs    int
	cleanup runtime.Cleanup

	mu    sync.Mutex
	start time.Time     // the origin of slot numbers
	width time.Duration // of a slot: window / peakSlots, rounded up
	slots [peakSlots + 2]peakSlot
}

// peakSlots is the number of slots the window is cut into.
const peakSlots = 64

// peakSlot holds the highest segment that closed in slot n, the n-th
// interval of width since start.
type peakSlot struct {
	n   int64
	max int64
}

// peakKey identifies a MeterProvider in peaks: a pointer provider by a
// weak pointer, so the table does not keep it alive; another comparable
// provider by its value. typ tells apart zero-size providers, which may
// share an address.
type peakKey struct {
	typ reflect.Type
	ptr weak.Pointer[byte]
	val any
}

// peaks holds the shared tracker of each MeterProvider.
var peaks struct {
	mu    sync.Mutex
	byKey map[peakKey]*peakTracker
}

// peakKeyOf returns the key of mp in peaks, or false if mp cannot be
// shared (a type that is not comparable). ptr is mp's pointer, if it is
// one.
func peakKeyOf(mp metric.MeterProvider) (key peakKey, ptr *byte, ok bool) {
	t := reflect.TypeOf(mp)
	if t.Kind() == reflect.Pointer {
		ptr = (*byte)(reflect.ValueOf(mp).UnsafePointer())
		if ptr == nil {
			return peakKey{}, nil, false
		}
		return peakKey{typ: t, ptr: weak.Make(ptr)}, ptr, true
	}
	if !t.Comparable() {
		return peakKey{}, nil, false
	}
	return peakKey{typ: t, val: mp}, nil, true
}

// forgetPeak drops the entry of a provider that was garbage collected.
func forgetPeak(key peakKey) {
	peaks.mu.Lock()
	defer peaks.mu.Unlock()
	if p := peaks.byKey[key]; p != nil {
		delete(peaks.byKey, key)
		p.shared = false
	}
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
	key, ptr, shared := peakKeyOf(c.provider)
	if shared {
		if p := peaks.byKey[key]; p != nil {
			if p.window != c.peakWindow {
				return nil, optionError("WithPeakInFlight", "window %v differs from the window %v of another middleware on the same MeterProvider, which reports the one peak of both", c.peakWindow, p.window)
			}
			p.refs++
			return p, nil
		}
	}
	p := newPeakWindow(c.peakWindow, time.Now())
	p.refs = 1
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
		if peaks.byKey == nil {
			peaks.byKey = map[peakKey]*peakTracker{}
		}
		p.key, p.shared = key, true
		peaks.byKey[key] = p
		if ptr != nil {
			p.cleanup = runtime.AddCleanup(ptr, forgetPeak, key)
		}
	}
	return p, nil
}

// newPeakWindow returns a tracker of window whose slots count from start.
func newPeakWindow(window time.Duration, start time.Time) *peakTracker {
	return &peakTracker{window: window, start: start, width: max(1, (window+peakSlots-1)/peakSlots)}
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
	if p.shared {
		delete(peaks.byKey, p.key)
		p.shared = false
		p.cleanup.Stop()
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
	if p.window == 0 {
		return seg
	}
	since := now.Sub(p.start)
	n := int64(since / p.width)
	s := &p.slots[n%int64(len(p.slots))]
	if s.n != n {
		s.n, s.max = n, seg
	} else {
		s.max = max(s.max, seg)
	}
	// The first slot that ends after now − window.
	first := int64(math.MinInt64)
	if from := since - p.window; from >= 0 {
		first = int64(from / p.width)
	}
	peak := int64(0)
	for _, s := range p.slots {
		if s.n >= first && s.n <= n {
			peak = max(peak, s.max)
		}
	}
	return peak
}
