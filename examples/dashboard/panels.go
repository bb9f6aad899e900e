package main

import "strings"

// Naming is the metric naming mode of the instrumented service: runway's
// own names (the default, compatible with asgi-runway) or the OpenTelemetry
// semantic conventions. runway's extensions (request-seconds, limit,
// listener, streams) keep runway names in both.
type Naming struct {
	// Name is "runway" or "otel"; it names the generated file.
	Name string
	// InFlight is the instant gauge of requests in flight.
	InFlight string
	// Requests counts finished requests with http_response_status_code.
	Requests string
	// DurationBucket is the latency histogram's bucket series.
	DurationBucket string
}

// Namings are the two naming modes a dashboard is generated for.
var Namings = []Naming{
	{
		Name:           "runway",
		InFlight:       "runway_requests_in_flight",
		Requests:       "runway_requests_total",
		DurationBucket: "runway_request_duration_seconds_bucket",
	},
	{
		// http.server.active_requests and http.server.request.duration; the
		// histogram's _count stands in for the request counter.
		Name:           "otel",
		InFlight:       "http_server_active_requests",
		Requests:       "http_server_request_duration_seconds_count",
		DurationBucket: "http_server_request_duration_seconds_bucket",
	},
}

// TimeWeighted is the recording rule (examples/prometheus/rules.yml) that
// holds each pod's time-weighted requests in flight. The dashboard reads
// the rule rather than repeating its expression, so the two cannot differ.
const TimeWeighted = "pod:runway_requests_in_flight:time_weighted"

// TimeWeightedAvg is the recording rule that holds the form the autoscalers
// are given: TimeWeighted averaged over a minute and kept to the pods that
// are still scrape targets. The dashboard's average per pod reads it, so it
// shows what KEDA compares with the threshold.
const TimeWeightedAvg = "pod:runway_requests_in_flight:time_weighted_avg1m"

// selector selects the series of the chosen pods of the chosen deployment:
// pods of a Deployment are named <deployment>-<replicaset hash>-<suffix>.
const selector = `namespace="$namespace", pod=~"$deployment-[a-z0-9]+-[a-z0-9]+", pod=~"$pod"`

// target is one query of a panel.
type target struct {
	Expr, Legend string
}

// panel is one panel of the dashboard.
type panel struct {
	Title, Description, Unit string
	Targets                  []target
}

// row is a titled group of panels.
type row struct {
	Title  string
	Panels []panel
}

// sel writes metric{selector}.
func sel(metric string) string { return metric + "{" + selector + "}" }

