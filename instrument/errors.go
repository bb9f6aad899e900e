package instrument

import "github.com/otel-runway/runway/instrument/internal/contract"

// ErrInvalidOption is wrapped by every error that a constructor returns for
// an option it cannot accept; the message names the option. Packages
// runwaygrpc and exporter return errors wrapping this same value.
var ErrInvalidOption = contract.ErrInvalidOption

// optionError reports a bad value given to the option named option.
func optionError(option, format string, args ...any) error {
	return contract.OptionError("instrument", option, format, args...)
}
