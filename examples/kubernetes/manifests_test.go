// Package kubernetes holds the Kubernetes manifests of the runway demo; its
// tests decode every manifest strictly into the upstream API types, so a
// misspelt field fails here instead of in a cluster.
package kubernetes

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// kinds maps apiVersion/kind to a constructor of the Go type it decodes into.
var kinds = map[string]func() any{
	"apps/v1/Deployment":                      func() any { return new(appsv1.Deployment) },
	"v1/Service":                              func() any { return new(corev1.Service) },
	"v1/ConfigMap":                            func() any { return new(corev1.ConfigMap) },
	"monitoring.coreos.com/v1/PodMonitor":     func() any { return new(monitoringv1.PodMonitor) },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return new(monitoringv1.ServiceMonitor) },
	"monitoring.coreos.com/v1/PrometheusRule": func() any { return new(monitoringv1.PrometheusRule) },
	"autoscaling/v2/HorizontalPodAutoscaler":  func() any { return new(autoscalingv2.HorizontalPodAutoscaler) },
	"keda.sh/v1alpha1/ScaledObject":           func() any { return new(scaledObject) },
}

// decode strictly decodes one YAML document into the type its apiVersion and
// kind name.
func decode(doc []byte) (any, error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return nil, err
	}
	key := head.APIVersion + "/" + head.Kind
	newObj, ok := kinds[key]
	if !ok {
		return nil, fmt.Errorf("no Go type known for %q", key)
	}
	obj := newObj()
	if err := strictUnmarshal(doc, obj); err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	// prometheus-adapter's configuration travels as a string in a ConfigMap:
	// decode it as strictly.
	if cm, ok := obj.(*corev1.ConfigMap); ok && cm.Name == "prometheus-adapter" {
		var cfg adapterConfig
		if err := strictUnmarshal([]byte(cm.Data["config.yaml"]), &cfg); err != nil {
			return nil, fmt.Errorf("prometheus-adapter config.yaml: %w", err)
		}
	}
	return obj, nil
}

// strictUnmarshal decodes YAML the way the API server decodes a request:
// duplicate keys are errors (sigs.k8s.io/yaml strict conversion), and field
// names must match exactly, case included, with no unknown field
// (sigs.k8s.io/json). sigs.k8s.io/yaml's UnmarshalStrict alone goes through
// encoding/json, which accepts "targetport" for "targetPort".
func strictUnmarshal(doc []byte, obj any) error {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strictErrs, err := kjson.UnmarshalStrict(js, obj)
	if err != nil {
		return err
	}
	return errors.Join(strictErrs...)
}

// documents splits a multi-document YAML file.
func documents(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		if strings.TrimSpace(regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(d, "")) != "" {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

// manifests decodes every *.yaml file of this directory.
func manifests(t *testing.T) map[string][]any {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests found: %v", err)
	}
	out := map[string][]any{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range documents(data) {
			obj, err := decode(doc)
			if err != nil {
				t.Fatalf("%s document %d: %v", f, i, err)
			}
			out[f] = append(out[f], obj)
		}
	}
	return out
}

// only returns the single object of type T among all manifests.
func only[T any](t *testing.T, all map[string][]any) T {
	t.Helper()
	var found []T
	for _, objs := range all {
		for _, o := range objs {
			if v, ok := o.(T); ok {
				found = append(found, v)
			}
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("want exactly one %T, found %d", zero, len(found))
	}
	return found[0]
}

func TestManifestsDecodeStrictly(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"deployment.yaml":                "*v1.Deployment",
		"service.yaml":                   "*v1.Service",
		"otelcol-sidecar-configmap.yaml": "*v1.ConfigMap",
		"podmonitor.yaml":                "*v1.PodMonitor",
		"servicemonitor.yaml":            "*v1.ServiceMonitor",
		"hpa.yaml":                       "*v2.HorizontalPodAutoscaler",
		"keda-scaledobject.yaml":         "*kubernetes.scaledObject",
		"prometheus-adapter-config.yaml": "*v1.ConfigMap",
		"prometheusrule.yaml":            "*v1.PrometheusRule",
		"prometheusrule-otel.yaml":       "*v1.PrometheusRule",
	}
	if len(files) != len(want) {
		t.Errorf("manifests %v, want exactly %d files", files, len(want))
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			docs := documents(data)
			if len(docs) != 1 {
				t.Fatalf("%d documents, want 1", len(docs))
			}
			obj, err := decode(docs[0])
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprintf("%T", obj); got != want[f] {
				t.Errorf("decoded into %s, want %s", got, want[f])
			}
		})
	}
}

