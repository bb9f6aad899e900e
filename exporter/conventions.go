package exporter

import (
	"github.com/otel-runway/runway/instrument"
)

// envConventions is runway's variable that chooses the metric names of the
// middleware that [Setup] and [Exporter.Handler] build, as
// instrument.WithConventions does: "runway" (the default), "otel", "both"
// or "otel-active".
const envConventions = "RUNWAY_METRICS_CONVENTIONS"

// envConventions validates RUNWAY_METRICS_CONVENTIONS and, when it is set,
// puts instrument.WithConventions before the options of
// WithInstrumentOptions, so that an option given in code wins.
func (c *config) envConventions(env environ) error {
	v := env.get(envConventions)
	if v == "" {
		return nil
	}
	conv, err := instrument.ParseConventions(v)
	if err != nil {
		return envError(envConventions, v, "want runway, otel, both or otel-active")
	}
	c.instrumentOpts = append([]instrument.Option{instrument.WithConventions(conv)}, c.instrumentOpts...)
	return nil
}
