package sweep

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"sigs.k8s.io/yaml"

	"github.com/otel-runway/runway/examples/scalequery"
)

// KEDAOptions shape the ScaledObject KEDAManifest writes.
type KEDAOptions struct {
	// Deployment is the scale target (apps/v1 Deployment). Required.
	Deployment string
	// Name of the ScaledObject. Default Deployment.
	Name string
	// Namespace of the Deployment and the ScaledObject; the query selects
	// the Deployment's pods in it. Default "default".
	Namespace string
	// MinReplicas defaults to 1. It must be at least 1: an in-process
	// metric cannot wake a deployment scaled to zero.
	MinReplicas int
	// MaxReplicas defaults to 10.
	MaxReplicas int
	// ServerAddress is the Prometheus URL KEDA queries. Default
	// scalequery.DefaultServerAddress.
	ServerAddress string
	// Path is the way the metrics reach Prometheus. Default
	// scalequery.Scrape.
	Path scalequery.Path
	// Form is what the query measures. Default scalequery.TimeWeighted.
	Form scalequery.Form
	// PollingInterval in seconds. Default 15.
	PollingInterval int
	// CooldownPeriod in seconds. Default 300.
	CooldownPeriod int
}

// HPAOptions shape the HorizontalPodAutoscaler HPAManifest writes.
type HPAOptions struct {
	// Deployment is the scale target (apps/v1 Deployment). Required.
	Deployment string
	// Name of the HPA. Default Deployment.
	Name string
	// Namespace of the HPA. Default: none.
	Namespace string
	// MinReplicas defaults to 1 and must be at least 1.
	MinReplicas int
	// MaxReplicas defaults to 10.
	MaxReplicas int
	// Metric is the per-pod metric name served by the custom metrics API
	// (prometheus-adapter). Default runway_requests_in_flight.
	Metric string
}

// ErrManifest is wrapped by every error of KEDAManifest and HPAManifest.
var ErrManifest = errors.New("sweep: invalid manifest options")

// The manifests are written from these small mirrors of the upstream API
// types (KEDA keda.sh/v1alpha1 ScaledObject, autoscaling/v2
// HorizontalPodAutoscaler); the JSON names are the upstream ones.
type (
	objectMeta struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace,omitempty"`
		Labels    map[string]string `json:"labels,omitempty"`
	}
	scaleTargetRef struct {
		APIVersion string `json:"apiVersion,omitempty"`
		Kind       string `json:"kind,omitempty"`
		Name       string `json:"name"`
	}
	kedaTrigger struct {
		Type       string            `json:"type"`
		MetricType string            `json:"metricType,omitempty"`
		Metadata   map[string]string `json:"metadata"`
	}
	scaledObject struct {
		APIVersion string     `json:"apiVersion"`
		Kind       string     `json:"kind"`
		Metadata   objectMeta `json:"metadata"`
		Spec       struct {
			ScaleTargetRef  scaleTargetRef `json:"scaleTargetRef"`
			PollingInterval int            `json:"pollingInterval"`
			CooldownPeriod  int            `json:"cooldownPeriod"`
			MinReplicaCount int            `json:"minReplicaCount"`
			MaxReplicaCount int            `json:"maxReplicaCount"`
			Triggers        []kedaTrigger  `json:"triggers"`
		} `json:"spec"`
	}
	hpaMetricTarget struct {
		Type         string `json:"type"`
		AverageValue string `json:"averageValue"`
	}
	hpaPodsMetric struct {
		Metric struct {
			Name string `json:"name"`
		} `json:"metric"`
		Target hpaMetricTarget `json:"target"`
	}
	hpaMetric struct {
		Type string        `json:"type"`
		Pods hpaPodsMetric `json:"pods"`
	}
	hpa struct {
		APIVersion string     `json:"apiVersion"`
		Kind       string     `json:"kind"`
		Metadata   objectMeta `json:"metadata"`
		Spec       struct {
			ScaleTargetRef scaleTargetRef `json:"scaleTargetRef"`
			MinReplicas    int            `json:"minReplicas"`
			MaxReplicas    int            `json:"maxReplicas"`
			Metrics        []hpaMetric    `json:"metrics"`
		} `json:"spec"`
	}
)

func replicas(min, max int) (int, int, error) {
	if min == 0 {
		min = 1
	}
	if max == 0 {
		max = 10
	}
	if min < 1 {
		return 0, 0, fmt.Errorf("%w: min replicas %d: must be at least 1 (an in-process metric cannot scale from zero)", ErrManifest, min)
	}
	if max < min {
		return 0, 0, fmt.Errorf("%w: max replicas %d is below min replicas %d", ErrManifest, max, min)
	}
	return min, max, nil
}

