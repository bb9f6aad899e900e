package instrument

// ScopeName is the instrumentation scope under which every runway
// instrument is created. It is the name passed to MeterProvider.Meter.
const ScopeName = "github.com/otel-runway/runway/instrument"

// Version is the version of this package, reported as the instrumentation
// scope version.
func Version() string { return "0.1.0" }
