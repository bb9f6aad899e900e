package sweep

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultLevels are the concurrency levels swept when Config.Levels is empty:
// doubling from 1 to 64.
var DefaultLevels = []int{1, 2, 4, 8, 16, 32, 64}

// Target is the request a sweep sends.
type Target struct {
	// URL is the absolute http or https URL to drive. Required.
	URL string
	// Method is the HTTP method. Default GET.
	Method string
	// Header is sent with every request. Optional.
	Header http.Header
	// Body is sent with every request. Optional.
	Body []byte
}

// Config describes a sweep. The zero value of every field but Target.URL has
// a documented default; Validate reports the first bad field.
type Config struct {
	Target Target

	// Levels are the concurrency levels, strictly increasing, each at least
	// 1. Default DefaultLevels.
	Levels []int
	// StepDuration is how long each level is measured. Default 5 s.
	StepDuration time.Duration
	// Warmup runs before each measured step and is discarded. Default
	// StepDuration/5, at most 1 s. A negative value disables it.
	Warmup time.Duration
	// Timeout bounds each request; a request that exceeds it counts as a
	// timeout. Default 10 s.
	Timeout time.Duration
	// Windows is how many windows a step is cut into for the stall-resistant
	// throughput. Default 10.
	Windows int
	// StopWhenSaturated ends the sweep once a knee is confirmed by the level
	// after it, instead of running every level.
	StopWhenSaturated bool
	// NoRecheck disables the second measurement of the knee level and the
	// level after it.
	NoRecheck bool

	// MetricsURL is the target's Prometheus endpoint. When set, it is scraped
	// during each measured step to read runway_requests_in_flight. Optional.
	MetricsURL string
	// ScrapeInterval is the mean time between scrapes of MetricsURL (each
	// gap is drawn between half and one and a half of it). Default
	// StepDuration/40, between 10 ms and 250 ms: about 40 samples a level,
	// so one sample caught between two requests moves the mean by 2.5 %.
	ScrapeInterval time.Duration

	// Client sends the requests. Default: a keep-alive client sized for the
	// highest level.
	Client *http.Client
	// Progress, when set, is called about every ProgressInterval while a
	// level runs and once when it ends. It must not block.
	Progress func(Progress)
	// ProgressInterval defaults to 200 ms.
	ProgressInterval time.Duration
}

// Progress is a snapshot of a running sweep.
type Progress struct {
	// Level is the 1-based index of the running level among Levels.
	Level, Levels int
	Concurrency   int
	// Phase is "warm-up", "measure", "recheck" or "done".
	Phase string
	// LevelElapsed is the time spent in the running level, warm-up included.
	LevelElapsed time.Duration
	// Elapsed is the time since the sweep started.
	Elapsed time.Duration
	// Requests is the number of requests completed since the sweep started.
	Requests int64
}

// ErrConfig is wrapped by every error Validate returns.
var ErrConfig = errors.New("sweep: invalid configuration")

func configErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
}

// withDefaults returns a copy of c with defaults filled in.
func (c Config) withDefaults() Config {
	if c.Target.Method == "" {
		c.Target.Method = http.MethodGet
	}
	if len(c.Levels) == 0 {
		c.Levels = append([]int(nil), DefaultLevels...)
	}
	if c.StepDuration == 0 {
		c.StepDuration = 5 * time.Second
	}
	if c.Warmup == 0 {
		c.Warmup = min(c.StepDuration/5, time.Second)
	}
	if c.Warmup < 0 {
		c.Warmup = 0
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Windows == 0 {
		c.Windows = 10
	}
	if c.ScrapeInterval == 0 {
		c.ScrapeInterval = min(max(c.StepDuration/40, 10*time.Millisecond), 250*time.Millisecond)
	}
	if c.ProgressInterval == 0 {
		c.ProgressInterval = 200 * time.Millisecond
	}
	return c
}

// Validate checks c without sending anything. It returns an error wrapping
// ErrConfig that names the first bad field.
func (c Config) Validate() error {
	if err := validateURL("target URL", c.Target.URL); err != nil {
		return err
	}
	if c.Target.Method != "" && !validMethod(c.Target.Method) {
		return configErr("method %q is not an HTTP method token", c.Target.Method)
	}
	if c.MetricsURL != "" {
		if err := validateURL("metrics URL", c.MetricsURL); err != nil {
			return err
		}
	}
	for i, l := range c.Levels {
		if l < 1 {
			return configErr("level %d is %d: levels must be at least 1", i+1, l)
		}
		if i > 0 && l <= c.Levels[i-1] {
			return configErr("levels must be strictly increasing: %d follows %d", l, c.Levels[i-1])
		}
	}
	if c.StepDuration < 0 {
		return configErr("step duration %v is negative", c.StepDuration)
	}
	d := c.withDefaults()
	switch {
	case d.StepDuration < 10*time.Millisecond:
		return configErr("step duration %v is too short (at least 10ms)", d.StepDuration)
	case d.Timeout < 0:
		return configErr("timeout %v is negative", d.Timeout)
	case d.Windows < 1:
		return configErr("windows %d is less than 1", d.Windows)
	case d.ScrapeInterval < 0:
		return configErr("scrape interval %v is negative", d.ScrapeInterval)
	case d.ProgressInterval < 0:
		return configErr("progress interval %v is negative", d.ProgressInterval)
	}
	return nil
}

// EstimatedDuration is the longest a sweep with c can run: every level's
// warm-up and step plus the two re-measured levels, plus the last requests'
// timeout at worst.
func (c Config) EstimatedDuration() time.Duration {
	d := c.withDefaults()
	n := len(d.Levels)
	if !d.NoRecheck {
		n += 2
	}
	return time.Duration(n) * (d.Warmup + d.StepDuration)
}

func validateURL(what, raw string) error {
	if raw == "" {
		return configErr("%s is empty", what)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return configErr("%s %q: %v", what, raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return configErr("%s %q: scheme must be http or https", what, raw)
	}
	if u.Host == "" {
		return configErr("%s %q has no host", what, raw)
	}
	return nil
}

// validMethod reports whether m is an RFC 9110 token.
func validMethod(m string) bool {
	return m != "" && strings.IndexFunc(m, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
	}) < 0
}
