package chart

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/otel-runway/runway/examples/scalequery"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// kinds maps apiVersion/kind to the Go type the chart's objects decode into.
var kinds = map[string]func() any{
	"v1/ConfigMap":                            func() any { return new(corev1.ConfigMap) },
	"monitoring.coreos.com/v1/PodMonitor":     func() any { return new(monitoringv1.PodMonitor) },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return new(monitoringv1.ServiceMonitor) },
	"monitoring.coreos.com/v1/PrometheusRule": func() any { return new(monitoringv1.PrometheusRule) },
	"keda.sh/v1alpha1/ScaledObject":           func() any { return new(scaledObject) },
}

// strictUnmarshal decodes YAML as the API server decodes a request: no
// duplicate keys, exact field names, no unknown field.
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

// decodeManifest strictly decodes every document of a rendered manifest
// into the upstream type its apiVersion and kind name.
func decodeManifest(t *testing.T, manifest string) []any {
	t.Helper()
	var objs []any
	for i, doc := range strings.Split(manifest, "\n---\n") {
		doc = strings.TrimPrefix(doc, "---\n")
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		newObj, ok := kinds[head.APIVersion+"/"+head.Kind]
		if !ok {
			t.Fatalf("document %d: no Go type for %s/%s:\n%s", i, head.APIVersion, head.Kind, doc)
		}
		obj := newObj()
		if err := strictUnmarshal([]byte(doc), obj); err != nil {
			t.Fatalf("document %d (%s): %v", i, head.Kind, err)
		}
		objs = append(objs, obj)
	}
	return objs
}

func only[T any](t *testing.T, objs []any) T {
	t.Helper()
	var found []T
	for _, o := range objs {
		if v, ok := o.(T); ok {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("want exactly one %T, found %d", zero, len(found))
	}
	return found[0]
}

// chartCase is one set of values the golden renderings record.
type chartCase struct {
	name   string
	values map[string]any
}

// chartCases are rendered to testdata/rendered/<name>.yaml, for the demo's
// Deployment (examples/kubernetes/deployment.yaml) in namespace default,
// without the rules and the dashboard (TestChartRulesAndDashboard compares
// those with their sources).
var chartCases = []chartCase{
	{"scrape-podmonitor", demoValues("scrape", "PodMonitor")},
	{"scrape-servicemonitor", demoValues("scrape", "ServiceMonitor")},
	{"sidecar-podmonitor", demoValues("sidecar", "PodMonitor")},
	{"sidecar-servicemonitor", demoValues("sidecar", "ServiceMonitor")},
	{"otlp", demoValues("otlp", "PodMonitor")},
}

func demoValues(path, monitor string) map[string]any {
	return map[string]any{
		"deployment": "runway-demo", "path": path, "monitor": monitor,
		"rules": map[string]any{"enabled": false}, "dashboard": map[string]any{"enabled": false},
	}
}

// TestMain keeps Helm's notice about the chart's symbolic links (files/
// links to the rules and the dashboard) out of the test output.
func TestMain(m *testing.M) {
	log.SetOutput(io.Discard)
	os.Exit(m.Run())
}

func render(t *testing.T, values map[string]any) string {
	t.Helper()
	out, err := Render(Dir, "runway", "default", values)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// golden compares got with testdata/name, or writes it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	file := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from what is generated now (go test -update rewrites it); got:\n%s", file, got)
	}
}

// TestChartRendersGolden: the chart renders each case as
// testdata/rendered/<case>.yaml records it (the end-to-end test in
// otel-collector/e2e runs the ScaledObject's query from there).
func TestChartRendersGolden(t *testing.T) {
	for _, tc := range chartCases {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, filepath.Join("rendered", tc.name+".yaml"), []byte(render(t, tc.values)))
		})
	}
}

// TestChartQueryIsScalequery: every object decodes strictly, and the
// ScaledObject's query, metricType and serverAddress are what scalequery
// gives for the same namespace, Deployment and path; a PodMonitor or
// ServiceMonitor is rendered on the scrape paths (honorLabels on the
// sidecar's) and none for OTLP.
func TestChartQueryIsScalequery(t *testing.T) {
	for _, path := range []scalequery.Path{scalequery.Scrape, scalequery.Sidecar, scalequery.OTLP} {
		for _, monitor := range []string{"PodMonitor", "ServiceMonitor"} {
			for _, w := range []struct{ namespace, deployment string }{
				{"default", "runway-demo"}, {"shop", "checkout"}, {"team-a", "api.v2"},
			} {
				name := fmt.Sprintf("%v/%s/%s/%s", path, monitor, w.namespace, w.deployment)
				t.Run(name, func(t *testing.T) {
					values := map[string]any{"deployment": w.deployment, "path": path.String(), "monitor": monitor, "threshold": 7}
					objs := decodeManifest(t, render(t, withNamespace(values, w.namespace)))
					spec := scalequery.Spec{Namespace: w.namespace, Deployment: w.deployment, Path: path}
					want, err := spec.Query()
					if err != nil {
						t.Fatal(err)
					}
					so := only[*scaledObject](t, objs)
					tr := so.Spec.Triggers[0]
					for k := range tr.Metadata {
						if !prometheusTriggerKeys[k] {
							t.Errorf("trigger metadata key %q is not read by KEDA's prometheus scaler", k)
						}
					}
					if got := tr.Metadata["query"]; got != want {
						t.Errorf("query\n got %s\nwant %s", got, want)
					}
					if string(tr.MetricType) != spec.MetricType() {
						t.Errorf("metricType %s, want %s", tr.MetricType, spec.MetricType())
					}
					if got := tr.Metadata["serverAddress"]; got != scalequery.DefaultServerAddress {
						t.Errorf("serverAddress %s, want %s", got, scalequery.DefaultServerAddress)
					}
					if tr.Metadata["threshold"] != "7" || so.Namespace != w.namespace || so.Spec.ScaleTargetRef.Name != w.deployment {
						t.Errorf("threshold %q, namespace %q, target %q", tr.Metadata["threshold"], so.Namespace, so.Spec.ScaleTargetRef.Name)
					}
					checkMonitor(t, objs, path, monitor, w.namespace, w.deployment)
				})
			}
		}
	}
}

