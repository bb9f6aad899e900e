package sweep

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/otel-runway/runway/examples/scalequery"
)

// outputResult is the result the output tests write: a short real sweep
// against a 2-slot server, or under -short the same shape built from fixed
// levels through Analyze and Recommend.
func outputResult(t *testing.T) *Result {
	t.Helper()
	if !testing.Short() {
		return smallSweep(t)
	}
	levels := []Level{lv(1, 100, .011), lv(2, 199, .012), lv(4, 201, .031), lv(8, 200, .061)}
	for i := range levels {
		in, agrees := float64(levels[i].Concurrency), true
		levels[i].ServerInFlight, levels[i].ServerAgrees, levels[i].Status = &in, &agrees, ""
	}
	a := Analyze(levels)
	for i := range levels {
		levels[i].Status = a.Statuses[i]
	}
	return &Result{Target: "http://127.0.0.1:1/work", Method: "GET", MetricsURL: "http://127.0.0.1:1/metrics",
		Levels: levels, Analysis: a, Recommendation: Recommend(levels, a)}
}

// smallSweep runs a short real sweep against a 2-slot server.
func smallSweep(t *testing.T) *Result {
	t.Helper()
	_, ts := newCapacityServer(t, 2, 10*time.Millisecond)
	cfg := testConfig(ts.URL+"/work", 1, 2, 4, 8)
	cfg.MetricsURL = ts.URL + "/metrics"
	cfg.NoRecheck = true
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestOutputs(t *testing.T) {
	res := outputResult(t)
	t.Run("json", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteJSON(&b, res); err != nil {
			t.Fatal(err)
		}
		raw := bytes.Clone(b.Bytes())
		var back Result
		dec := json.NewDecoder(&b)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&back); err != nil {
			t.Fatal(err)
		}
		if len(back.Levels) != len(res.Levels) || back.Recommendation.Threshold != res.Recommendation.Threshold {
			t.Errorf("round trip lost data: %d levels, threshold %d", len(back.Levels), back.Recommendation.Threshold)
		}
		if back.Levels[0].ServerInFlight == nil || back.Levels[0].P95S <= 0 {
			t.Errorf("level 1 after round trip: %+v", back.Levels[0])
		}
		var fields struct {
			Analysis       map[string]any `json:"analysis"`
			Recommendation map[string]any `json:"recommendation"`
		}
		if err := json.Unmarshal(raw, &fields); err != nil {
			t.Fatal(err)
		}
		want := float64(res.Analysis.P95Doubling)
		for name, m := range map[string]map[string]any{"analysis": fields.Analysis, "recommendation": fields.Recommendation} {
			if got, ok := m["p95_doubling_concurrency"]; !ok || got != want {
				t.Errorf("%s.p95_doubling_concurrency = %v (present %v), want %v", name, got, ok, want)
			}
		}
	})
	t.Run("csv", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteCSV(&b, res); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&b).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(res.Levels)+1 || strings.Join(rows[0], ",") != strings.Join(CSVHeader, ",") {
			t.Fatalf("got %d rows, header %v", len(rows), rows[0])
		}
		for i, row := range rows[1:] {
			c, err := strconv.Atoi(row[0])
			if err != nil || c != res.Levels[i].Concurrency {
				t.Errorf("row %d concurrency %q, want %d", i+1, row[0], res.Levels[i].Concurrency)
			}
			if p95, err := strconv.ParseFloat(row[8], 64); err != nil || p95 != res.Levels[i].P95S {
				t.Errorf("row %d p95 %q, want %v", i+1, row[8], res.Levels[i].P95S)
			}
			if row[len(row)-1] != res.Levels[i].Status {
				t.Errorf("row %d status %q, want %q", i+1, row[len(row)-1], res.Levels[i].Status)
			}
		}
	})
	t.Run("svg", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteSVG(&b, res); err != nil {
			t.Fatal(err)
		}
		dec := xml.NewDecoder(&b)
		var root string
		polylines, texts := 0, []string{}
		for {
			tok, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("SVG is not well-formed XML: %v", err)
			}
			switch el := tok.(type) {
			case xml.StartElement:
				if root == "" {
					root = el.Name.Local
				}
				if el.Name.Local == "polyline" {
					polylines++
				}
			case xml.CharData:
				texts = append(texts, string(el))
			}
		}
		if root != "svg" || polylines != 4 {
			t.Errorf("root %q with %d polylines, want svg with 4 (p50, p95, p99, throughput)", root, polylines)
		}
		if want := "saturation " + strconv.Itoa(res.Recommendation.Saturation); res.Recommendation.Saturated && !strings.Contains(strings.Join(texts, "|"), want) {
			t.Errorf("SVG does not mark %q", want)
		}
	})
	t.Run("table", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteTable(&b, res); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(b.String(), "\n")
		for i, l := range res.Levels {
			row := lines[2+i]
			if !strings.HasPrefix(row, "  "+strings.Repeat(" ", 5-len(strconv.Itoa(l.Concurrency)))+strconv.Itoa(l.Concurrency)+" ") {
				t.Errorf("row %d is not aligned: %q", i, row)
			}
		}
		doubling := "p95 doubling     : never"
		if d := res.Recommendation.P95Doubling; d > 0 {
			doubling = "p95 doubling     : at " + strconv.Itoa(d) + " concurrent requests"
		}
		if !strings.Contains(b.String(), doubling) {
			t.Errorf("no %q line:\n%s", doubling, b.String())
		}
		if !strings.Contains(b.String(), "Recommended autoscaling threshold : "+strconv.Itoa(res.Recommendation.Threshold)) {
			t.Errorf("no recommendation line:\n%s", b.String())
		}
	})
}

