package exporter

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The environment variables that [New] reads or checks. The OTLP ones are
// in otlp.go. Unset and empty (or blank) variables mean "not configured".
const (
	envMetricsExporter    = "OTEL_METRICS_EXPORTER"
	envExportInterval     = "OTEL_METRIC_EXPORT_INTERVAL"
	envExportTimeout      = "OTEL_METRIC_EXPORT_TIMEOUT"
	envExemplarFilter     = "OTEL_METRICS_EXEMPLAR_FILTER"
	envCardinalityLimit   = "OTEL_GO_X_CARDINALITY_LIMIT"
	envServiceName        = "OTEL_SERVICE_NAME"
	envResourceAttributes = "OTEL_RESOURCE_ATTRIBUTES"
)

// defaultExportInterval is runway's push interval where neither
// [WithExportInterval] nor OTEL_METRIC_EXPORT_INTERVAL gives one.
const defaultExportInterval = 5 * time.Second

// environ looks variables up: os.LookupEnv, or a map in tests.
type environ func(string) (string, bool)

// get returns the trimmed value of a variable, "" when unset, as the SDK
// reads it.
func (e environ) get(name string) string {
	v, _ := e(name)
	return strings.TrimSpace(v)
}

// envError is the one error format for a variable: it names the variable,
// shows its value (redacted and capped, see shown) and says what is
// allowed.
func envError(name, value, format string, args ...any) error {
	return fmt.Errorf("%w: %s=%s: %s", ErrInvalidEnv, name, shown(name, value), fmt.Sprintf(format, args...))
}

// maxShown is the most of a value an error echoes, in bytes.
const maxShown = 96

// shown quotes the value of a variable or an option for an error
// message: header values and the user information of URLs are replaced by
// REDACTED, and long values are cut. With no name (a header key), it only
// cuts.
func shown(name, v string) string {
	switch {
	case strings.HasSuffix(name, "HEADERS"):
		v = redactHeaders(v)
	case name != "":
		v = redactUserinfo(v)
	}
	if len(v) > maxShown {
		cut := maxShown
		for cut > 0 && !utf8.RuneStart(v[cut]) {
			cut--
		}
		return strconv.Quote(v[:cut]) + fmt.Sprintf("… (%d bytes)", len(v))
	}
	return strconv.Quote(v)
}

// redactHeaders keeps the keys of "key=value,..." and hides the values;
// an item without "=" may be a value, so it is hidden whole.
func redactHeaders(v string) string {
	items := strings.Split(v, ",")
	for i, item := range items {
		if k, _, ok := strings.Cut(item, "="); ok {
			items[i] = k + "=REDACTED"
		} else if strings.TrimSpace(item) != "" {
			items[i] = "REDACTED"
		}
	}
	return strings.Join(items, ",")
}

// redactUserinfo hides "user:password@" in a URL or host:port.
func redactUserinfo(v string) string {
	start := 0
	if i := strings.Index(v, "://"); i >= 0 {
		start = i + 3
	}
	end := len(v)
	if i := strings.IndexAny(v[start:], "/?#"); i >= 0 {
		end = start + i
	}
	if at := strings.LastIndex(v[start:end], "@"); at >= 0 {
		return v[:start] + "REDACTED@" + v[start+at+1:]
	}
	return v
}

// exporters says which exporters run.
type exporters struct{ prometheus, otlp bool }

// chooseExporters applies the rule of the package documentation: code
// options, else OTEL_METRICS_EXPORTER, else Prometheus, with OTLP as well
// when an OTLP endpoint or protocol variable is set. A set
// OTEL_METRICS_EXPORTER is checked even when code options choose.
func chooseExporters(env environ, code *exporters) (exporters, error) {
	v := env.get(envMetricsExporter)
	fromEnv, err := parseExporters(v)
	switch {
	case code != nil:
		return *code, err
	case v != "":
		return fromEnv, err
	}
	for _, name := range []string{envOTLPEndpoint, envOTLPMetricsEndpoint, envOTLPProtocol, envOTLPMetricsProtocol} {
		if env.get(name) != "" {
			return exporters{prometheus: true, otlp: true}, nil
		}
	}
	return exporters{prometheus: true}, nil
}

// parseExporters parses OTEL_METRICS_EXPORTER: a comma-separated list of
// otlp, prometheus and none, compared case-insensitively; none only alone.
func parseExporters(v string) (exporters, error) {
	var e exporters
	if v == "" {
		return e, nil
	}
	const want = "want otlp, prometheus or none, or a comma-separated list of otlp and prometheus"
	none := false
	for item := range strings.SplitSeq(v, ",") {
		switch strings.ToLower(strings.TrimSpace(item)) {
		case "prometheus":
			e.prometheus = true
		case "otlp":
			e.otlp = true
		case "none":
			none = true
		default:
			if item = strings.TrimSpace(item); item != v {
				return exporters{}, envError(envMetricsExporter, v, "unknown exporter %s: %s", shown("", item), want)
			}
			return exporters{}, envError(envMetricsExporter, v, want)
		}
	}
	if none && (e.prometheus || e.otlp) {
		return exporters{}, envError(envMetricsExporter, v, "none cannot be combined: %s", want)
	}
	return e, nil
}

// millis reads a variable of milliseconds; 0 when unset.
func millis(env environ, name string) (time.Duration, error) {
	v := env.get(name)
	if v == "" {
		return 0, nil
	}
	d, err := parseMillis(v)
	if err != nil {
		return 0, envError(name, v, "%v", err)
	}
	return d, nil
}

// parseMillis parses milliseconds with the SDK's rule: a positive integer
// that fits a time.Duration.
func parseMillis(v string) (time.Duration, error) {
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms <= 0 || ms > math.MaxInt64/int64(time.Millisecond) {
		return 0, errors.New("want a positive integer number of milliseconds")
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// sdkChecks are the rules the SDK's reading of the other variables it
// reads by itself implies.
var sdkChecks = []struct {
	name  string
	check func(string, bool) error
}{
	{envExemplarFilter, enum("always_off", "always_on", "trace_based")},
	{envCardinalityLimit, func(v string, _ bool) error {
		if _, err := strconv.Atoi(v); err != nil {
			return errors.New("want an integer (0 or less: no limit)")
		}
		return nil
	}},
	{envResourceAttributes, func(v string, _ bool) error {
		return keyValues(v, func(k, _ string) error {
			if k == "" {
				return errors.New("empty key")
			}
			return nil
		})
	}},
}

// keyValues checks "key=value,key=value" as the SDK splits it (every item
// has "=", values are percent-encoded) and calls each with the trimmed key
// and the decoded, trimmed value.
func keyValues(v string, each func(k, val string) error) error {
	for i, item := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(item, "=")
		decoded, err := url.PathUnescape(val)
		switch {
		case !ok:
			err = errors.New("not key=value")
		case err != nil:
			err = errors.New("the value is not percent-encoded")
		default:
			err = each(strings.TrimSpace(k), strings.TrimSpace(decoded))
		}
		if err != nil {
			return fmt.Errorf("item %d: %w: want key=value,key=value with percent-encoded values", i+1, err)
		}
	}
	return nil
}
