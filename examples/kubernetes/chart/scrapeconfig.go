package chart

import (
	"fmt"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus-operator/prometheus-operator/pkg/assets"
	"github.com/prometheus-operator/prometheus-operator/pkg/operator"
	"github.com/prometheus-operator/prometheus-operator/pkg/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// PrometheusVersion is the version of the Prometheus resource the scrape
// configs are generated for: the operator's default.
var PrometheusVersion = operator.DefaultPrometheusVersion

// ScrapeConfigs returns the scrape_configs that the Prometheus Operator's
// own config generation writes for the monitors (the operator's
// ConfigGenerator, as it runs for a Prometheus resource that selects them,
// with the EndpointSlice role for ServiceMonitors), as YAML. The
// config-reloader's run-time placeholders $(SHARD) and $(POD_NAME) are filled
// in as on shard 0 of a Prometheus named prometheus-k8s.
func ScrapeConfigs(podMonitors []*monitoringv1.PodMonitor, serviceMonitors []*monitoringv1.ServiceMonitor) ([]byte, error) {
	prom := &monitoringv1.Prometheus{
		ObjectMeta: metav1.ObjectMeta{Name: "k8s", Namespace: "monitoring"},
		Spec: monitoringv1.PrometheusSpec{
			CommonPrometheusFields: monitoringv1.CommonPrometheusFields{
				Version:              PrometheusVersion,
				ScrapeInterval:       "30s",
				ServiceDiscoveryRole: ptr.To(monitoringv1.EndpointSliceRole),
			},
		},
	}
	cg, err := prometheus.NewConfigGenerator(nil, prom, prometheus.WithEndpointSliceSupport())
	if err != nil {
		return nil, err
	}
	pm := map[string]*monitoringv1.PodMonitor{}
	for _, m := range podMonitors {
		pm[m.Namespace+"/"+m.Name] = m
	}
	sm := map[string]*monitoringv1.ServiceMonitor{}
	for _, m := range serviceMonitors {
		sm[m.Namespace+"/"+m.Name] = m
	}
	out, err := cg.GenerateServerConfiguration(prom, sm, pm, nil, nil, assets.NewTestStoreBuilder(), nil, nil, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("operator config generation: %w", err)
	}
	filled := strings.NewReplacer("$(SHARD)", "0", "$(POD_NAME)", "prometheus-k8s-0").Replace(string(out))
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(filled), &cfg); err != nil {
		return nil, err
	}
	return yaml.Marshal(map[string]any{"scrape_configs": cfg["scrape_configs"]})
}
