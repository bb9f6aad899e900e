package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otel-runway/runway/examples/scalequery"
	"sigs.k8s.io/yaml"
)

// The label sets that the Prometheus Operator and Prometheus give the demo
// Deployment's pod, recorded by examples/kubernetes/chart (its
// TestTargetLabels regenerates them with the operator's and Prometheus' own
// code), and the chart's renderings.
const chartTestdata = "examples/kubernetes/chart/testdata"

// labelsRecord is a testdata/labels/<case>.json of the chart module.
type labelsRecord struct {
	Pod     string              `json:"pod"`
	Exposed []map[string]string `json:"exposed"`
	Targets []struct {
		Up     map[string]string   `json:"up"`
		Series []map[string]string `json:"series"`
	} `json:"targets"`
}

// anyTimeWeighted has a value once the time-weighted form has one for
// every series, whatever their labels.
const anyTimeWeighted = "avg_over_time(irate(runway_requests_in_flight_time_seconds_total[1m])[1m:1s])"

// heldInLabelTest is the number of requests each pod holds.
const heldInLabelTest = 3

// queryCase is one generated query and what it must return.
type queryCase struct {
	name, query string
	// want is the value the one series must have, within tolerance (a
	// fraction); a negative want checks only that there is one series.
	want, tolerance float64
}

// scalequeryCases are every form of scalequery, total and per pod, for the
// namespace and Deployment of pod on path.
func scalequeryCases(t *testing.T, path scalequery.Path, namespace, deployment string) []queryCase {
	t.Helper()
	n := float64(heldInLabelTest)
	var out []queryCase
	for _, form := range []scalequery.Form{scalequery.TimeWeighted, scalequery.Gauge, scalequery.Rate, scalequery.IRate, scalequery.AvgIRate, scalequery.RPS} {
		for _, perPod := range []bool{false, true} {
			spec := scalequery.Spec{Namespace: namespace, Deployment: deployment, Path: path, Form: form, PerPod: perPod}
			q, err := spec.Query()
			if err != nil {
				t.Fatal(err)
			}
			c := queryCase{name: fmt.Sprintf("%v %v per-pod=%v", path, form, perPod), query: q, want: -1}
			switch form {
			case scalequery.Gauge:
				c.want = n
			case scalequery.TimeWeighted, scalequery.IRate, scalequery.AvgIRate:
				c.want, c.tolerance = n, 0.1
			}
			// Rate reads a new pod low for a window, and RPS counts the few
			// finished requests: one series is what they must give.
			out = append(out, c)
		}
	}
	return out
}

