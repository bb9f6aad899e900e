package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"sigs.k8s.io/yaml"
)

// prometheusBin finds the Prometheus server binary. Without it the test is
// skipped, except in CI (CI set), where it fails.
func prometheusBin(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"prometheus", "/usr/bin/prometheus"} {
		if bin, err := exec.LookPath(p); err == nil {
			return bin
		}
	}
	msg := "the Prometheus server binary is not installed (Debian: apt-get install -y --no-install-recommends prometheus)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// prometheus is a Prometheus server on a free loopback port with its own
// storage directory.
type prometheus struct {
	URL string
}

// target is one scrape target with the labels the Prometheus Operator would
// give a pod.
type target struct {
	addr, namespace, pod string
}

func startPrometheus(t *testing.T, targets []target) *prometheus {
	t.Helper()
	bin := prometheusBin(t)
	dir := t.TempDir()
	type staticConfig struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	var statics []staticConfig
	for _, tg := range targets {
		statics = append(statics, staticConfig{[]string{tg.addr}, map[string]string{"namespace": tg.namespace, "pod": tg.pod}})
	}
	config := map[string]any{
		"global": map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"},
		"scrape_configs": []map[string]any{{
			"job_name":       "runway-demo",
			"honor_labels":   true,
			"static_configs": statics,
		}},
	}
	return runPrometheus(t, "prometheus", bin, dir, config,
		"--web.console.templates="+dir, "--web.console.libraries="+dir)
}

