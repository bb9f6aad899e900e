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
	if rec.inflightTime, err = contract.NewInFlightTime(meter); err != nil {
		return nil, fmt.Errorf("instrument: %w", err)
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

// observeInflightTime reports the time-weighted counters, with collectMu
// held. The total is the sum of the routes' totals, each of which never
// decreases, so it never decreases either.
func (rec *recorder) observeInflightTime(o metric.Observer, routes []*route) {
	if rec.inflightTime == nil {
		return
	}
	rec.twWords = timeweighted.Collect(rec.epoch, len(routes),
		func(i int) *timeweighted.Counter { return &routes[i].tw }, rec.twWords,
		func(i int, secs float64) {
			switch {
			case i < 0:
				o.ObserveFloat64(rec.inflightTime, secs)
			case rec.inflightTimeByRoute != nil && routes[i].preDispatch.Load():
				o.ObserveFloat64(rec.inflightTimeByRoute, secs, routes[i].inflightOpt...)
			}
		})
}
