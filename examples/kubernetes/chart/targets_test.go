package chart

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/otel-runway/runway/examples/scalequery"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// The families the label sets are recorded for.
var families = []string{"runway_requests_in_flight", "runway_requests_in_flight_time_seconds_total"}

// labelCase is one monitor on one Deployment: the labels it gives are
// recorded in testdata/labels/<name>.json and its scrape configs in
// testdata/scrape-configs/<name>.yaml.
type labelCase struct {
	name string
	// monitors: a file of examples/kubernetes, or a rendering of
	// testdata/rendered.
	monitors string
	// sidecar: the pod runs the collector sidecar of deployment.yaml, whose
	// Prometheus endpoint is port "metrics"; otherwise the app serves its
	// own metrics there (the direct-scrape set-up deployment.yaml
	// describes).
	sidecar bool
	// service: the Service of service.yaml and its EndpointSlice exist.
	service bool
}

var labelCases = []labelCase{
	{"podmonitor", "../podmonitor.yaml", true, false},
	{"servicemonitor", "../servicemonitor.yaml", true, true},
	{"chart-scrape-podmonitor", "testdata/rendered/scrape-podmonitor.yaml", false, false},
	{"chart-scrape-servicemonitor", "testdata/rendered/scrape-servicemonitor.yaml", false, true},
	{"chart-sidecar-podmonitor", "testdata/rendered/sidecar-podmonitor.yaml", true, false},
	{"chart-sidecar-servicemonitor", "testdata/rendered/sidecar-servicemonitor.yaml", true, true},
}

// labelsRecord is the content of testdata/labels/<case>.json.
type labelsRecord struct {
	Monitors string `json:"monitors"`
	Pod      string `json:"pod"`
	// Exposed is what the pod's metrics endpoint exposes (the labels of
	// each series); Targets what Prometheus stores.
	Exposed []map[string]string `json:"exposed"`
	Targets []Target            `json:"targets"`
}

func readObject(t *testing.T, file string, kind string, obj any) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		if !regexp.MustCompile(`(?m)^kind: ` + kind + `$`).MatchString(doc) {
			continue
		}
		if err := strictUnmarshal([]byte(doc), obj); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		return
	}
	t.Fatalf("%s: no %s", file, kind)
}

// demoDeployment returns examples/kubernetes/deployment.yaml, or with
// sidecar false its direct-scrape alternative: no collector, and the app
// serving its metrics on the port "metrics" (9091).
func demoDeployment(t *testing.T, sidecar bool) *appsv1.Deployment {
	t.Helper()
	d := new(appsv1.Deployment)
	readObject(t, "../deployment.yaml", "Deployment", d)
	if !sidecar {
		spec := &d.Spec.Template.Spec
		spec.InitContainers = nil
		spec.Volumes = nil
		app := &spec.Containers[0]
		app.Args = append(app.Args, "-metrics-addr=:9091")
		app.Ports = append(app.Ports, corev1.ContainerPort{Name: "metrics", ContainerPort: 9091})
		for i, e := range app.Env {
			if e.Name == "OTEL_METRICS_EXPORTER" {
				app.Env[i].Value = "prometheus"
			}
		}
	}
	return d
}

// exposition serves what the pod's metrics port exposes: the app's own
// series, without job or instance; or the collector's, which carry job and
// instance from service.name and service.instance.id (the pod's name, as
// deployment.yaml sets it).
func exposition(sidecar bool, pod string) (http.Handler, []map[string]string) {
	reg := prometheus.NewRegistry()
	var labels prometheus.Labels
	if sidecar {
		labels = prometheus.Labels{"job": "runway-demo", "instance": pod}
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: families[0], ConstLabels: labels})
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: families[1], ConstLabels: labels})
	g.Set(3)
	c.Add(42)
	reg.MustRegister(g, c)
	var exposed []map[string]string
	for _, f := range families {
		m := map[string]string{"__name__": f}
		for k, v := range labels {
			m[k] = v
		}
		exposed = append(exposed, m)
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), exposed
}

// TestTargetLabels: the Prometheus Operator's config generation turns each
// monitor into the scrape configs of testdata/scrape-configs, and
// Prometheus' service discovery and scrape loop turn those, for the demo
// Deployment's pod, into the label sets of testdata/labels. Whatever they
// are, up and every scraped series must carry the namespace and the pod
// name that scalequery's selector matches, on every monitor.
func TestTargetLabels(t *testing.T) {
	if testing.Short() {
		t.Skip("scrapes each target once: up to one scrape interval (5 s) a case")
	}
	for _, tc := range labelCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := demoDeployment(t, tc.sidecar)
			pod := Pod(d)
			var pms []*monitoringv1.PodMonitor
			var sms []*monitoringv1.ServiceMonitor
			var svc *corev1.Service
			var slice *discoveryv1.EndpointSlice
			if tc.service {
				sm := new(monitoringv1.ServiceMonitor)
				readObject(t, tc.monitors, "ServiceMonitor", sm)
				sms = append(sms, sm)
				svc = new(corev1.Service)
				readObject(t, "../service.yaml", "Service", svc)
				var err error
				if slice, err = EndpointSlice(svc, pod); err != nil {
					t.Fatal(err)
				}
			} else {
				pm := new(monitoringv1.PodMonitor)
				readObject(t, tc.monitors, "PodMonitor", pm)
				pms = append(pms, pm)
			}

			cfg, err := ScrapeConfigs(pms, sms)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("scrape-configs", tc.name+".yaml"), cfg)

			groups := Discover(pod, svc, slice)
			handler, exposed := exposition(tc.sidecar, pod.Name)
			targets, err := Scrape(context.Background(), cfg, groups, handler, families...)
			if err != nil {
				t.Fatal(err)
			}
			rec, err := json.MarshalIndent(labelsRecord{Monitors: tc.monitors, Pod: pod.Name, Exposed: exposed, Targets: targets}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("labels", tc.name+".json"), append(rec, '\n'))

			if len(targets) != 1 {
				t.Fatalf("%d targets, want the pod's one metrics port: %+v", len(targets), targets)
			}
			spec := scalequery.Spec{Namespace: d.Namespace, Deployment: d.Name}
			podRE := regexp.MustCompile("^(?:" + spec.PodPattern() + ")$")
			tg := targets[0]
			if tg.Up["namespace"] != d.Namespace || !podRE.MatchString(tg.Up["pod"]) {
				t.Errorf("up %v: namespace/pod not matched by scalequery's selector", tg.Up)
			}
			if len(tg.Series) != len(families) {
				t.Errorf("%d series stored, want %d", len(tg.Series), len(families))
			}
			for _, s := range tg.Series {
				if s["namespace"] != tg.Up["namespace"] || s["pod"] != tg.Up["pod"] {
					t.Errorf("series %v: namespace/pod differ from up's", s)
				}
				// Under honorLabels the series keep the exposition's job
				// and instance; only namespace and pod join them to up.
				if tc.sidecar && (s["job"] != "runway-demo" || s["instance"] != pod.Name) {
					t.Errorf("series %v: not the collector's job and instance", s)
				}
				if !tc.sidecar && (s["job"] != tg.Up["job"] || s["instance"] != tg.Up["instance"]) {
					t.Errorf("series %v: job/instance differ from up's %v", s, tg.Up)
				}
			}
			t.Logf("up%v", tg.Up)
		})
	}
}
