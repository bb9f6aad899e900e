package instrument

import (
	"errors"
	"fmt"
)

// ErrInvalidOption is wrapped by every error that a constructor returns for
// an option it cannot accept. The message names the option.
var ErrInvalidOption = errors.New("invalid option")

// optionError reports a bad value given to the option named option.
func optionError(option, format string, args ...any) error {
	return fmt.Errorf("instrument: %s: %s: %w", option, fmt.Sprintf(format, args...), ErrInvalidOption)
}