// runPrometheus runs the Prometheus server bin with config (written to dir,
// storage in dir/data) on a free loopback port, with extra flags, and waits
// until it is ready.
func runPrometheus(t *testing.T, name, bin, dir string, config map[string]any, flags ...string) *prometheus {
	t.Helper()
	data, err := yaml.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	proc := startProcess(t, name, environ(), bin, append([]string{
		"--config.file=" + cfgFile,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
	}, flags...)...)
	p := &prometheus{URL: "http://" + addr}
	waitFor(t, 60*time.Second, name+" ready", func() (bool, string) {
		if proc.exited() {
			t.Fatalf("%s exited: %s", name, tail(proc.log.String(), 3000))
		}
		resp, err := http.Get(p.URL + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return p
}

// promSample is one element of an instant vector from the HTTP API.
type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// query runs an instant PromQL query through Prometheus' HTTP API, at the
// server's current time.
func (p *prometheus) query(q string) ([]promSample, error) {
	return p.instantQuery(url.Values{"query": {q}})
}

// instantQuery runs /api/v1/query with the parameters v.
func (p *prometheus) instantQuery(v url.Values) ([]promSample, error) {
	resp, err := http.Get(p.URL + "/api/v1/query?" + v.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []promSample `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", v.Get("query"), body.Error)
	}
	return body.Data.Result, nil
}

func (s promSample) float(t *testing.T) float64 {
	t.Helper()
	str, _ := s.Value[1].(string)
	v, err := strconv.ParseFloat(str, 64)
	if err != nil {
		t.Fatalf("sample value %v: %v", s.Value, err)
	}
	return v
}

// scalar runs q and returns its single value.
func (p *prometheus) scalar(t *testing.T, q string) float64 {
	t.Helper()
	res, err := p.query(q)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("query %q returned %d series, want 1: %+v", q, len(res), res)
	}
	return res[0].float(t)
}

// manifest decodes a file of examples/kubernetes loosely (the strict test
// lives in that module).
func manifest(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "examples", "kubernetes", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// hpaDesired is the HPA's replica calculation for one metric:
//   - Value target (KEDA metricType Value): ceil(current × value / target)
//   - AverageValue target of an External metric (KEDA's default): the HPA
//     divides the value by the current replica count itself, so
//     ceil(current × (value/current) / target) = ceil(value / target)
//   - Pods metric (prometheus-adapter): ceil(current × avg(per-pod) / target)
//
// A ratio of value to target within the HPA's 10 % tolerance keeps the
// current count, as the HPA does: a time-weighted value of 15.02 for 15
// requests must not ask for a fourth replica.
func hpaDesired(metricType string, current int, value, target float64) int {
	ratio := value / target // Value
	if metricType != "Value" {
		ratio = value / (target * float64(current)) // AverageValue
	}
	if math.Abs(ratio-1) <= 0.1 {
		return current
	}
	return int(math.Ceil(ratio * float64(current)))
}

// TestPrometheusAutoscalingQueries: a real Prometheus scrapes three demo
// instances holding 2, 4 and 9 requests. The documented queries return the
// per-pod average 5, and the KEDA and HPA set-ups of examples/kubernetes
// ask for the replica count the HPA formula gives for that average.
func TestPrometheusAutoscalingQueries(t *testing.T) {
	prometheusBin(t)
	heldPerPod := []int{2, 4, 9}
	var targets []target
	var apps []*demo
	for i := range heldPerPod {
		pod := fmt.Sprintf("runway-demo-7d9f8c6b5-pod%02d", i) // a Deployment's pod name
		app := startDemo(t, pod, nil)
		apps = append(apps, app)
		targets = append(targets, target{strings.TrimPrefix(app.URL, "http://"), "default", pod})
	}
	// The requests are held before Prometheus starts, so every series
	// appears with its load (new pods), as the time-weighted query expects.
	sum := 0
	for i, n := range heldPerPod {
		hold(t, apps[i].URL, n)
		valueAt(t, 10*time.Second, apps[i].MetricsURL, "runway_requests_in_flight", nil, float64(n))
		sum += n
	}
	prom := startPrometheus(t, targets)
	current := len(heldPerPod)
	avg := float64(sum) / float64(current)
	sel := `{namespace="default",pod=~"runway-demo-[a-z0-9]+-[a-z0-9]{5}"}`
	took := waitFor(t, 15*time.Second, "prometheus has the held requests", func() (bool, string) {
		res, err := prom.query("sum(runway_requests_in_flight" + sel + ") and count(runway_requests_in_flight" + sel + ") == 3")
		if err != nil || len(res) != 1 {
			return false, fmt.Sprint(res, err)
		}
		v := res[0].float(t)
		return v == float64(sum), fmt.Sprint(v)
	})
	t.Logf("held requests visible through Prometheus after %v", took.Round(time.Millisecond))

	var so struct {
		Spec struct {
			Triggers []struct {
				MetricType string            `json:"metricType"`
				Metadata   map[string]string `json:"metadata"`
			} `json:"triggers"`
		} `json:"spec"`
	}
	manifest(t, "keda-scaledobject.yaml", &so)
	trigger := so.Spec.Triggers[0]
	threshold, err := strconv.ParseFloat(trigger.Metadata["threshold"], 64)
	if err != nil {
		t.Fatal(err)
	}
	// What the right answer is, from the numbers held: the average pod holds
	// 5, so with a target of 5 the HPA wants ceil(3 × 5 / 5) = 3 replicas.
	want := int(math.Ceil(float64(current) * avg / threshold))

	// The time-weighted forms need two scrapes of each pod, and then one
	// step of their subquery.
	perPodTime := "avg(sum by (namespace, pod) (avg_over_time(irate(runway_requests_in_flight_time_seconds_total" + sel + "[1m])[1m:1s]) and on(namespace, pod) up" + sel + "))"
	waitFor(t, 15*time.Second, "two scrapes of the time-weighted counter", func() (bool, string) {
		res, err := prom.query("count(avg_over_time(irate(runway_requests_in_flight_time_seconds_total" + sel + "[1m])[1m:1s])) == 3")
		return err == nil && len(res) == 1, fmt.Sprint(res, err)
	})

	cases := []struct {
		name, query, metricType string
		correct                 bool
	}{
		{"keda-scaledobject.yaml", trigger.Metadata["query"], trigger.MetricType, true},
		{"time-weighted per-pod average with Value", perPodTime, "Value", true},
		{"per-pod average with Value", "avg(sum by (namespace, pod) (runway_requests_in_flight" + sel + "))", "Value", true},
		{"per-pod average query with the default AverageValue divides twice", "sum(runway_requests_in_flight" + sel + ") / count(up)", "AverageValue", false},
		{"avg with AverageValue divides twice", "avg(runway_requests_in_flight" + sel + ")", "AverageValue", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := prom.scalar(t, tc.query)
			got := hpaDesired(tc.metricType, current, v, threshold)
			t.Logf("%s  [%s] = %v -> desired %d replicas (want %d)", tc.query, tc.metricType, v, got, want)
			if tc.correct && got != want {
				t.Errorf("desired %d replicas, want %d", got, want)
			}
			if !tc.correct && got == want {
				t.Errorf("the trap gives the right answer %d: the test does not discriminate", got)
			}
		})
	}

	t.Run("docs/autoscaling.md shows these queries", func(t *testing.T) {
		doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "autoscaling.md"))
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{trigger.Metadata["query"], cases[1].query, "metricType: " + trigger.MetricType} {
			if !strings.Contains(string(doc), q) {
				t.Errorf("docs/autoscaling.md does not show %q", q)
			}
		}
	})

	t.Run("per-pod average is 5", func(t *testing.T) {
		if got := prom.scalar(t, "avg(runway_requests_in_flight"+sel+")"); got != avg {
			t.Errorf("avg = %v, want %v", got, avg)
		}
		if got := prom.scalar(t, "sum(runway_requests_in_flight"+sel+") / count(runway_requests_in_flight"+sel+")"); got != avg {
			t.Errorf("sum/count = %v, want %v", got, avg)
		}
	})

	t.Run("prometheus-adapter rule and hpa.yaml", func(t *testing.T) {
		var cm struct {
			Data map[string]string `json:"data"`
		}
		manifest(t, "prometheus-adapter-config.yaml", &cm)
		var cfg struct {
			Rules []struct {
				MetricsQuery string `json:"metricsQuery"`
			} `json:"rules"`
		}
		if err := yaml.Unmarshal([]byte(cm.Data["config.yaml"]), &cfg); err != nil {
			t.Fatal(err)
		}
		// Render the rule as prometheus-adapter does for
		// GET .../namespaces/default/pods/*/runway_requests_in_flight.
		tmpl, err := template.New("q").Delims("<<", ">>").Parse(cfg.Rules[0].MetricsQuery)
		if err != nil {
			t.Fatal(err)
		}
		var q bytes.Buffer
		err = tmpl.Execute(&q, map[string]string{
			"Series":        "runway_requests_in_flight",
			"LabelMatchers": `namespace="default",pod=~"runway-demo-7d9f8c6b5-pod00|runway-demo-7d9f8c6b5-pod01|runway-demo-7d9f8c6b5-pod02"`,
			"GroupBy":       "pod",
		})
		if err != nil {
			t.Fatal(err)
		}
		res, err := prom.query(q.String())
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != current {
			t.Fatalf("adapter query %s returned %d pods, want %d", q.String(), len(res), current)
		}
		var perPod float64
		for _, s := range res {
			perPod += s.float(t)
		}
		perPod /= float64(len(res))

		var hpa struct {
			Spec struct {
				Metrics []struct {
					Pods struct {
						Target struct {
							AverageValue string `json:"averageValue"`
						} `json:"target"`
					} `json:"pods"`
				} `json:"metrics"`
			} `json:"spec"`
		}
		manifest(t, "hpa.yaml", &hpa)
		target, err := strconv.ParseFloat(hpa.Spec.Metrics[0].Pods.Target.AverageValue, 64)
		if err != nil {
			t.Fatal(err)
		}
		got := hpaDesired("Value", current, perPod, target) // Pods: current × avg / target
		t.Logf("%s -> %d pods, average %v -> desired %d replicas", q.String(), len(res), perPod, got)
		if want := int(math.Ceil(float64(current) * avg / target)); got != want {
			t.Errorf("desired %d replicas, want %d", got, want)
		}
	})
}