// TestStrictDecodingRejectsTypos proves the decoder used above fails on a
// misspelt or misplaced field in each kind, including KEDA's.
func TestStrictDecodingRejectsTypos(t *testing.T) {
	cases := []struct {
		name, file, from, to string
	}{
		{"deployment field", "deployment.yaml", "terminationGracePeriodSeconds:", "terminationGracePeriodSecond:"},
		{"container field", "deployment.yaml", "imagePullPolicy:", "imagePullPolice:"},
		{"service field", "service.yaml", "targetPort: http", "targetport: http"},
		{"podmonitor field", "podmonitor.yaml", "honorLabels:", "honourLabels:"},
		{"servicemonitor field", "servicemonitor.yaml", "endpoints:", "endpoint:"},
		{"hpa field", "hpa.yaml", "averageValue:", "averagevalue:"},
		{"scaledobject field", "keda-scaledobject.yaml", "minReplicaCount:", "minReplicas:"},
		{"scaledobject trigger field", "keda-scaledobject.yaml", "      metricType: AverageValue", "      metrictype: AverageValue"},
		{"adapter rule field", "prometheus-adapter-config.yaml", "seriesQuery:", "seriesquery:"},
		{"prometheusrule field", "prometheusrule.yaml", "        - alert: RunwayAtMaxReplicas", "        - alrt: RunwayAtMaxReplicas"},
		{"prometheusrule wrong case", "prometheusrule.yaml", "          for: 10m", "          For: 10m"},
		{"duplicate field", "hpa.yaml", "  minReplicas: 1\n", "  minReplicas: 1\n  minReplicas: 2\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(data, []byte(tc.from)) {
				t.Fatalf("%s does not contain %q", tc.file, tc.from)
			}
			broken := bytes.Replace(data, []byte(tc.from), []byte(tc.to), 1)
			if _, err := decode(broken); err == nil {
				t.Errorf("decoding with %q instead of %q succeeded, want an error", tc.to, tc.from)
			}
		})
	}
}

func containerPort(t *testing.T, spec corev1.PodSpec, name string) int32 {
	t.Helper()
	for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
		for _, p := range c.Ports {
			if p.Name == name {
				return p.ContainerPort
			}
		}
	}
	t.Fatalf("no container port named %q", name)
	return 0
}

func container(t *testing.T, cs []corev1.Container, name string) corev1.Container {
	t.Helper()
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %q", name)
	return corev1.Container{}
}