// rows lists the dashboard's panels for one naming mode.
func rows(n Naming) []row {
	inFlight := "sum by (pod) (" + sel(n.InFlight) + ")"
	statusClass := `sum by (status_class) (label_replace(rate(` + sel(n.Requests) +
		`[$__rate_interval]), "status_class", "${1}xx", "http_response_status_code", "([0-9]).*"))`
	quantile := func(q string) target {
		return target{
			Expr:   "histogram_quantile(" + q + ", sum by (http_route, le) (rate(" + sel(n.DurationBucket) + "[$__rate_interval])))",
			Legend: "p" + strings.TrimPrefix(q, "0.") + " {{http_route}}",
		}
	}
	return []row{
		{"Scaling signal", []panel{
			{
				Title: "Requests in flight per pod",
				Description: "Requests each pod holds right now (" + n.InFlight + "), their average over the pods (what the autoscaler " +
					"compares) and the autoscaling threshold ($threshold). Sustained above the threshold: the autoscaler should be adding pods.",
				Unit: "short",
				Targets: []target{
					{inFlight, "{{pod}}"},
					{"avg(" + inFlight + ")", "average per pod"},
					{"vector($threshold)", "threshold"},
				},
			},
			{
				Title: "Time-weighted requests in flight per pod",
				Description: "The exact average number of requests in flight between scrapes, from the request-seconds counter " +
					"runway_requests_in_flight_time_seconds_total (recording rule " + TimeWeighted + "). Unlike the instant gauge, " +
					"a burst between two scrapes is not missed. The average per pod is what the autoscaler compares with the " +
					"threshold: each pod's value averaged over a minute, only pods that are still scrape targets (recording rule " +
					TimeWeightedAvg + ").",
				Unit: "short",
				Targets: []target{
					{"sum by (pod) (" + sel(TimeWeighted) + ")", "{{pod}}"},
					{"avg(sum by (pod) (" + sel(TimeWeightedAvg) + "))", "average per pod (1 min)"},
					{"vector($threshold)", "threshold"},
				},
			},
			{
				Title: "Replicas",
				Description: "The deployment's replicas and the autoscaler's maxReplicas (kube-state-metrics), and the pods that " +
					"report runway's metrics (works without kube-state-metrics). Replicas at maxReplicas while pods hold more " +
					"than the threshold: autoscaling has reached its ceiling.",
				Unit: "short",
				Targets: []target{
					{`max(kube_deployment_status_replicas{namespace="$namespace", deployment="$deployment"})`, "replicas"},
					{`max(kube_horizontalpodautoscaler_spec_max_replicas{namespace="$namespace"} * on (namespace, horizontalpodautoscaler) group_left () ` +
						`kube_horizontalpodautoscaler_info{namespace="$namespace", scaletargetref_kind="Deployment", scaletargetref_name="$deployment"})`, "maxReplicas"},
					{"count(count by (pod) (" + sel(n.InFlight) + "))", "pods reporting"},
				},
			},
		}},
		{"Traffic and latency", []panel{
			{
				Title:       "Request rate by status class",
				Description: "Finished requests per second by status class (2xx, 4xx, 5xx). 503s from the concurrency limit count as 5xx.",
				Unit:        "reqps",
				Targets:     []target{{statusClass, "{{status_class}}"}},
			},
			{
				Title: "Latency by route (p50, p95, p99)",
				Description: "Quantiles of the request duration histogram by route, over all selected pods. Latency rising " +
					"before the in-flight count does is a slow dependency; both rising together is load.",
				Unit:    "s",
				Targets: []target{quantile("0.5"), quantile("0.95"), quantile("0.99")},
			},
		}},
		{"Limits, queues and streams", []panel{
			{
				Title: "Saturation of the concurrency limit",
				Description: "Requests in flight divided by the concurrency limit (runway_limit_concurrency), per pod. " +
					"Waiting requests count as in flight, so over 100 % means requests queue for a slot. " +
					"Empty when the service runs without the limiter of package instrument/limit.",
				Unit: "percentunit",
				Targets: []target{
					{inFlight + " / sum by (pod) (" + sel("runway_limit_concurrency") + ")", "{{pod}}"},
				},
			},
			{
				Title: "Limit: waiting and rejected",
				Description: "Requests waiting for a slot of the concurrency limit (runway_limit_waiting), requests rejected per " +
					"second by reason (queue_full: 503 with Retry-After; canceled: the client gave up while waiting), and the p95 " +
					"of the time spent waiting.",
				Unit: "short",
				Targets: []target{
					{"sum by (pod) (" + sel("runway_limit_waiting") + ")", "waiting {{pod}}"},
					{"sum by (runway_limit_reason) (rate(" + sel("runway_limit_rejected_total") + "[$__rate_interval]))", "rejected/s {{runway_limit_reason}}"},
					{"histogram_quantile(0.95, sum by (le) (rate(" + sel("runway_limit_wait_duration_seconds_bucket") + "[$__rate_interval])))", "p95 wait (s)"},
				},
			},
			{
				Title: "Accept queue",
				Description: "Connections the kernel has completed and the server has not accepted yet (runway_listener_accept_queue, " +
					"Linux), per pod, and the queue's maximum (the listen backlog). No in-process counter sees these " +
					"connections; at the maximum the kernel drops new ones.",
				Unit: "short",
				Targets: []target{
					{"sum by (pod) (" + sel("runway_listener_accept_queue") + ")", "{{pod}}"},
					{"max(" + sel("runway_listener_accept_queue_max") + ")", "max (backlog)"},
				},
			},
			{
				Title: "Streams in flight",
				Description: "Long-lived streams (server-sent events, WebSockets, marked routes, streaming RPCs) per pod: counted " +
					"here instead of in requests in flight, so an idle stream does not scale the deployment.",
				Unit:    "short",
				Targets: []target{{"sum by (pod) (" + sel("runway_streams_in_flight") + ")", "{{pod}}"}},
			},
		}},
		{"Signal health", []panel{
			{
				Title: "Signal freshness: time since the last sample",
				Description: "Seconds since Prometheus last stored a sample of " + n.InFlight + " for each pod. It stays under the " +
					"scrape interval when all is well; a pod that climbs here feeds the autoscaler old data, and one that " +
					"disappears feeds it none.",
				Unit:    "s",
				Targets: []target{{"time() - max by (pod) (timestamp(" + sel(n.InFlight) + "))", "{{pod}}"}},
			},
		}},
	}
}
