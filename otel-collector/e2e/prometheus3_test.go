package e2e

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// prometheus3Bin returns the Prometheus 3 server named by RUNWAY_PROMETHEUS3
// (Debian's Prometheus 2 has no OTLP receiver). Without it the test is
// skipped, except in CI (CI set), where it fails; RUNWAY_PROMETHEUS3=off
// skips it everywhere. Build it with
//
//	GOBIN=DIR go install github.com/prometheus/prometheus/cmd/prometheus@v0.316.0
//
// and set RUNWAY_PROMETHEUS3=DIR/prometheus.
func prometheus3Bin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("RUNWAY_PROMETHEUS3")
	if bin == "off" {
		t.Skip("RUNWAY_PROMETHEUS3=off")
	}
	if bin != "" {
		if _, err := os.Stat(bin); err == nil {
			return bin
		}
		waitForBuild(t, bin)
		if _, err := os.Stat(bin); err == nil {
			return bin
		}
	}
	msg := fmt.Sprintf("RUNWAY_PROMETHEUS3=%q does not name a Prometheus 3 server binary "+
		"(GOBIN=DIR go install github.com/prometheus/prometheus/cmd/prometheus@v0.316.0)", bin)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// waitForBuild waits, for up to RUNWAY_PROMETHEUS3_WAIT (a duration; unset
// means no wait), for a build of bin that runs in the background (as
// .ci/run starts it, so that the build uses the CPU time the other tests
// leave idle). The build moves the binary into place only when it is
// whole, or writes bin.failed with its log.
func waitForBuild(t *testing.T, bin string) {
	t.Helper()
	wait, err := time.ParseDuration(os.Getenv("RUNWAY_PROMETHEUS3_WAIT"))
	if err != nil || wait <= 0 {
		return
	}
	start := time.Now()
	for time.Since(start) < wait {
		if _, err := os.Stat(bin); err == nil {
			t.Logf("waited %v for the Prometheus 3 build", time.Since(start).Round(time.Second))
			return
		}
		if log, err := os.ReadFile(bin + ".failed"); err == nil {
			t.Fatalf("the Prometheus 3 build failed:\n%s", log)
		}
		time.Sleep(time.Second)
	}
}

// startPrometheus3 runs a Prometheus 3 server with its OTLP receiver on a
// free loopback port, promoting the resource attributes listed to labels.
// It scrapes nothing: everything it holds was pushed.
func startPrometheus3(t *testing.T, promote []string) *prometheus {
	t.Helper()
	bin := prometheus3Bin(t)
	dir := t.TempDir()
	config := map[string]any{
		"global": map[string]any{"evaluation_interval": "1s"},
		"otlp":   map[string]any{"promote_resource_attributes": promote},
	}
	return runPrometheus(t, "prometheus 3", bin, dir, config, "--web.enable-otlp-receiver")
}

// The KEDA queries for metrics pushed straight into Prometheus 3, as
// docs/autoscaling.md shows them.
const (
	otlpSelector = `{k8s_namespace_name="default",k8s_pod_name=~"runway-demo-[a-z0-9]+-[a-z0-9]{5}"}`
	otlpKEDASum  = `sum(runway_requests_in_flight` + otlpSelector + `)`
	otlpKEDAAvg  = `avg(sum by (k8s_namespace_name, k8s_pod_name) (runway_requests_in_flight` + otlpSelector + `))`
	otlpPerPod   = `sum by (k8s_pod_name) (runway_requests_in_flight` + otlpSelector + `)`

	otlpTimeWeighted = `sum(avg_over_time(irate(runway_requests_in_flight_time_seconds_total` + otlpSelector + `[1m])[1m:1s]))`
	otlpLatestIrate  = `sum(irate(runway_requests_in_flight_time_seconds_total` + otlpSelector + `[1m]))`
)

// pushInterval is the demos' OTLP push interval in TestPrometheus3OTLP.
const pushInterval = 2 * time.Second