// renderedQuery returns the query of the ScaledObject in a rendering of the
// chart.
func renderedQuery(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, chartTestdata, "rendered", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var so struct {
			Kind string `json:"kind"`
			Spec struct {
				Triggers []struct {
					Metadata map[string]string `json:"metadata"`
				} `json:"triggers"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal([]byte(doc), &so); err != nil {
			t.Fatal(err)
		}
		if so.Kind == "ScaledObject" {
			return so.Spec.Triggers[0].Metadata["query"]
		}
	}
	t.Fatalf("%s: no ScaledObject", name)
	return ""
}

// checkQueries runs every case and fails on a query that returns nothing,
// more than one series, or a wrong value.
func checkQueries(t *testing.T, prom *prometheus, cases []queryCase) {
	t.Helper()
	for _, c := range cases {
		res, err := prom.query(c.query)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(res) != 1 {
			t.Errorf("%s: %d series, want 1: %s -> %v", c.name, len(res), c.query, res)
			continue
		}
		v := res[0].float(t)
		if c.want >= 0 && math.Abs(v-c.want) > c.tolerance*c.want {
			t.Errorf("%s: %s = %v, want %v (±%.0f %%)", c.name, c.query, v, c.want, 100*c.tolerance)
			continue
		}
		t.Logf("%s: %s = %v", c.name, c.query, v)
	}
}

// TestQueriesOnOperatorLabels: for each monitor (the repository's PodMonitor
// and ServiceMonitor, and the chart's for the scrape and sidecar paths), a
// real Prometheus scrapes a demo process (through the collector sidecar where
// the pod has one) as a target with exactly the labels the operator's rules
// give it, and honor_labels as the monitor sets it. The pod holds 3
// requests from before its first scrape; from the second scrape on, every
// query scalequery generates for the path, and the chart's ScaledObject
// query, returns one series: 3 for the gauge, 3 within 10 % for the
// time-weighted forms.
func TestQueriesOnOperatorLabels(t *testing.T) {
	bin := prometheusBin(t)
	files, err := filepath.Glob(filepath.Join(repoRoot, chartTestdata, "labels", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no label sets in %s: %v", chartTestdata, err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			var rec labelsRecord
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &rec); err != nil {
				t.Fatal(err)
			}
			if len(rec.Targets) != 1 {
				t.Fatalf("%d targets", len(rec.Targets))
			}
			up := rec.Targets[0].Up
			var sc struct {
				ScrapeConfigs []struct {
					HonorLabels bool   `json:"honor_labels"`
					MetricsPath string `json:"metrics_path"`
				} `json:"scrape_configs"`
			}
			cfgData, err := os.ReadFile(filepath.Join(repoRoot, chartTestdata, "scrape-configs", name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(cfgData, &sc); err != nil || len(sc.ScrapeConfigs) != 1 {
				t.Fatalf("scrape configs: %v, %d jobs", err, len(sc.ScrapeConfigs))
			}
			sidecar := rec.Exposed[0]["instance"] != ""

			// The pod: the demo, pushing to a collector sidecar or serving
			// its own metrics.
			// The collector serves the last value pushed, without a
			// timestamp: Prometheus stamps it with the scrape's time. A push
			// 20 times per scrape keeps an irate over two scrapes within
			// 5 % of the pod's concurrency (a push at the scrape interval
			// could read 0 or twice the load).
			scrapeInterval := time.Second
			var addr, metricsURL string
			var match map[string]string
			if sidecar {
				scrapeInterval = 2 * time.Second
				col := newCollector(t, "sidecar.yaml")
				col.start()
				app := startDemo(t, rec.Pod, nil, "-otlp-endpoint", col.GRPC, "-interval", "100ms")
				holdBeforeScrape(t, app)
				metricsURL, match = col.PromURL, map[string]string{"instance": rec.Pod}
			} else {
				app := startDemo(t, rec.Pod, nil)
				holdBeforeScrape(t, app)
				metricsURL = app.MetricsURL
			}
			valueAt(t, 10*time.Second, metricsURL, inFlight, match, heldInLabelTest)
			u, err := url.Parse(metricsURL)
			if err != nil {
				t.Fatal(err)
			}
			addr = u.Host
			if u.Path != sc.ScrapeConfigs[0].MetricsPath {
				t.Fatalf("metrics at %s, the monitor scrapes %s", u.Path, sc.ScrapeConfigs[0].MetricsPath)
			}

			// Prometheus with one target carrying the operator's target
			// labels (job and instance included: static labels win over
			// job_name and the address).
			labels := map[string]string{}
			for k, v := range up {
				if k != "__name__" {
					labels[k] = v
				}
			}
			dir := t.TempDir()
			prom := runPrometheus(t, "prometheus", bin, dir, map[string]any{
				"global": map[string]any{"scrape_interval": scrapeInterval.String(), "evaluation_interval": "1s"},
				"scrape_configs": []map[string]any{{
					"job_name":       "k8s",
					"honor_labels":   sc.ScrapeConfigs[0].HonorLabels,
					"metrics_path":   sc.ScrapeConfigs[0].MetricsPath,
					"static_configs": []map[string]any{{"targets": []string{addr}, "labels": labels}},
				}},
			}, "--web.console.templates="+dir, "--web.console.libraries="+dir)

			path := scalequery.Scrape
			if sidecar {
				path = scalequery.Sidecar
			}
			ns, deployment := up["namespace"], strings.TrimSuffix(rec.Pod, "-7d9f8c6b5-x2k4q")
			cases := scalequeryCases(t, path, ns, deployment)
			if chartCase, ok := strings.CutPrefix(name, "chart-"); ok {
				cases = append(cases, queryCase{"the chart's ScaledObject", renderedQuery(t, chartCase), heldInLabelTest, 0.1})
			}
			// From the second scrape, when the time-weighted form first has
			// a value (selecting nothing: a wrong selector must fail in
			// checkQueries, by name).
			took := waitFor(t, 20*time.Second, "the time-weighted form has a value", func() (bool, string) {
				res, err := prom.query(anyTimeWeighted)
				return err == nil && len(res) > 0, fmt.Sprint(res, err)
			})
			t.Logf("time-weighted query answers %v after Prometheus was ready", took.Round(time.Millisecond))
			res, err := prom.query(`up`)
			if err == nil && len(res) == 1 {
				t.Logf("up%v", res[0].Metric)
			}
			res, err = prom.query(inFlight)
			if err == nil && len(res) == 1 {
				t.Logf("%s%v", inFlight, res[0].Metric)
			}
			checkQueries(t, prom, cases)
		})
	}
}

// holdBeforeScrape finishes a few requests (so the request counter has a
// series) and holds heldInLabelTest requests at app.
func holdBeforeScrape(t *testing.T, app *demo) {
	t.Helper()
	for range 3 {
		get(t, app.URL+"/work?ms=1")
	}
	hold(t, app.URL, heldInLabelTest)
}

// TestQueriesOTLPPrometheus3: the demo pushes OTLP straight into Prometheus
// 3 with k8s.namespace.name and k8s.pod.name of the Deployment's pod, which
// Prometheus promotes to labels. From the second push, every query
// scalequery generates for the OTLP path, and the chart's otlp ScaledObject
// query, returns one series: 3 for the gauge, 3 within 10 % for the
// time-weighted forms.
func TestQueriesOTLPPrometheus3(t *testing.T) {
	prom := startPrometheus3(t, []string{"k8s.namespace.name", "k8s.pod.name"})
	const namespace, deployment = "default", "runway-demo"
	pod := deployment + "-7d9f8c6b5-x2k4q"
	app := startDemo(t, pod, []string{
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + prom.URL + "/api/v1/otlp",
		"OTEL_METRIC_EXPORT_INTERVAL=" + strconv.Itoa(int(time.Second/time.Millisecond)),
		"OTEL_RESOURCE_ATTRIBUTES=k8s.namespace.name=" + namespace + ",k8s.pod.name=" + pod,
	})
	holdBeforeScrape(t, app)
	cases := scalequeryCases(t, scalequery.OTLP, namespace, deployment)
	// A push before the requests were held would make the first
	// time-weighted points low: the premise of a pod loaded from its first
	// push.
	inFlightSel := inFlight + `{k8s_pod_name="` + pod + `"}`
	waitFor(t, 20*time.Second, "the pod's first push", func() (bool, string) {
		res, err := prom.query(inFlightSel)
		return err == nil && len(res) == 1, fmt.Sprint(res, err)
	})
	if v := prom.scalar(t, "min_over_time("+inFlightSel+"[5m])"); v != heldInLabelTest {
		t.Fatalf("a push with %v requests in flight before the %d were held (the machine is too slow for this test's premise)", v, heldInLabelTest)
	}
	cases = append(cases, queryCase{"the chart's ScaledObject", renderedQuery(t, "otlp"), heldInLabelTest, 0.1})
	took := waitFor(t, 20*time.Second, "the time-weighted form has a value", func() (bool, string) {
		res, err := prom.query(anyTimeWeighted)
		return err == nil && len(res) > 0, fmt.Sprint(res, err)
	})
	t.Logf("time-weighted query answers %v after the demo started", took.Round(time.Millisecond))
	res, err := prom.query(inFlight)
	if err == nil && len(res) == 1 {
		t.Logf("%s%v", inFlight, res[0].Metric)
	}
	checkQueries(t, prom, cases)
}
