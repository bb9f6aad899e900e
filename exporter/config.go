package exporter

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"

	"github.com/otel-runway/runway/instrument"
)

// config holds what the options set and, after newConfig, the values
// resolved from options, environment and defaults.
type config struct {
	env  environ
	errs []error

	// Set by options; zero means "not set in code".
	serviceName    string
	instanceID     string
	attrs          []attribute.KeyValue
	codeExporters  *exporters // nil: OTEL_METRICS_EXPORTER decides
	interval       time.Duration
	timeout        time.Duration
	metricsAddr    string
	metricsWeb     webConfigSetting // see webconfig.go
	registry       *prometheus.Registry
	instrumentOpts []instrument.Option
	exemplarFilter exemplar.Filter // nil: OTEL_METRICS_EXEMPLAR_FILTER, else off
	withoutScope   bool
	o              otlpSettings // see otlp.go

	// Resolved by newConfig.
	exporters
	endpointURL *url.URL      // the endpoint of WithOTLP, nil without one
	otlpTimeout time.Duration // OTEL_EXPORTER_OTLP_*TIMEOUT, 0 if unset
}

// newConfig applies opts over the environment and the defaults. nil options
// are ignored. Every invalid option or variable is reported, joined.
func newConfig(opts []Option, env environ) (*config, error) {
	c := &config{env: env}
	for _, o := range opts {
		if o != nil {
			o.apply(c)
		}
	}
	var err error
	c.exporters, err = chooseExporters(env, c.codeExporters)
	c.appendErr(err)
	if c.metricsAddr != "" && !c.prometheus {
		c.invalid("WithMetricsAddr", "the Prometheus exporter is disabled (see WithPrometheus and %s)", envMetricsExporter)
	}
	c.resolveMetricsWebConfig()

	// The SDK reads these two itself; runway checks them with its rules,
	// then passes its defaults (and the timeout capped at the interval).
	interval, err := millis(env, envExportInterval)
	c.appendErr(err)
	timeout, err := millis(env, envExportTimeout)
	c.appendErr(err)
	c.interval = cmp.Or(c.interval, interval, defaultExportInterval)
	c.timeout = min(cmp.Or(c.timeout, timeout, c.interval), c.interval)
	if c.otlp {
		c.checkOTLP(env)
	}
	for _, rule := range sdkChecks {
		if v := env.get(rule.name); v != "" {
			if err := rule.check(v, false); err != nil {
				c.errs = append(c.errs, envError(rule.name, v, "%v", err))
			}
		}
	}
	c.appendErr(c.envConventions(env))
	if c.exemplarFilter == nil {
		// runway's default where the variable is unset; else the SDK's reading.
		c.exemplarFilter = exemplar.AlwaysOffFilter
		if env.get(envExemplarFilter) != "" {
			c.exemplarFilter = nil
		}
	}

	if err := errors.Join(c.errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// invalid records a construction error that names the option.
func (c *config) invalid(option, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("exporter: %s: %s: %w", option, fmt.Sprintf(format, args...), ErrInvalidOption))
}

func (c *config) appendErr(err error) {
	if err != nil {
		c.errs = append(c.errs, err)
	}
}
