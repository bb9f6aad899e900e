package instrument

import (
	"fmt"
	"time"

	"github.com/otel-runway/runway/instrument/internal/contract"
	"github.com/otel-runway/runway/instrument/internal/timeweighted"
	"go.opentelemetry.io/otel/metric"
)

// Time-weighted concurrency: request-seconds spent in flight, per route
// (package timeweighted has the arithmetic and its bound).

func (rec *recorder) newInflightTime(c *config, meter metric.Meter, observed []metric.Observable) ([]metric.Observable, error) {
	if c.noInflightTime {
		return observed, nil
	}
	var err error
	if rec.inflightTime, err = meter.Float64ObservableCounter(contract.InFlightTimeName,
		metric.WithUnit(contract.DurationUnit),
		metric.WithDescription(contract.InFlightTimeDescription),
	); err != nil {
		return nil, fmt.Errorf("instrument: creating %s: %w", contract.InFlightTimeName, err)
	}
	observed = append(observed, rec.inflightTime)
	if rec.routes.byRoute {
		if rec.inflightTimeByRoute, err = meter.Float64ObservableCounter(contract.InFlightTimeByRouteName,
			metric.WithUnit(contract.DurationUnit),
			metric.WithDescription(contract.InFlightTimeByRouteDescription),
		); err != nil {
			return nil, fmt.Errorf("instrument: creating %s: %w", contract.InFlightTimeByRouteName, err)
		}
		observed = append(observed, rec.inflightTimeByRoute)
	}
	return observed, nil
}

// timeStart starts the time-weighted count of a request of route rt that
// started at start. It reports whether the request is counted: not when
// the counter is off, nor past timeweighted.MaxInFlight requests of the
// route in flight at once (the counter saturates there).
func (rec *recorder) timeStart(rt *route, start time.Time) bool {
	return rec.inflightTime != nil && rt.tw.Start(timeweighted.Ticks(start.Sub(rec.epoch)))
}

// timeEnd ends the time-weighted count of a request of route rt that
// timeStart counted, started at start and in flight for elapsed.
func (rec *recorder) timeEnd(rt *route, start time.Time, elapsed time.Duration) {
	rt.tw.End(timeweighted.Ticks(start.Sub(rec.epoch) + elapsed))
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
		words = append(words, rt.tw.Load())
	}
	rec.twWords = words
	now := timeweighted.Ticks(time.Since(rec.epoch))
	var total uint64
	for i, rt := range routes {
		v := rt.tw.Advance(timeweighted.Value(words[i], now))
		total += v
		if rec.inflightTimeByRoute != nil && rt.preDispatch.Load() {
			o.ObserveFloat64(rec.inflightTimeByRoute, float64(v)*timeweighted.TickSeconds, rt.inflightOpt...)
		}
	}
	o.ObserveFloat64(rec.inflightTime, float64(total)*timeweighted.TickSeconds)
}
