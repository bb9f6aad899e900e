package instrument

import "github.com/otel-runway/runway/instrument/internal/contract"

// ScopeName is the instrumentation scope under which every runway
// instrument is created, by this package and by package runwaygrpc. It is
// the name passed to MeterProvider.Meter.
const ScopeName = "github.com/otel-runway/runway/instrument"

// Version is the version of this package, reported as the instrumentation
// scope version (otel_scope_version in Prometheus): the version of the
// module github.com/otel-runway/runway that the binary was built with, as
// runtime/debug.ReadBuildInfo records it ("v0.3.1", or a pseudo-version
// such as "v0.0.0-20261207120000-abcdef123456"). It is "(devel)" when the
// binary records no version of the module: a build of the module itself
// (its tests and examples), a replace directive pointing at a directory,
// or a binary built without module information.
func Version() string { return contract.Version() }
