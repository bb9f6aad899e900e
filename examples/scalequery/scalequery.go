// Package scalequery builds every autoscaling query that runway prints,
// writes or documents: the KEDA Prometheus trigger's query and the per-pod
// forms, for a Deployment in a namespace, on each path the metrics take to
// Prometheus.
//
// The sweep (-keda), the autoscaling lab (-recommend), the Kubernetes
// manifests and chart, the docs and their tests all take their queries from
// [Spec.Query], so that one rule decides how a workload's series are
// selected. That rule is: select on the namespace and the pod name, never on
// job or service. With a Prometheus Operator monitor, namespace and pod are
// target labels on the scraped series and on up alike, whether Prometheus
// scrapes the application or a collector sidecar in the pod; job is not (under
// honorLabels the series keep the collector's job while up has the
// monitor's), and service exists only with a ServiceMonitor. Pushed into
// Prometheus 3 over OTLP, the series carry the promoted resource attributes
// k8s_namespace_name and k8s_pod_name instead, and there is no up.
package scalequery

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// DefaultServerAddress is the Prometheus URL that runway's generated KEDA
// triggers use when none is given: the Service that the Prometheus Operator
// creates for a Prometheus named in the monitoring namespace.
const DefaultServerAddress = "http://prometheus-operated.monitoring.svc:9090"

// Prometheus names of the series the queries read.
const (
	// InFlightTime is the time-weighted in-flight counter
	// (request-seconds); it keeps its runway name in every convention.
	InFlightTime = "runway_requests_in_flight_time_seconds_total"
	// InFlight is the in-flight gauge in runway's conventions.
	InFlight = "runway_requests_in_flight"
	// ActiveRequests is the in-flight gauge in the OpenTelemetry
	// semantic conventions.
	ActiveRequests = "http_server_active_requests"
	// Requests is the request counter in runway's conventions.
	Requests = "runway_requests_total"
	// RequestDurationCount counts requests in the OpenTelemetry semantic
	// conventions (the duration histogram's _count).
	RequestDurationCount = "http_server_request_duration_seconds_count"
)

// Path is the way a workload's metrics reach Prometheus.
type Path int

const (
	// Scrape: a PodMonitor or ServiceMonitor scrapes the application's own
	// /metrics. Series and up carry the target labels namespace and pod.
	Scrape Path = iota
	// Sidecar: a PodMonitor or ServiceMonitor scrapes the Prometheus
	// endpoint of an OpenTelemetry Collector in the pod, with honorLabels.
	// The series keep the collector's job and instance, but namespace and
	// pod are still target labels, as on up: the query is the one of
	// Scrape.
	Sidecar
	// OTLP: the application (or a collector) pushes OTLP into Prometheus
	// 3's receiver, which promotes the resource attributes
	// k8s.namespace.name and k8s.pod.name to labels. There is no up.
	OTLP
)

// String returns the path's name as ParsePath reads it.
func (p Path) String() string {
	switch p {
	case Scrape:
		return "scrape"
	case Sidecar:
		return "sidecar"
	case OTLP:
		return "otlp"
	}
	return fmt.Sprintf("Path(%d)", int(p))
}

