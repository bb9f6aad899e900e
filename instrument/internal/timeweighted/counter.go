// Package timeweighted is the time-weighted in-flight counter behind
// runway.requests.in_flight_time: request-seconds spent in flight, exact
// at every collection, with one atomic add when a request starts and one
// when it ends.
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
//	bits 63..20  acc, modulo 2^44, in ticks of 2^TickShift ns
//	bits 19..0   n, the requests of this counter in flight
//
// A start at tick s adds 1 − s<<20; an end at tick e adds e<<20 − 1. Both
// are additions modulo 2^64, so they commute and never need a lock. The n
// field must never carry into acc: a start that finds MaxInFlight requests
// of the counter already in flight is taken back and reported as not
// counted (Start returns false), and its end must not be recorded. So
// past MaxInFlight concurrent requests on one counter the total saturates:
// it keeps counting MaxInFlight of them, exactly, and leaves the others
// out, instead of corrupting the total. acc is exact modulo 2^44 ticks;
// wrap around is harmless (see Advance).
package timeweighted

import (
	"sync/atomic"
	"time"
)

const (
	// TickShift sets the resolution: a tick is 2^14 ns = 16.384 µs. A
	// request's duration is end tick − start tick, so its error is under
	// one tick and averages out to zero over many requests.
	TickShift  = 14
	countBits  = 20
	countMask  = 1<<countBits - 1
	accBits    = 64 - countBits
	accModMask = 1<<accBits - 1
	// MaxInFlight is the number of requests of one counter that can be in
	// flight at once and counted. Half the n field: the other half is the
	// margin for starts that race past the check before being taken back.
	MaxInFlight = 1 << (countBits - 1)
	// reversalTicks bounds how far a collection may fall below the
	// previous one before the difference is taken as a wrap of acc rather
	// than a reading that raced with a request ending (see Advance). A
	// race can only shift a reading by the time between a clock read and
	// an atomic add, far below 2^36 ticks (about 13 days of
	// request-seconds).
	reversalTicks = 1 << 36
	// TickSeconds is the length of a tick in seconds.
	TickSeconds = float64(1<<TickShift) / 1e9
)

// Counter is the time-weighted in-flight counter of one route (or of one
// gRPC handler). Its word is updated per request; last and total belong to
// collection and must be touched by one collection at a time.
type Counter struct {
	word atomic.Uint64
	// last is the acc value (modulo 2^44 ticks) that total accounts for.
	last uint64
	// total is the reported value in ticks; it never decreases.
	total uint64
}

// Ticks converts an offset from the owner's epoch into ticks.
func Ticks(d time.Duration) uint64 { return uint64(d) >> TickShift }

// Start marks a request that started at tick s as in flight. It reports
// false, and counts nothing, when MaxInFlight requests of c are already in
// flight; End must then not be called for that request.
func (c *Counter) Start(s uint64) bool {
	w := c.word.Add(1 - s<<countBits)
	if w&countMask > MaxInFlight {
		c.word.Add(s<<countBits - 1)
		return false
	}
	return true
}

// End marks a request that Start counted, ended at tick e, as no longer in
// flight; its whole duration stays in the total.
func (c *Counter) End(e uint64) { c.word.Add(e<<countBits - 1) }

// Load returns the word, to be evaluated with Value at a clock reading
// taken after the load.
func (c *Counter) Load() uint64 { return c.word.Load() }

// Value evaluates a word loaded before the tick now was read: the
// request-ticks spent in flight since the epoch, modulo 2^44.
func Value(w, now uint64) uint64 {
	n := w & countMask
	acc := w >> countBits
	return (acc + n*now) & accModMask
}

// Advance folds the reading v (modulo 2^44 ticks) into the reported total
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
func (c *Counter) Advance(v uint64) uint64 {
	d := (v - c.last) & accModMask
	if d > accModMask-reversalTicks {
		return c.total // a race with a request ending: hold
	}
	c.last = v
	c.total += d
	return c.total
}

// Collect reads n counters at one instant, for one collection: it loads
// every counter's word, then reads the clock once (so each reading is
// exact, see Advance), folds each reading into its counter's total and
// passes the totals, in request-seconds, to report. counter(i) returns
// the i-th counter; the totals of all of them are reported last, as
// report(-1, sum). words is scratch space, returned for reuse. Calls
// must not overlap for one counter.
func Collect(epoch time.Time, n int, counter func(i int) *Counter, words []uint64, report func(i int, seconds float64)) []uint64 {
	words = words[:0]
	for i := range n {
		words = append(words, counter(i).Load())
	}
	now := Ticks(time.Since(epoch))
	var total uint64
	for i := range n {
		v := counter(i).Advance(Value(words[i], now))
		total += v
		report(i, float64(v)*TickSeconds)
	}
	report(-1, float64(total)*TickSeconds)
	return words
}
