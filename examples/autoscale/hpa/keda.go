package hpa

import "time"

// DefaultPollingInterval is KEDA's default pollingInterval.
const DefaultPollingInterval = 30 * time.Second

// MetricCache is what KEDA puts between a trigger's query and the HPA.
// Without cached metrics (KEDA's default) every HPA sync asks the scaler,
// so the HPA sees a fresh query result each sync period. With
// useCachedMetrics, KEDA's operator queries the trigger once per
// pollingInterval and the HPA reads the cached value: the value the HPA
// acts on can then be up to one polling interval old.
type MetricCache struct {
	// UseCachedMetrics is the trigger's useCachedMetrics.
	UseCachedMetrics bool
	// PollingInterval is the ScaledObject's pollingInterval (default 30 s).
	PollingInterval time.Duration

	polled bool
	at     time.Time
	value  float64
	ok     bool
}

// Value returns the value the HPA sees at now; query runs the trigger's
// query and reports whether it produced a value.
func (c *MetricCache) Value(now time.Time, query func() (float64, bool)) (float64, bool) {
	if !c.UseCachedMetrics {
		return query()
	}
	interval := c.PollingInterval
	if interval <= 0 {
		interval = DefaultPollingInterval
	}
	if !c.polled || now.Sub(c.at) >= interval {
		c.value, c.ok = query()
		c.at, c.polled = now, true
	}
	return c.value, c.ok
}