func envValue(c corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// defaultPort reads the port of a ${env:NAME:-host:port} default in a
// collector config.
func defaultPort(t *testing.T, config, envName string) string {
	t.Helper()
	m := regexp.MustCompile(`\$\{env:` + envName + `:-([^}]+)\}`).FindStringSubmatch(config)
	if m == nil {
		t.Fatalf("collector config has no default for %s", envName)
	}
	_, port, err := net.SplitHostPort(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func TestDeploymentWiring(t *testing.T) {
	all := manifests(t)
	dep := only[*appsv1.Deployment](t, all)
	svc := only[*corev1.Service](t, all)
	pm := only[*monitoringv1.PodMonitor](t, all)
	sm := only[*monitoringv1.ServiceMonitor](t, all)
	podSpec := dep.Spec.Template.Spec
	podLabels := labels.Set(dep.Spec.Template.Labels)

	sidecarFile, err := os.ReadFile(filepath.Join("..", "..", "otel-collector", "sidecar.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sidecarConfig := string(sidecarFile)

	t.Run("deployment selector matches its pods", func(t *testing.T) {
		sel := labels.SelectorFromSet(dep.Spec.Selector.MatchLabels)
		if !sel.Matches(podLabels) {
			t.Errorf("selector %v does not match pod labels %v", sel, podLabels)
		}
	})
	t.Run("every container is locked down", func(t *testing.T) {
		containers := append(slices.Clone(podSpec.InitContainers), podSpec.Containers...)
		if len(containers) < 2 {
			t.Fatalf("%d containers, want the app and its sidecar", len(containers))
		}
		for _, c := range containers {
			sc := c.SecurityContext
			switch {
			case sc == nil:
				t.Errorf("container %s: no securityContext", c.Name)
			case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
				t.Errorf("container %s: runAsNonRoot is not true", c.Name)
			case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
				t.Errorf("container %s: readOnlyRootFilesystem is not true", c.Name)
			case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
				t.Errorf("container %s: allowPrivilegeEscalation is not false", c.Name)
			case sc.Privileged != nil && *sc.Privileged:
				t.Errorf("container %s: privileged", c.Name)
			case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
				t.Errorf("container %s: capabilities %+v, want drop [ALL] and nothing added", c.Name, sc.Capabilities)
			}
		}
		if psc := podSpec.SecurityContext; psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("pod securityContext %+v: want seccompProfile RuntimeDefault", psc)
		}
	})
	t.Run("service selects the pods", func(t *testing.T) {
		if !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
			t.Errorf("service selector %v does not match pod labels %v", svc.Spec.Selector, podLabels)
		}
		for _, p := range svc.Spec.Ports {
			if p.TargetPort.Type != intstr.String {
				t.Errorf("service port %s: target port %v, want a port name", p.Name, p.TargetPort)
				continue
			}
			containerPort(t, podSpec, p.TargetPort.StrVal)
		}
	})
	t.Run("podmonitor scrapes a pod port", func(t *testing.T) {
		if !labels.SelectorFromSet(pm.Spec.Selector.MatchLabels).Matches(podLabels) {
			t.Errorf("podmonitor selector does not match the pods")
		}
		for _, ep := range pm.Spec.PodMetricsEndpoints {
			if ep.Port == nil {
				t.Fatal("podmonitor endpoint without a port name")
			}
			containerPort(t, podSpec, *ep.Port)
			if !ep.HonorLabels {
				t.Error("honorLabels is false: the collector's job and instance would become exported_job and exported_instance")
			}
		}
	})
	t.Run("servicemonitor scrapes a service port", func(t *testing.T) {
		if !labels.SelectorFromSet(sm.Spec.Selector.MatchLabels).Matches(labels.Set(svc.Labels)) {
			t.Errorf("servicemonitor selector does not match the service labels %v", svc.Labels)
		}
		for _, ep := range sm.Spec.Endpoints {
			if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port }) {
				t.Errorf("servicemonitor port %q is not a service port", ep.Port)
			}
			if !ep.HonorLabels {
				t.Error("honorLabels is false")
			}
		}
	})
	t.Run("sidecar config is otel-collector/sidecar.yaml", func(t *testing.T) {
		var cm *corev1.ConfigMap
		for _, o := range all["otelcol-sidecar-configmap.yaml"] {
			cm = o.(*corev1.ConfigMap)
		}
		if cm == nil {
			t.Fatal("no sidecar ConfigMap")
		}
		if got := cm.Data["sidecar.yaml"]; got != sidecarConfig {
			t.Errorf("ConfigMap %s differs from otel-collector/sidecar.yaml; regenerate it", cm.Name)
		}
		var mounted bool
		for _, v := range podSpec.Volumes {
			if v.ConfigMap != nil && v.ConfigMap.Name == cm.Name {
				mounted = true
			}
		}
		if !mounted {
			t.Errorf("no volume mounts ConfigMap %s", cm.Name)
		}
		otelcol := container(t, podSpec.InitContainers, "otelcol")
		if otelcol.RestartPolicy == nil || *otelcol.RestartPolicy != corev1.ContainerRestartPolicyAlways {
			t.Error("the collector is not a native sidecar (restartPolicy: Always)")
		}
		if !slices.Contains(otelcol.Args, "--config=/etc/runway/sidecar.yaml") {
			t.Errorf("collector args %v do not name the mounted config", otelcol.Args)
		}
	})
	t.Run("app pushes to the sidecar's receiver", func(t *testing.T) {
		app := container(t, podSpec.Containers, "app")
		endpoint, ok := envValue(app, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
		if !ok {
			t.Fatal("app has no OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
		}
		host, port, err := net.SplitHostPort(strings.TrimPrefix(endpoint, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		if host != "127.0.0.1" && host != "localhost" {
			t.Errorf("app pushes to %s, want the pod's loopback", host)
		}
		if want := defaultPort(t, sidecarConfig, "RUNWAY_OTLP_GRPC_ENDPOINT"); port != want {
			t.Errorf("app pushes to port %s, sidecar listens on %s", port, want)
		}
		if v, _ := envValue(app, "OTEL_METRICS_EXPORTER"); v != "otlp" {
			t.Errorf("OTEL_METRICS_EXPORTER=%q, want otlp", v)
		}
		attrs, _ := envValue(app, "OTEL_RESOURCE_ATTRIBUTES")
		if !strings.Contains(attrs, "service.instance.id=$(POD_NAME)") {
			t.Errorf("OTEL_RESOURCE_ATTRIBUTES=%q does not make the pod name the instance", attrs)
		}
	})
	t.Run("sidecar serves Prometheus on the metrics port", func(t *testing.T) {
		otelcol := container(t, podSpec.InitContainers, "otelcol")
		endpoint, _ := envValue(otelcol, "RUNWAY_PROMETHEUS_ENDPOINT")
		_, port, err := net.SplitHostPort(endpoint)
		if err != nil {
			t.Fatalf("RUNWAY_PROMETHEUS_ENDPOINT=%q: %v", endpoint, err)
		}
		if want := strconv.Itoa(int(containerPort(t, podSpec, "metrics"))); port != want {
			t.Errorf("collector serves Prometheus on %s, the metrics port is %s", port, want)
		}
	})
}

// aggregation returns the outermost PromQL aggregation of a query ("sum",
// "avg", ...), or "" when there is none.
func aggregation(query string) string {
	m := regexp.MustCompile(`^\s*(sum|avg|max|min|count)\s*(by|without)?\s*(\([^)]*\))?\s*\(`).FindStringSubmatch(query)
	if m == nil {
		return ""
	}
	return m[1]
}

// checkScaling is the rule the ScaledObject must follow: with AverageValue
// (KEDA's default) the HPA divides by the replica count, so the query must
// be a total; with Value it must already be a per-pod average.
func checkScaling(metricType autoscalingv2.MetricTargetType, query string) error {
	if strings.Contains(strings.ReplaceAll(query, " ", ""), "count(up") {
		return errors.New("count(up) counts every scrape target, not the pods that report the metric")
	}
	switch agg := aggregation(query); metricType {
	case "", autoscalingv2.AverageValueMetricType:
		if agg != "sum" || strings.Contains(query, "/") {
			return fmt.Errorf("metricType AverageValue divides by the replica count: query %q must be a plain sum(...)", query)
		}
	case autoscalingv2.ValueMetricType:
		if agg != "avg" {
			return fmt.Errorf("metricType Value compares the query as is: query %q must be a per-pod avg(...)", query)
		}
	default:
		return fmt.Errorf("metricType %q is not supported by KEDA's prometheus trigger", metricType)
	}
	return nil
}

func TestCheckScaling(t *testing.T) {
	cases := []struct {
		name       string
		metricType autoscalingv2.MetricTargetType
		query      string
		ok         bool
	}{
		{"sum with AverageValue", "AverageValue", `sum(runway_requests_in_flight)`, true},
		{"sum with default type", "", `sum(runway_requests_in_flight{namespace="default"})`, true},
		{"avg with Value", "Value", `avg(runway_requests_in_flight)`, true},
		{"per-pod average query with the default type divides twice", "", `sum(runway_requests_in_flight)/count(up)`, false},
		{"avg with AverageValue divides twice", "AverageValue", `avg(runway_requests_in_flight)`, false},
		{"sum with Value does not divide", "Value", `sum(runway_requests_in_flight)`, false},
		{"count(up) with Value", "Value", `sum(runway_requests_in_flight) / count(up{job="x"})`, false},
		{"Utilization is not for prometheus", "Utilization", `avg(runway_requests_in_flight)`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkScaling(tc.metricType, tc.query)
			if (err == nil) != tc.ok {
				t.Errorf("checkScaling(%q, %q) = %v, want ok=%v", tc.metricType, tc.query, err, tc.ok)
			}
		})
	}
}

func TestScaledObject(t *testing.T) {
	all := manifests(t)
	so := only[*scaledObject](t, all)
	dep := only[*appsv1.Deployment](t, all)

	ref := so.Spec.ScaleTargetRef
	if ref == nil || ref.Name != dep.Name || ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" {
		t.Errorf("scaleTargetRef %+v does not name Deployment %s", ref, dep.Name)
	}
	if so.Namespace != dep.Namespace {
		t.Errorf("ScaledObject in %q, Deployment in %q", so.Namespace, dep.Namespace)
	}
	if so.Spec.MinReplicaCount == nil || *so.Spec.MinReplicaCount < 1 {
		t.Error("minReplicaCount must be at least 1: an in-process metric cannot scale from zero")
	}
	if len(so.Spec.Triggers) != 1 {
		t.Fatalf("%d triggers, want 1", len(so.Spec.Triggers))
	}
	tr := so.Spec.Triggers[0]
	if tr.Type != "prometheus" {
		t.Fatalf("trigger type %q, want prometheus", tr.Type)
	}
	for k := range tr.Metadata {
		if !prometheusTriggerKeys[k] {
			t.Errorf("metadata key %q is not read by KEDA's prometheus scaler", k)
		}
	}
	for _, k := range []string{"serverAddress", "query", "threshold"} {
		if tr.Metadata[k] == "" {
			t.Errorf("metadata %q is required", k)
		}
	}
	if th, err := strconv.ParseFloat(tr.Metadata["threshold"], 64); err != nil || th <= 0 || math.IsInf(th, 0) {
		t.Errorf("threshold %q is not a positive number", tr.Metadata["threshold"])
	}
	if err := checkScaling(tr.MetricType, tr.Metadata["query"]); err != nil {
		t.Error(err)
	}
	if !strings.Contains(tr.Metadata["query"], "runway_requests_in_flight") {
		t.Errorf("query %q does not read runway_requests_in_flight", tr.Metadata["query"])
	}
}

func TestHPAAndAdapter(t *testing.T) {
	all := manifests(t)
	hpa := only[*autoscalingv2.HorizontalPodAutoscaler](t, all)
	dep := only[*appsv1.Deployment](t, all)

	var adapterCM *corev1.ConfigMap
	for _, o := range all["prometheus-adapter-config.yaml"] {
		adapterCM = o.(*corev1.ConfigMap)
	}
	if adapterCM == nil {
		t.Fatal("no prometheus-adapter ConfigMap")
	}
	var cfg adapterConfig
	if err := strictUnmarshal([]byte(adapterCM.Data["config.yaml"]), &cfg); err != nil {
		t.Fatalf("adapter config: %v", err)
	}
	if len(cfg.Rules) != 1 {
		t.Fatalf("%d adapter rules, want 1", len(cfg.Rules))
	}
	rule := cfg.Rules[0]

	if hpa.Spec.ScaleTargetRef.Name != dep.Name || hpa.Spec.ScaleTargetRef.Kind != "Deployment" {
		t.Errorf("scaleTargetRef %+v does not name Deployment %s", hpa.Spec.ScaleTargetRef, dep.Name)
	}
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 1 {
		t.Error("minReplicas must be at least 1")
	}
	if len(hpa.Spec.Metrics) != 1 || hpa.Spec.Metrics[0].Type != autoscalingv2.PodsMetricSourceType {
		t.Fatalf("want one Pods metric, got %+v", hpa.Spec.Metrics)
	}
	pods := hpa.Spec.Metrics[0].Pods
	if pods.Target.Type != autoscalingv2.AverageValueMetricType || pods.Target.AverageValue == nil {
		t.Fatalf("Pods metric target %+v, want AverageValue", pods.Target)
	}
	if pods.Target.AverageValue.Cmp(resource.MustParse("0")) <= 0 {
		t.Error("target averageValue must be positive")
	}

	name := rule.Name.As
	if name == "" {
		name = rule.Name.Matches
	}
	if pods.Metric.Name != name {
		t.Errorf("HPA asks for metric %q, the adapter serves %q", pods.Metric.Name, name)
	}
	if !regexp.MustCompile(rule.Name.Matches).MatchString("runway_requests_in_flight") {
		t.Errorf("adapter name.matches %q does not match runway_requests_in_flight", rule.Name.Matches)
	}
	for _, label := range []string{"namespace", "pod"} {
		if rule.Resources.Overrides[label].Resource != label {
			t.Errorf("adapter rule does not map label %q to the %s resource", label, label)
		}
	}
	for _, part := range []string{"<<.Series>>", "<<.LabelMatchers>>", "<<.GroupBy>>"} {
		if !strings.Contains(rule.MetricsQuery, part) {
			t.Errorf("metricsQuery %q lacks %s", rule.MetricsQuery, part)
		}
	}
	if aggregation(rule.MetricsQuery) != "sum" {
		t.Errorf("metricsQuery %q must sum per pod", rule.MetricsQuery)
	}
}
