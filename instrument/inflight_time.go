package instrument

import (
	"fmt"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// Time-weighted concurrency: request-seconds spent in flight.
//
// The sum over the requests in flight of (now − start) is n·now − Σstart.
// Completed requests add their duration, end − start, for good. So one
// running total, acc = Σ(completed: end − start) − Σ(in flight: start),
// together with the number in flight n, gives the exact integral of the
// in-flight count up to any instant now: acc + n·now.
//
// acc and n must be read together: a request that starts between a read of
// n and a read of acc would add a whole start time (or now) to the result.
// So both live in one 64-bit word, updated with one atomic add per event:
//
//	bits 63..20  acc, modulo 2^44, in ticks of 2^tickShift ns
//	bits 19..0   n, the requests of this counter in flight (< 2^20)
//
// A start at tick s adds 1 − s<<20; an end at tick e adds e<<20 − 1. Both
// are additions modulo 2^64, so they commute and never need a lock; the n
// field never carries into acc as long as fewer than 2^20 requests of one
// route are in flight at once, and acc is exact modulo 2^44 ticks (wrap
// around is harmless, see collect).
const (
	// tickShift sets the resolution: a tick is 2^14 ns = 16.384 µs. A
	// request's duration is end tick − start tick, so its error is under
	// one tick and averages out to zero over many requests.
	tickShift  = 14
	countBits  = 20
	countMask  = 1<<countBits - 1
	accBits    = 64 - countBits
	accModMask = 1<<accBits - 1
	// reversalTicks bounds how far a collection may fall below the
	// previous one before the difference is taken as a wrap of acc rather
	// than a reading that raced with a request ending (see collect). A
	// race can only shift a reading by the time between a clock read and
	// an atomic add, far below 2^36 ticks (about 13 days of
	// request-seconds).
	reversalTicks = 1 << 36
	tickSeconds   = float64(1<<tickShift) / 1e9
)

// inflightTime is the time-weighted in-flight counter of one route. Its
// word is updated per request; last and total belong to collection and are
// only touched with the routeTable's collectMu held.
type inflightTime struct {
	word atomic.Uint64
	// last is the acc value (modulo 2^44 ticks) that total accounts for.
	last uint64
	// total is the reported value in ticks; it never decreases.
	total uint64
}

// ticks converts an offset from the recorder's epoch into ticks.
func ticks(d time.Duration) uint64 { return uint64(d) >> tickShift }

// start marks a request that started at tick s as in flight.
func (c *inflightTime) start(s uint64) { c.word.Add(1 - s<<countBits) }

// end marks a request that started before and ended at tick e as no
// longer in flight; its whole duration stays in the total.
func (c *inflightTime) end(e uint64) { c.word.Add(e<<countBits - 1) }

// load returns the word, to be evaluated with value at a clock reading
// taken after the load.
func (c *inflightTime) load() uint64 { return c.word.Load() }

// value evaluates a word loaded before the tick now was read: the
// request-ticks spent in flight since the epoch, modulo 2^44.
func value(w, now uint64) uint64 {
	n := w & countMask
	acc := w >> countBits
	return (acc + n*now) & accModMask
}

// advance folds the reading v (modulo 2^44 ticks) into the reported total
// and returns it. The total never decreases:
//
//   - Every request in the loaded word has its start tick (and, if it
//     ended, its end tick) at or before now, because the clock was read
//     before the atomic add that published it, which came before the load,
//     which came before now was read. So each reading is the exact integral
//     over the requests it saw, up to now.
//   - A reading can still be a little lower than the previous one: a
//     request that the previous load saw in flight may have ended between
//     that load and that clock read, so the previous reading counted it up
//     to a later instant than its end. Such a fall back is at most the time
//     between a clock read and an atomic add per racing request; it is
//     absorbed here (the total stays put until the readings pass it).
//   - Otherwise the difference is taken forward, modulo 2^44, so the
//     total keeps growing past a wrap of acc as long as less than 2^44 −
//     2^36 ticks (about 9 years of request-seconds) accrue between two
//     collections.
func (c *inflightTime) advance(v uint64) uint64 {
	d := (v - c.last) & accModMask
	if d > accModMask-reversalTicks {
		return c.total // a race with a request ending: hold
	}
	c.last = v
	c.total += d
	return c.total
}

func (rec *recorder) newInflightTime(c *config, meter metric.Meter, observed []metric.Observable) ([]metric.Observable, error) {
	if c.noInflightTime {
		return observed, nil
	}
	var err error
	if rec.inflightTime, err = meter.Float64ObservableCounter(InFlightTimeName,
		metric.WithUnit(durationUnit),
		metric.WithDescription("Request-seconds spent in flight, including the elapsed part of requests still in flight. Its rate is the average number of requests in flight."),
	); err != nil {
		return nil, fmt.Errorf("instrument: creating %s: %w", InFlightTimeName, err)
	}
	observed = append(observed, rec.inflightTime)
	if rec.routes.withRoute {
		if rec.inflightTimeByRoute, err = meter.Float64ObservableCounter(InFlightTimeByRouteName,
			metric.WithUnit(durationUnit),
			metric.WithDescription("Request-seconds spent in flight, by route group."),
		); err != nil {
			return nil, fmt.Errorf("instrument: creating %s: %w", InFlightTimeByRouteName, err)
		}
		observed = append(observed, rec.inflightTimeByRoute)
	}
	return observed, nil
}

// timeStart starts the time-weighted count of a request of route rt that
// started at start. It does nothing when the counter is off.
func (rec *recorder) timeStart(rt *route, start time.Time) {
	if rec.inflightTime != nil {
		rt.tw.start(ticks(start.Sub(rec.epoch)))
	}
}

// timeEnd ends the time-weighted count of a request of route rt that
// started at start and has been in flight for elapsed.
func (rec *recorder) timeEnd(rt *route, start time.Time, elapsed time.Duration) {
	if rec.inflightTime != nil {
		rt.tw.end(ticks(start.Sub(rec.epoch) + elapsed))
	}
}

// observeInflightTime reports the time-weighted counters. It runs with
// collectMu held. Every word is loaded before the clock is read (see
// advance); the total is the sum of the routes' totals, each of which
// never decreases, so it never decreases either.
func (rec *recorder) observeInflightTime(o metric.Observer, routes []*route) {
	if rec.inflightTime == nil {
		return
	}
	words := rec.twWords[:0]
	for _, rt := range routes {
		words = append(words, rt.tw.load())
	}
	rec.twWords = words
	now := ticks(time.Since(rec.epoch))
	var total uint64
	for i, rt := range routes {
		v := rt.tw.advance(value(words[i], now))
		total += v
		if rec.inflightTimeByRoute != nil && rt.preDispatch.Load() {
			o.ObserveFloat64(rec.inflightTimeByRoute, float64(v)*tickSeconds, rt.inflightOpt...)
		}
	}
	o.ObserveFloat64(rec.inflightTime, float64(total)*tickSeconds)
}