func TestManifests(t *testing.T) {
	rec := Recommendation{Threshold: 6, Saturated: true, Saturation: 8}
	t.Run("keda", func(t *testing.T) {
		out, err := KEDAManifest(rec, KEDAOptions{Deployment: "api", Namespace: "shop", MaxReplicas: 20})
		if err != nil {
			t.Fatal(err)
		}
		var so scaledObject
		if err := yaml.UnmarshalStrict(out, &so); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		tr := so.Spec.Triggers[0]
		if so.Kind != "ScaledObject" || so.APIVersion != "keda.sh/v1alpha1" || so.Spec.ScaleTargetRef.Name != "api" ||
			so.Metadata.Namespace != "shop" || so.Spec.MinReplicaCount != 1 || so.Spec.MaxReplicaCount != 20 {
			t.Errorf("unexpected object:\n%s", out)
		}
		// The total with AverageValue: KEDA divides by the replica count once.
		if tr.Type != "prometheus" || tr.MetricType != "AverageValue" ||
			tr.Metadata["query"] != `sum(avg_over_time(irate(runway_requests_in_flight_time_seconds_total{namespace="shop",pod=~"api-[a-z0-9]+-[a-z0-9]{5}"}[1m])[1m:1s]) and on(namespace, pod) up{namespace="shop",pod=~"api-[a-z0-9]+-[a-z0-9]{5}"})` ||
			tr.Metadata["threshold"] != "6" || tr.Metadata["serverAddress"] != scalequery.DefaultServerAddress {
			t.Errorf("trigger = %+v", tr)
		}
		if strings.Contains(tr.Metadata["query"], "/") {
			t.Errorf("query %q divides: with AverageValue that divides twice", tr.Metadata["query"])
		}
	})
	t.Run("keda query as in examples/kubernetes", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join("..", "..", "kubernetes", "keda-scaledobject.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var so scaledObject
		if err := yaml.Unmarshal(data, &so); err != nil {
			t.Fatal(err)
		}
		out, err := KEDAManifest(rec, KEDAOptions{Deployment: "runway-demo"})
		if err != nil {
			t.Fatal(err)
		}
		var gen scaledObject
		if err := yaml.UnmarshalStrict(out, &gen); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"query", "serverAddress"} {
			if got, want := so.Spec.Triggers[0].Metadata[k], gen.Spec.Triggers[0].Metadata[k]; got != want {
				t.Errorf("examples/kubernetes/keda-scaledobject.yaml %s\n  %s\nthe sweep writes\n  %s", k, got, want)
			}
		}
		if so.Metadata.Namespace != gen.Metadata.Namespace || so.Spec.Triggers[0].MetricType != gen.Spec.Triggers[0].MetricType {
			t.Errorf("namespace or metricType differ: %+v, sweep %+v", so.Metadata, gen.Metadata)
		}
	})
	t.Run("otlp path", func(t *testing.T) {
		opts := KEDAOptions{Deployment: "api", Namespace: "shop", Path: scalequery.OTLP, Form: scalequery.Gauge}
		out, err := KEDAManifest(rec, opts)
		if err != nil {
			t.Fatal(err)
		}
		var so scaledObject
		if err := yaml.UnmarshalStrict(out, &so); err != nil {
			t.Fatal(err)
		}
		if got, want := so.Spec.Triggers[0].Metadata["query"], `sum(runway_requests_in_flight{k8s_namespace_name="shop",k8s_pod_name=~"api-[a-z0-9]+-[a-z0-9]{5}"})`; got != want {
			t.Errorf("query %s, want %s", got, want)
		}
	})
	t.Run("hpa", func(t *testing.T) {
		out, err := HPAManifest(rec, HPAOptions{Deployment: "api"})
		if err != nil {
			t.Fatal(err)
		}
		var h hpa
		if err := yaml.UnmarshalStrict(out, &h); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		m := h.Spec.Metrics[0]
		if h.APIVersion != "autoscaling/v2" || h.Spec.MinReplicas != 1 || h.Spec.MaxReplicas != 10 ||
			m.Type != "Pods" || m.Pods.Metric.Name != InFlightMetric ||
			m.Pods.Target.Type != "AverageValue" || m.Pods.Target.AverageValue != "6" {
			t.Errorf("unexpected HPA:\n%s", out)
		}
	})
	t.Run("errors", func(t *testing.T) {
		for name, f := range map[string]func() ([]byte, error){
			"no deployment":   func() ([]byte, error) { return KEDAManifest(rec, KEDAOptions{}) },
			"bad name":        func() ([]byte, error) { return KEDAManifest(rec, KEDAOptions{Deployment: "My_API"}) },
			"scale from zero": func() ([]byte, error) { return HPAManifest(rec, HPAOptions{Deployment: "a", MinReplicas: -1}) },
			"max below min": func() ([]byte, error) {
				return KEDAManifest(rec, KEDAOptions{Deployment: "a", MinReplicas: 5, MaxReplicas: 2})
			},
			"threshold below 1": func() ([]byte, error) { return HPAManifest(Recommendation{}, HPAOptions{Deployment: "a"}) },
		} {
			t.Run(name, func(t *testing.T) {
				if _, err := f(); !errors.Is(err, ErrManifest) {
					t.Errorf("err = %v, want ErrManifest", err)
				}
			})
		}
	})
}