func withNamespace(values map[string]any, namespace string) map[string]any {
	v := map[string]any{"namespace": namespace}
	for k, x := range values {
		v[k] = x
	}
	return v
}

func checkMonitor(t *testing.T, objs []any, path scalequery.Path, monitor, namespace, deployment string) {
	t.Helper()
	var pms []*monitoringv1.PodMonitor
	var sms []*monitoringv1.ServiceMonitor
	for _, o := range objs {
		switch m := o.(type) {
		case *monitoringv1.PodMonitor:
			pms = append(pms, m)
		case *monitoringv1.ServiceMonitor:
			sms = append(sms, m)
		}
	}
	if path == scalequery.OTLP {
		if len(pms)+len(sms) != 0 {
			t.Errorf("otlp: %d PodMonitors and %d ServiceMonitors, want none", len(pms), len(sms))
		}
		return
	}
	var honor bool
	var sel map[string]string
	switch {
	case monitor == "PodMonitor" && len(pms) == 1 && len(sms) == 0:
		ep := pms[0].Spec.PodMetricsEndpoints[0]
		honor, sel = ep.HonorLabels, pms[0].Spec.Selector.MatchLabels
		if pms[0].Namespace != namespace || ep.Port == nil || *ep.Port != "metrics" {
			t.Errorf("PodMonitor in %q on port %v", pms[0].Namespace, ep.Port)
		}
	case monitor == "ServiceMonitor" && len(sms) == 1 && len(pms) == 0:
		ep := sms[0].Spec.Endpoints[0]
		honor, sel = ep.HonorLabels, sms[0].Spec.Selector.MatchLabels
		if sms[0].Namespace != namespace || ep.Port != "metrics" {
			t.Errorf("ServiceMonitor in %q on port %q", sms[0].Namespace, ep.Port)
		}
	default:
		t.Fatalf("%v with %s: %d PodMonitors and %d ServiceMonitors", path, monitor, len(pms), len(sms))
	}
	if honor != (path == scalequery.Sidecar) {
		t.Errorf("%v: honorLabels %v", path, honor)
	}
	if sel["app.kubernetes.io/name"] != deployment || len(sel) != 1 {
		t.Errorf("selector %v", sel)
	}
}

// TestChartRulesAndDashboard: the PrometheusRule carries the groups of
// examples/prometheus/rules.yml and the ConfigMap the dashboard of
// examples/dashboard, unchanged; both can be turned off; the extra labels
// of the rules and the monitor are applied.
func TestChartRulesAndDashboard(t *testing.T) {
	objs := decodeManifest(t, render(t, map[string]any{
		"deployment":    "checkout",
		"rules":         map[string]any{"labels": map[string]any{"release": "kps"}},
		"monitorLabels": map[string]any{"release": "kps"},
	}))
	if pm := only[*monitoringv1.PodMonitor](t, objs); pm.Labels["release"] != "kps" {
		t.Errorf("monitorLabels not applied: %v", pm.Labels)
	}
	rulesFile, err := os.ReadFile(filepath.Join("..", "..", "prometheus", "rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var want monitoringv1.PrometheusRuleSpec
	if err := strictUnmarshal(rulesFile, &want); err != nil {
		t.Fatal(err)
	}
	rule := only[*monitoringv1.PrometheusRule](t, objs)
	if g, w := mustJSON(t, rule.Spec), mustJSON(t, want); g != w || len(want.Groups) == 0 {
		t.Errorf("PrometheusRule spec differs from rules.yml")
	}
	if rule.Labels["release"] != "kps" {
		t.Errorf("rules.labels not applied: %v", rule.Labels)
	}
	dashboard, err := os.ReadFile(filepath.Join("..", "..", "dashboard", "runway-runway.json"))
	if err != nil {
		t.Fatal(err)
	}
	cm := only[*corev1.ConfigMap](t, objs)
	if got := cm.Data["runway-runway.json"]; strings.TrimSpace(got) != strings.TrimSpace(string(dashboard)) || !json.Valid([]byte(got)) {
		t.Errorf("dashboard ConfigMap differs from runway-runway.json")
	}
	if cm.Labels["grafana_dashboard"] != "1" {
		t.Errorf("dashboard labels %v", cm.Labels)
	}

	off := decodeManifest(t, render(t, map[string]any{"deployment": "checkout", "rules": map[string]any{"enabled": false}, "dashboard": map[string]any{"enabled": false}}))
	if len(off) != 2 {
		t.Errorf("rules and dashboard off: %d objects, want the monitor and the ScaledObject", len(off))
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestChartRejects: values the chart cannot render fail with a message that
// names them.
func TestChartRejects(t *testing.T) {
	for _, tc := range []struct {
		values map[string]any
		want   string
	}{
		{map[string]any{}, "deployment"},
		{map[string]any{"deployment": "x", "path": "push"}, `path "push"`},
		{map[string]any{"deployment": "x", "monitor": "Probe"}, `monitor "Probe"`},
	} {
		_, err := Render(Dir, "runway", "default", tc.values)
		if err == nil || !regexp.MustCompile(regexp.QuoteMeta(tc.want)).MatchString(err.Error()) {
			t.Errorf("values %v: error %v, want one naming %s", tc.values, err, tc.want)
		}
	}
}
