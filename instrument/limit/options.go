package limit

import (
	"time"

	"github.com/otel-runway/runway/instrument/internal/contract"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// defaultRetryAfter and maxRetryAfter bound WithRetryAfter: the default
// Retry-After of a refused request, and the longest one accepted.
const (
	defaultRetryAfter = time.Second
	maxRetryAfter     = 24 * time.Hour
)

// Option configures a Limiter. Options are applied in order; a later
// option of the same kind replaces an earlier one.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

// config is the resolved configuration of a Limiter.
type config struct {
	provider   metric.MeterProvider
	retryAfter time.Duration
}

// newConfig resolves the defaults and applies opts. It returns the first
// error an option reports.
func newConfig(opts []Option) (*config, error) {
	c := &config{retryAfter: defaultRetryAfter}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(c); err != nil {
			return nil, err
		}
	}
	if c.provider == nil {
		c.provider = otel.GetMeterProvider()
	}
	return c, nil
}

// optionError reports a bad value given to the option named option.
func optionError(option, format string, args ...any) error {
	return contract.OptionError("limit", option, format, args...)
}

// WithMeterProvider sets the MeterProvider the instruments are created
// from. The default is the global provider, otel.GetMeterProvider(), read
// when the Limiter is constructed. A nil provider is an error.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) error {
		if mp == nil {
			return optionError("WithMeterProvider", "nil MeterProvider")
		}
		c.provider = mp
		return nil
	})
}

// WithRetryAfter sets the Retry-After header of refused requests (queue
// full, or a deadline passed while waiting), rounded up to whole seconds.
// The default is 1 s. d must be positive and at most 24 h; anything else
// is an error.
func WithRetryAfter(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d <= 0 {
			return optionError("WithRetryAfter", "%v is not positive", d)
		}
		if d > maxRetryAfter {
			return optionError("WithRetryAfter", "%v is longer than the maximum of %v", d, maxRetryAfter)
		}
		c.retryAfter = d
		return nil
	})
}
