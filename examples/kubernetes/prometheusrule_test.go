package kubernetes

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
)

// TestPrometheusRuleMatchesRulesFile: each PrometheusRule carries exactly
// the groups of its rule file in examples/prometheus (which promtool
// tests): prometheusrule.yaml those of rules.yml, prometheusrule-otel.yaml
// those of rules-otel.yml, all decoded strictly into the Prometheus
// Operator's types.
func TestPrometheusRuleMatchesRulesFile(t *testing.T) {
	for manifest, rules := range map[string]string{
		"prometheusrule.yaml":      "rules.yml",
		"prometheusrule-otel.yaml": "rules-otel.yml",
	} {
		t.Run(manifest, func(t *testing.T) { prometheusRuleMatches(t, manifest, rules) })
	}
}

func prometheusRuleMatches(t *testing.T, manifest, rules string) {
	data, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	var pr monitoringv1.PrometheusRule
	if err := strictUnmarshal(data, &pr); err != nil {
		t.Fatalf("%s: %v", manifest, err)
	}
	data, err = os.ReadFile(filepath.Join("..", "prometheus", rules))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []monitoringv1.RuleGroup `json:"groups"`
	}
	if err := strictUnmarshal(data, &file); err != nil {
		t.Fatalf("examples/prometheus/%s: %v", rules, err)
	}
	if len(file.Groups) == 0 {
		t.Fatalf("%s has no groups", rules)
	}
	if !reflect.DeepEqual(pr.Spec.Groups, file.Groups) {
		t.Errorf("%s and examples/prometheus/%s differ: copy the groups of %s under spec:", manifest, rules, rules)
	}
	alerts := 0
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				alerts++
				if r.Annotations["runbook_url"] == "" {
					t.Errorf("%s: no runbook_url", r.Alert)
				}
			}
		}
	}
	if alerts == 0 {
		t.Error("no alerts in the PrometheusRule")
	}
}

// TestAtMaxReplicasThresholdIsKEDAs: the alert about the autoscaling
// ceiling compares the pods with the ScaledObject's threshold.
func TestAtMaxReplicasThresholdIsKEDAs(t *testing.T) {
	so := only[*scaledObject](t, manifests(t))
	if len(so.Spec.Triggers) == 0 {
		t.Fatal("the ScaledObject has no trigger")
	}
	threshold := so.Spec.Triggers[0].Metadata["threshold"]
	data, err := os.ReadFile("prometheusrule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var pr monitoringv1.PrometheusRule
	if err := strictUnmarshal(data, &pr); err != nil {
		t.Fatal(err)
	}
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert != "RunwayAtMaxReplicas" {
				continue
			}
			m := regexp.MustCompile(`:avg >= ([0-9.]+)\s`).FindStringSubmatch(r.Expr.String())
			if m == nil || m[1] != threshold {
				t.Errorf("RunwayAtMaxReplicas compares with %v, the ScaledObject's threshold is %s:\n%s", m, threshold, r.Expr.String())
			}
			return
		}
	}
	t.Error("no alert RunwayAtMaxReplicas")
}