func header(rec Recommendation) string {
	var b bytes.Buffer
	if rec.Saturated {
		fmt.Fprintf(&b, "# runway sweep: saturation at %d concurrent requests per pod;\n", rec.Saturation)
		fmt.Fprintf(&b, "# threshold %d = floor(0.75 x %d) in-flight requests per pod.\n", rec.Threshold, rec.Saturation)
	} else {
		fmt.Fprintf(&b, "# runway sweep: no saturation up to %d concurrent requests per pod;\n", rec.Saturation)
		fmt.Fprintf(&b, "# threshold %d = floor(0.75 x %d) is a lower bound.\n", rec.Threshold, rec.Saturation)
	}
	return b.String()
}

// KEDASpec is the scalequery.Spec of the KEDA trigger that opts describe:
// the Deployment's total (metricType AverageValue).
func KEDASpec(opts KEDAOptions) scalequery.Spec {
	ns := opts.Namespace
	if ns == "" {
		ns = "default"
	}
	return scalequery.Spec{Namespace: ns, Deployment: opts.Deployment, Path: opts.Path, Form: opts.Form}
}

// KEDAManifest returns a KEDA ScaledObject (keda.sh/v1alpha1) with a
// Prometheus trigger at rec.Threshold in-flight requests per pod. The query is
// scalequery's for KEDASpec(opts), the deployment's total, with metricType
// AverageValue: the HPA
// that KEDA drives divides that total by the replica count itself, so
// dividing in the query too would divide twice.
func KEDAManifest(rec Recommendation, opts KEDAOptions) ([]byte, error) {
	if opts.Deployment == "" {
		return nil, fmt.Errorf("%w: the deployment name is required", ErrManifest)
	}
	if rec.Threshold < 1 {
		return nil, fmt.Errorf("%w: threshold %d is below 1", ErrManifest, rec.Threshold)
	}
	min, max, err := replicas(opts.MinReplicas, opts.MaxReplicas)
	if err != nil {
		return nil, err
	}
	if opts.Name == "" {
		opts.Name = opts.Deployment
	}
	if opts.ServerAddress == "" {
		opts.ServerAddress = scalequery.DefaultServerAddress
	}
	spec := KEDASpec(opts)
	query, err := spec.Query()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	if opts.PollingInterval == 0 {
		opts.PollingInterval = 15
	}
	if opts.CooldownPeriod == 0 {
		opts.CooldownPeriod = 300
	}
	var so scaledObject
	so.APIVersion, so.Kind = "keda.sh/v1alpha1", "ScaledObject"
	so.Metadata = objectMeta{Name: opts.Name, Namespace: spec.Namespace}
	so.Spec.ScaleTargetRef = scaleTargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: opts.Deployment}
	so.Spec.PollingInterval, so.Spec.CooldownPeriod = opts.PollingInterval, opts.CooldownPeriod
	so.Spec.MinReplicaCount, so.Spec.MaxReplicaCount = min, max
	so.Spec.Triggers = []kedaTrigger{{
		Type:       "prometheus",
		MetricType: spec.MetricType(),
		Metadata: map[string]string{
			"serverAddress": opts.ServerAddress,
			"query":         query,
			"threshold":     strconv.Itoa(rec.Threshold),
		},
	}}
	out, err := yaml.Marshal(so)
	if err != nil {
		return nil, fmt.Errorf("sweep: KEDA manifest: %w", err)
	}
	return append([]byte(header(rec)), out...), nil
}

// HPAManifest returns an autoscaling/v2 HorizontalPodAutoscaler on the Pods
// metric runway_requests_in_flight (served by prometheus-adapter) with an
// AverageValue target of rec.Threshold in-flight requests per pod.
func HPAManifest(rec Recommendation, opts HPAOptions) ([]byte, error) {
	if opts.Deployment == "" {
		return nil, fmt.Errorf("%w: the deployment name is required", ErrManifest)
	}
	if rec.Threshold < 1 {
		return nil, fmt.Errorf("%w: threshold %d is below 1", ErrManifest, rec.Threshold)
	}
	min, max, err := replicas(opts.MinReplicas, opts.MaxReplicas)
	if err != nil {
		return nil, err
	}
	if opts.Name == "" {
		opts.Name = opts.Deployment
	}
	if opts.Metric == "" {
		opts.Metric = InFlightMetric
	}
	var h hpa
	h.APIVersion, h.Kind = "autoscaling/v2", "HorizontalPodAutoscaler"
	h.Metadata = objectMeta{Name: opts.Name, Namespace: opts.Namespace}
	h.Spec.ScaleTargetRef = scaleTargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: opts.Deployment}
	h.Spec.MinReplicas, h.Spec.MaxReplicas = min, max
	var m hpaMetric
	m.Type = "Pods"
	m.Pods.Metric.Name = opts.Metric
	m.Pods.Target = hpaMetricTarget{Type: "AverageValue", AverageValue: strconv.Itoa(rec.Threshold)}
	h.Spec.Metrics = []hpaMetric{m}
	out, err := yaml.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("sweep: HPA manifest: %w", err)
	}
	return append([]byte(header(rec)), out...), nil
}
