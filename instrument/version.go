package instrument

import "github.com/otel-runway/runway/instrument/internal/contract"

// ScopeName is the instrumentation scope under which every runway
// instrument is created, by this package and by package runwaygrpc. It is
// the name passed to MeterProvider.Meter.
const ScopeName = "github.com/otel-runway/runway/instrument"

// Version is the version of this package, reported as the instrumentation
// scope version.
func Version() string { return contract.Version }