// ParsePath reads "scrape", "sidecar" or "otlp".
func ParsePath(s string) (Path, error) {
	for _, p := range []Path{Scrape, Sidecar, OTLP} {
		if strings.EqualFold(s, p.String()) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("scalequery: path %q: want scrape, sidecar or otlp", s)
}

// Form is what the query measures.
type Form int

const (
	// TimeWeighted is the recommended form: the mean concurrency over the
	// window, from the time-weighted counter. Each irate point is a pod's
	// exact mean over one scrape interval; avg_over_time(...[w:1s]) averages
	// them, so a new pod counts in full from its second scrape (where
	// rate(...[1m]) reads it low for a minute). On the scrape paths it is
	// kept to the pods that are still targets (and on(namespace, pod) up),
	// so a pod removed by a scale-down drops out at once.
	TimeWeighted Form = iota
	// Gauge is the instant in-flight gauge, sampled at each scrape.
	Gauge
	// Rate is rate() of the time-weighted counter over the window: exact on
	// a steady pool, but a new pod reads low for a whole window.
	Rate
	// IRate is irate() of the time-weighted counter: the mean over the last
	// scrape interval only.
	IRate
	// AvgIRate is TimeWeighted without the up filter: on the scrape paths a
	// removed pod keeps counting for up to two windows. It is the form of
	// the OTLP path, where there is no up.
	AvgIRate
	// RPS is the request rate over the window (requests per second).
	RPS
)

var formNames = map[Form]string{
	TimeWeighted: "time-weighted", Gauge: "gauge", Rate: "rate",
	IRate: "irate", AvgIRate: "avg-irate", RPS: "rps",
}

// String returns the form's name as ParseForm reads it.
func (f Form) String() string {
	if n, ok := formNames[f]; ok {
		return n
	}
	return fmt.Sprintf("Form(%d)", int(f))
}

// ParseForm reads a form's name: time-weighted, gauge, rate, irate,
// avg-irate or rps.
func ParseForm(s string) (Form, error) {
	for f, n := range formNames {
		if strings.EqualFold(s, n) {
			return f, nil
		}
	}
	return 0, fmt.Errorf("scalequery: form %q: want time-weighted, gauge, rate, irate, avg-irate or rps", s)
}

// Conventions are the metric names the workload exports (the instrument
// package's WithConventions).
type Conventions string

const (
	// Runway names: runway_requests_in_flight, runway_requests_total. Also
	// what "both" exports.
	Runway Conventions = "runway"
	// OTel names: http_server_active_requests and
	// http_server_request_duration_seconds. The time-weighted counter keeps
	// its runway name.
	OTel Conventions = "otel"
)

// Spec says which workload to select and what to measure.
type Spec struct {
	// Namespace of the Deployment. Required.
	Namespace string
	// Deployment is the Deployment's name. Its pods are named
	// <deployment>-<pod-template-hash>-<5 characters>, and only those match:
	// not the pods of a Deployment named <deployment>-canary.
	Deployment string
	// Path is how the metrics reach Prometheus. Default Scrape.
	Path Path
	// Form is what is measured. Default TimeWeighted.
	Form Form
	// Window of rate(), of the averaging of TimeWeighted and AvgIRate, and
	// of RPS. Default 1m; whole seconds.
	Window time.Duration
	// PerPod gives the average pod's value (for KEDA's metricType Value)
	// instead of the Deployment's total (for metricType AverageValue, the
	// default, where the HPA divides by the replica count itself).
	PerPod bool
	// Conventions of the metric names. Default Runway.
	Conventions Conventions
	// Recorded reads the per-Deployment series that the recording rules
	// of examples/prometheus write (namespace_deployment:...:sum, or :avg
	// with PerPod) instead of the raw series. The rules derive the
	// deployment label from the pod name with PodPattern's rule. Only the
	// forms TimeWeighted and Gauge are recorded, on the scrape paths.
	Recorded bool
}

// ErrSpec is wrapped by every error of a Spec that cannot give a query.
var ErrSpec = errors.New("scalequery: invalid spec")

// dns1123 is a Kubernetes object name (a DNS-1123 subdomain).
var dns1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

func (s Spec) check() error {
	for _, f := range []struct{ name, v string }{{"Namespace", s.Namespace}, {"Deployment", s.Deployment}} {
		if !dns1123.MatchString(f.v) || len(f.v) > 253 {
			return fmt.Errorf("%w: %s %q is not a Kubernetes object name", ErrSpec, f.name, f.v)
		}
	}
	if s.Path < Scrape || s.Path > OTLP {
		return fmt.Errorf("%w: %v", ErrSpec, s.Path)
	}
	if _, ok := formNames[s.Form]; !ok {
		return fmt.Errorf("%w: %v", ErrSpec, s.Form)
	}
	if s.Window < 0 || s.Window%time.Second != 0 {
		return fmt.Errorf("%w: Window %v is not a positive whole number of seconds", ErrSpec, s.Window)
	}
	switch s.Conventions {
	case "", Runway, OTel:
	default:
		return fmt.Errorf("%w: Conventions %q: want runway or otel", ErrSpec, s.Conventions)
	}
	if s.Recorded && (s.Path == OTLP || (s.Form != TimeWeighted && s.Form != Gauge) || s.Window != 0) {
		return fmt.Errorf("%w: Recorded: only the time-weighted and gauge forms over 1m are recorded, on the scrape paths", ErrSpec)
	}
	return nil
}

// RecordedSeries returns the name of the recording rule that Recorded
// reads: namespace_deployment:<gauge>:sum (or :avg with PerPod) for Gauge,
// namespace_deployment:runway_requests_in_flight_time_weighted:sum (:avg)
// for TimeWeighted.
func (s Spec) RecordedSeries() string {
	agg := "sum"
	if s.PerPod {
		agg = "avg"
	}
	name := InFlight + "_time_weighted"
	if s.Form == Gauge {
		name = InFlight
		if s.Conventions == OTel {
			name = ActiveRequests
		}
	}
	return "namespace_deployment:" + name + ":" + agg
}

// labels returns the namespace and pod label names of the path.
func (s Spec) labels() (namespace, pod string) {
	if s.Path == OTLP {
		return "k8s_namespace_name", "k8s_pod_name"
	}
	return "namespace", "pod"
}

// PodPattern is the regular expression of the Deployment's pod names.
func (s Spec) PodPattern() string {
	return regexp.QuoteMeta(s.Deployment) + "-[a-z0-9]+-[a-z0-9]{5}"
}

// Selector returns the label matchers, without braces, that select the
// Deployment's series on the spec's path.
func (s Spec) Selector() (string, error) {
	if err := s.check(); err != nil {
		return "", err
	}
	ns, pod := s.labels()
	return fmt.Sprintf("%s=%q,%s=~%q", ns, s.Namespace, pod, s.PodPattern()), nil
}

// Query returns the PromQL of the spec: the Deployment's total, or with
// PerPod the average pod's value (the sum per pod averaged over pods, so a
// pod with several series still counts once).
func (s Spec) Query() (string, error) {
	sel, err := s.Selector()
	if err != nil {
		return "", err
	}
	if s.Recorded {
		agg := "sum"
		if s.PerPod {
			agg = "avg"
		}
		return fmt.Sprintf("%s(%s{namespace=%q,deployment=%q})", agg, s.RecordedSeries(), s.Namespace, s.Deployment), nil
	}
	w := promDuration(s.Window)
	inFlight, requests := InFlight, Requests
	if s.Conventions == OTel {
		inFlight, requests = ActiveRequests, RequestDurationCount
	}
	var expr string
	switch s.Form {
	case Gauge:
		expr = fmt.Sprintf("%s{%s}", inFlight, sel)
	case Rate:
		expr = fmt.Sprintf("rate(%s{%s}[%s])", InFlightTime, sel, w)
	case IRate:
		expr = fmt.Sprintf("irate(%s{%s}[%s])", InFlightTime, sel, w)
	case AvgIRate:
		expr = fmt.Sprintf("avg_over_time(irate(%s{%s}[1m])[%s:1s])", InFlightTime, sel, w)
	case TimeWeighted:
		expr = fmt.Sprintf("avg_over_time(irate(%s{%s}[1m])[%s:1s])", InFlightTime, sel, w)
		if s.Path != OTLP {
			ns, pod := s.labels()
			expr = fmt.Sprintf("%s and on(%s, %s) up{%s}", expr, ns, pod, sel)
		}
	case RPS:
		expr = fmt.Sprintf("rate(%s{%s}[%s])", requests, sel, w)
	}
	if s.PerPod {
		ns, pod := s.labels()
		return fmt.Sprintf("avg(sum by (%s, %s) (%s))", ns, pod, expr), nil
	}
	return fmt.Sprintf("sum(%s)", expr), nil
}

// MetricType is the KEDA trigger's metricType for the spec's query:
// AverageValue for a total, Value for a per-pod average.
func (s Spec) MetricType() string {
	if s.PerPod {
		return "Value"
	}
	return "AverageValue"
}

// promDuration writes d (default 1m) as a Prometheus duration.
func promDuration(d time.Duration) string {
	if d == 0 {
		d = time.Minute
	}
	if d%time.Minute == 0 {
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}
