package exporter

import (
	"errors"

	"github.com/otel-runway/runway/instrument"
)

// Sentinel errors returned (wrapped with %w) by [New], [Setup] and
// [Exporter.Shutdown]. Test for them with [errors.Is]; the wrapping message
// names the offending option or environment variable.
var (
	// ErrInvalidOption reports an option given in code with a value that
	// cannot be used, such as a negative interval or an empty service name.
	// It is the same value as instrument.ErrInvalidOption, so one
	// errors.Is test covers the options of every runway package,
	// including the middleware options of [WithInstrumentOptions].
	ErrInvalidOption = instrument.ErrInvalidOption

	// ErrInvalidEnv reports an OTEL_* or RUNWAY_* environment variable
	// whose value cannot be used. Unset and empty variables are never an
	// error.
	ErrInvalidEnv = errors.New("exporter: invalid environment variable")

	// ErrListen reports that the separate metrics listener (see
	// [WithMetricsAddr]) could not be bound.
	ErrListen = errors.New("exporter: metrics listener")
)