// TestPrometheus3OTLP: three demo processes push over OTLP/HTTP straight
// into Prometheus 3 (no collector, no scrape), configured only by the
// standard OTEL_* variables, while they hold 2, 4 and 9 requests. What
// lands carries Prometheus' OTLP names, job and instance from service.name
// and service.instance.id, and the promoted resource attributes; the KEDA
// queries of docs/autoscaling.md return the sum 15 and the average 5, and
// the replica count the HPA computes from them is right.
func TestPrometheus3OTLP(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: real processes")
	}
	prom := startPrometheus3(t, []string{"service.instance.id", "k8s.namespace.name", "k8s.pod.name"})
	heldPerPod := []int{2, 4, 9}
	var apps []*demo
	var helds []*held
	sum := 0
	for i, n := range heldPerPod {
		pod := fmt.Sprintf("runway-demo-7d9f8c6b5-pod%02d", i) // a Deployment's pod name
		app := startDemo(t, pod, []string{
			"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
			"OTEL_EXPORTER_OTLP_ENDPOINT=" + prom.URL + "/api/v1/otlp",
			"OTEL_METRIC_EXPORT_INTERVAL=" + strconv.Itoa(int(pushInterval/time.Millisecond)),
			"OTEL_RESOURCE_ATTRIBUTES=k8s.namespace.name=default,k8s.pod.name=" + pod,
		})
		apps = append(apps, app)
		// Right after the start, before the first push: requests that
		// finish (so the counter and the histogram have data), then the
		// held ones, so every push of this pod carries them.
		for range 3 {
			get(t, app.URL+"/work?ms=1")
		}
		helds = append(helds, hold(t, app.URL, n))
		sum += n
	}
	current := len(heldPerPod)
	avg := float64(sum) / float64(current)
	for i, n := range heldPerPod {
		valueAt(t, 5*time.Second, apps[i].MetricsURL, inFlight, nil, float64(n))
	}
	took := waitFor(t, 15*time.Second, "prometheus 3 has the held requests", func() (bool, string) {
		res, err := prom.query(otlpKEDASum + " and count(runway_requests_in_flight" + otlpSelector + ") == 3")
		if err != nil || len(res) != 1 {
			return false, fmt.Sprint(res, err)
		}
		v := res[0].float(t)
		return v == float64(sum), fmt.Sprint(v)
	})
	t.Logf("held requests queryable in Prometheus 3 %v after the apps counted them (push interval %v)", took.Round(time.Millisecond), pushInterval)

	// The time-weighted KEDA query of examples/kubernetes reads the
	// request-seconds counter: once two pushes carry the held requests, its
	// irate is each pod's exact concurrency, and the minute's average is the
	// same because every push of every pod carried them.
	for _, app := range apps {
		q := `min_over_time(runway_requests_in_flight{instance="` + app.Instance + `"}[5m])`
		if v, want := prom.scalar(t, q), float64(heldPerPod[slices.Index(apps, app)]); v != want {
			t.Fatalf("%s = %v: a push of %s before its requests were held (the machine is too slow for this test's premise)", q, v, app.Instance)
		}
	}
	took = waitFor(t, 5*pushInterval, "the time-weighted query has the held requests", func() (bool, string) {
		res, err := prom.query(otlpLatestIrate)
		if err != nil || len(res) != 1 {
			return false, fmt.Sprint(res, err)
		}
		v := res[0].float(t)
		return math.Abs(v-float64(sum)) < 0.01*float64(sum), fmt.Sprint(v)
	})
	t.Logf("time-weighted: %s ≈ %d after %v more", otlpLatestIrate, sum, took.Round(time.Millisecond))
	// The subquery's steps are aligned to whole seconds: its last step needs
	// two samples of each pod before it.
	perPodAveraged := `count(avg_over_time(irate(runway_requests_in_flight_time_seconds_total` + otlpSelector + `[1m])[1m:1s]))`
	waitFor(t, 3*pushInterval, "the averaged time-weighted query has every pod", func() (bool, string) {
		res, err := prom.query(perPodAveraged)
		return err == nil && len(res) == 1 && res[0].float(t) == float64(current), fmt.Sprint(res, err)
	})

	t.Run("names, job, instance and promoted attributes", func(t *testing.T) {
		res, err := prom.query("runway_requests_in_flight" + otlpSelector)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != current {
			t.Fatalf("%d series, want %d: %+v", len(res), current, res)
		}
		for _, s := range res {
			m := s.Metric
			if m["job"] != "runway-demo" || !strings.HasPrefix(m["instance"], "runway-demo-") {
				t.Errorf("series %v: job/instance not from service.name/service.instance.id", m)
			}
			if m["service_instance_id"] != m["instance"] || m["k8s_pod_name"] != m["instance"] {
				t.Errorf("series %v: service.instance.id and k8s.pod.name not promoted", m)
			}
			for k := range m {
				if strings.HasPrefix(k, "otel_scope_") {
					t.Errorf("series %v: scope label %s (Prometheus does not promote the scope by default)", m, k)
				}
			}
		}
		t.Logf("series: %v", res[0].Metric)
		for _, q := range []string{
			"sum(runway_requests_total" + otlpSelector + ")",
			"sum(runway_request_duration_seconds_count" + otlpSelector + ")",
		} {
			// The 3 finished requests per pod (the held ones are not finished).
			if v := prom.scalar(t, q); v != float64(3*current) {
				t.Errorf("%s = %v, want %d", q, v, 3*current)
			}
		}
		if v := prom.scalar(t, `count(runway_request_duration_seconds_bucket{job="runway-demo",instance="runway-demo-7d9f8c6b5-pod00",le="+Inf"})`); v < 1 {
			t.Errorf("no +Inf bucket of runway_request_duration_seconds: %v", v)
		}
	})

	var so struct {
		Spec struct {
			Triggers []struct {
				MetricType string            `json:"metricType"`
				Metadata   map[string]string `json:"metadata"`
			} `json:"triggers"`
		} `json:"spec"`
	}
	manifest(t, "keda-scaledobject.yaml", &so)
	threshold, err := strconv.ParseFloat(so.Spec.Triggers[0].Metadata["threshold"], 64)
	if err != nil {
		t.Fatal(err)
	}
	want := int(math.Ceil(float64(current) * avg / threshold))
	for _, tc := range []struct {
		query, metricType string
		value, tolerance  float64
	}{
		{otlpTimeWeighted, so.Spec.Triggers[0].MetricType, float64(sum), 0.02 * float64(sum)},
		{otlpKEDASum, so.Spec.Triggers[0].MetricType, float64(sum), 0},
		{otlpKEDAAvg, "Value", avg, 0},
	} {
		v := prom.scalar(t, tc.query)
		got := hpaDesired(tc.metricType, current, v, threshold)
		t.Logf("%s [%s] = %v -> desired %d replicas (want %d)", tc.query, tc.metricType, v, got, want)
		if math.Abs(v-tc.value) > tc.tolerance {
			t.Errorf("%s = %v, want %v (±%v)", tc.query, v, tc.value, tc.tolerance)
		}
		if got != want {
			t.Errorf("%s [%s]: desired %d replicas, want %d", tc.query, tc.metricType, got, want)
		}
	}
	res, err := prom.query(otlpPerPod)
	if err != nil {
		t.Fatal(err)
	}
	perPod := map[string]float64{}
	for _, s := range res {
		perPod[s.Metric["k8s_pod_name"]] = s.float(t)
	}
	for i, n := range heldPerPod {
		if got := perPod[fmt.Sprintf("runway-demo-7d9f8c6b5-pod%02d", i)]; got != float64(n) {
			t.Errorf("%s: pod %d = %v, want %d", otlpPerPod, i, got, n)
		}
	}

	t.Run("docs/autoscaling.md shows these queries", func(t *testing.T) {
		doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "autoscaling.md"))
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{otlpTimeWeighted, otlpKEDASum, otlpKEDAAvg, otlpPerPod, "--web.enable-otlp-receiver", "service.instance.id"} {
			if !strings.Contains(string(doc), q) {
				t.Errorf("docs/autoscaling.md does not show %q", q)
			}
		}
	})

	// Released: every pod pushes 0 within an interval or two.
	for _, h := range helds {
		h.release()
	}
	took = waitFor(t, 3*pushInterval, "in flight back to 0 in Prometheus 3", func() (bool, string) {
		res, err := prom.query(otlpKEDASum)
		if err != nil || len(res) != 1 {
			return false, fmt.Sprint(res, err)
		}
		v := res[0].float(t)
		return v == 0, fmt.Sprint(v)
	})
	t.Logf("released: 0 in Prometheus 3 after %v", took.Round(time.Millisecond))
}
