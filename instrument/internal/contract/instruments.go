package contract

import (
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// OverflowKey marks the series of runway.requests that counts the requests
// past runway's bound on series, as the SDK marks its own.
const OverflowKey = attribute.Key("otel.metric.overflow")

// The instruments that the HTTP middleware and the gRPC stats handler
// both create, with the name, unit and description that make the SDK
// merge them into one metric. Each error names the instrument.

// NewDuration creates runway.request.duration with the given bucket
// boundaries.
func NewDuration(meter metric.Meter, buckets []float64) (metric.Float64Histogram, error) {
	h, err := meter.Float64Histogram(DurationName,
		metric.WithUnit(DurationUnit),
		metric.WithDescription(DurationDescription),
		metric.WithExplicitBucketBoundaries(buckets...))
	return h, created(DurationName, err)
}

// NewInFlight creates runway.requests.in_flight.
func NewInFlight(meter metric.Meter) (metric.Int64ObservableUpDownCounter, error) {
	c, err := meter.Int64ObservableUpDownCounter(InFlightName,
		metric.WithUnit(RequestUnit),
		metric.WithDescription(InFlightDescription))
	return c, created(InFlightName, err)
}

// NewRequests creates runway.requests.
func NewRequests(meter metric.Meter) (metric.Int64ObservableCounter, error) {
	c, err := meter.Int64ObservableCounter(RequestsName,
		metric.WithUnit(RequestUnit),
		metric.WithDescription(RequestsDescription))
	return c, created(RequestsName, err)
}

// NewInFlightTime creates runway.requests.in_flight_time.
func NewInFlightTime(meter metric.Meter) (metric.Float64ObservableCounter, error) {
	c, err := meter.Float64ObservableCounter(InFlightTimeName,
		metric.WithUnit(DurationUnit),
		metric.WithDescription(InFlightTimeDescription))
	return c, created(InFlightTimeName, err)
}

// NewStreamsInFlight creates runway.streams.in_flight.
func NewStreamsInFlight(meter metric.Meter) (metric.Int64ObservableUpDownCounter, error) {
	c, err := meter.Int64ObservableUpDownCounter(StreamsInFlightName,
		metric.WithUnit(StreamUnit),
		metric.WithDescription(StreamsInFlightDescription))
	return c, created(StreamsInFlightName, err)
}

func created(name string, err error) error {
	if err != nil {
		return fmt.Errorf("creating %s: %w", name, err)
	}
	return nil
}
