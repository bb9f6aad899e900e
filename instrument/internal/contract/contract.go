// Package contract holds what the HTTP middleware (package instrument) and
// the gRPC stats handler (package runwaygrpc) share: the instrumentation
// scope, the metric names, units and descriptions (the SDK merges
// instruments of one name only when unit and description are identical),
// the default duration buckets and the invalid-option error.
package contract

import (
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// ScopeName is the instrumentation scope of every runway instrument, HTTP
// and gRPC alike, so that instruments of one name merge into one metric.
const ScopeName = "github.com/otel-runway/runway/instrument"

// Module is the path of the Go module that holds runway's packages.
const Module = "github.com/otel-runway/runway"

// DevelVersion is the scope version when the binary records no version of
// Module: a build inside the module itself, a replace directive pointing
// at a directory, or a binary built without module support. It is the
// value the go command gives a main module built from a working tree.
const DevelVersion = "(devel)"

// Version returns the instrumentation scope version: the version of Module
// that the binary was built with, as runtime/debug.ReadBuildInfo reports it
// (for example "v0.3.1", or a pseudo-version), else DevelVersion.
var Version = sync.OnceValue(func() string { return ModuleVersion(debug.ReadBuildInfo()) })

// ModuleVersion returns the version of Module recorded in bi: the main
// module's version when Module is the main module, else the version of the
// dependency (of its replacement, if replaced by another module version).
// It returns DevelVersion when bi is not ok, when Module is not in it,
// or when its version is empty or "(devel)".
func ModuleVersion(bi *debug.BuildInfo, ok bool) string {
	if !ok || bi == nil {
		return DevelVersion
	}
	v := ""
	if bi.Main.Path == Module {
		v = bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path != Module {
			continue
		}
		v = d.Version
		if d.Replace != nil {
			v = d.Replace.Version // "" for a directory
		}
	}
	if v == "" {
		return DevelVersion
	}
	return v
}

// Other is the value recorded for a method, route or RPC method outside
// the known or bounded set.
const Other = "_OTHER"

// Instrument names: the metric contract.
const (
	InFlightName            = "runway.requests.in_flight"
	InFlightByRouteName     = "runway.requests.in_flight_by_route"
	RequestsName            = "runway.requests"
	DurationName            = "runway.request.duration"
	StreamsInFlightName     = "runway.streams.in_flight"
	InFlightTimeName        = "runway.requests.in_flight_time"
	InFlightTimeByRouteName = "runway.requests.in_flight_time_by_route"
	PeakInFlightName        = "runway.requests.in_flight.peak"
)

// Units and descriptions of the instruments both packages create.
const (
	RequestUnit  = "{request}"
	StreamUnit   = "{stream}"
	DurationUnit = "s"

	InFlightDescription            = "Requests in flight: received by the middleware and not yet finished. The autoscaling signal."
	RequestsDescription            = "Finished requests, by method and final status code."
	DurationDescription            = "Duration of requests (HTTP requests and RPCs), from the middleware receiving the request to the handler returning."
	StreamsInFlightDescription     = "Long-lived streams in flight (server-sent events, WebSockets, streaming RPCs), kept out of runway.requests.in_flight."
	InFlightTimeDescription        = "Request-seconds spent in flight, including the elapsed part of requests still in flight. Its rate is the average number of requests in flight."
	InFlightTimeByRouteDescription = "Request-seconds spent in flight, by route group."
)

// Attribute keys of the HTTP series (OpenTelemetry HTTP semantic
// conventions).
const (
	MethodKey     = attribute.Key("http.request.method")
	StatusCodeKey = attribute.Key("http.response.status_code")
	RouteKey      = attribute.Key("http.route")
)

// DefaultMaxSeries is the default bound on the routes (and gRPC methods)
// runway tracks: the OpenTelemetry SDK's default cardinality limit per
// metric. Past it the SDK folds further series into one overflow series,
// so runway keeps no counters that the SDK would discard.
const DefaultMaxSeries = 2000

// DurationBuckets returns the default bucket boundaries, in seconds, of
// runway.request.duration: those of the OpenTelemetry HTTP semantic
// conventions.
func DurationBuckets() []float64 {
	return []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
}

// ErrInvalidOption is wrapped by every error a runway constructor returns
// for an option it cannot accept; packages instrument, runwaygrpc and
// exporter export this same value.
var ErrInvalidOption = errors.New("invalid option")

// OptionError reports a bad value given to the option named option of
// package pkg, wrapping ErrInvalidOption.
func OptionError(pkg, option, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %s: %w", pkg, option, fmt.Sprintf(format, args...), ErrInvalidOption)
}

// CheckBuckets validates explicit bucket boundaries for the option named
// option: at least one, finite, non-negative, strictly increasing.
func CheckBuckets(pkg, option string, bounds []float64) error {
	if len(bounds) == 0 {
		return OptionError(pkg, option, "no boundaries")
	}
	for i, b := range bounds {
		if math.IsNaN(b) || math.IsInf(b, 0) || b < 0 {
			return OptionError(pkg, option, "boundary %d (%v) is not a finite non-negative number of seconds", i, b)
		}
		if i > 0 && b <= bounds[i-1] {
			return OptionError(pkg, option, "boundary %d (%v) is not greater than the one before (%v)", i, b, bounds[i-1])
		}
	}
	return nil
}

// Meter returns runway's meter of mp, or of the global provider when mp is
// nil.
func Meter(mp metric.MeterProvider) metric.Meter {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	return mp.Meter(ScopeName, metric.WithInstrumentationVersion(Version()))
}

// Registrations collects the callback registrations of one middleware or
// handler, so that its owner can release them all at once.
type Registrations struct {
	regs []metric.Registration
}

// Add keeps r.
func (rs *Registrations) Add(r metric.Registration) {
	if r != nil {
		rs.regs = append(rs.regs, r)
	}
}

// Register registers f for the observables on meter and keeps the
// registration.
func (rs *Registrations) Register(meter metric.Meter, what string, f metric.Callback, obs ...metric.Observable) error {
	r, err := meter.RegisterCallback(f, obs...)
	if err != nil {
		return fmt.Errorf("registering the %s callback: %w", what, err)
	}
	rs.Add(r)
	return nil
}

// Unregister releases every registration; the first error is returned.
func (rs *Registrations) Unregister() error {
	var first error
	for _, r := range rs.regs {
		if err := r.Unregister(); err != nil && first == nil {
			first = err
		}
	}
	rs.regs = nil
	return first
}
