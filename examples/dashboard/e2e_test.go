package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/otel-runway/runway/examples/internal/demo"
)

// The demo pods, named as a Deployment names its pods.
var demoPods = []string{"runway-demo-7d9f8b6c5d-x2k4p", "runway-demo-7d9f8b6c5d-q8w7z"}

// prometheusBin finds Debian's Prometheus server. Without it the test is
// skipped, except in CI (CI set), where it fails.
func prometheusBin(t *testing.T) string {
	t.Helper()
	if bin, err := exec.LookPath("prometheus"); err == nil {
		return bin
	}
	msg := "the Prometheus server is not installed (Debian: apt-get install -y --no-install-recommends prometheus)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitFor polls cond every 100 ms until it reports true; on timeout the
// test fails with the last state cond described.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; last: %s", what, timeout, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// safeBuffer collects a process's output for concurrent reads.
type safeBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *safeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// kubeStateMetrics serves the kube-state-metrics series the dashboard's
// replicas panel reads, with kube-state-metrics' names and labels, for a
// deployment of two replicas whose autoscaler allows four. A cluster is
// out of reach here; the series are exposed by client_golang like any
// exporter's.
func kubeStateMetrics(t *testing.T) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	replicas := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kube_deployment_status_replicas", Help: "The number of replicas per deployment."},
		[]string{"namespace", "deployment"})
	maxReplicas := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kube_horizontalpodautoscaler_spec_max_replicas", Help: "Upper limit for the number of pods that can be set by the autoscaler."},
		[]string{"namespace", "horizontalpodautoscaler"})
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kube_horizontalpodautoscaler_info", Help: "Information about this autoscaler."},
		[]string{"namespace", "horizontalpodautoscaler", "scaletargetref_api_version", "scaletargetref_kind", "scaletargetref_name"})
	reg.MustRegister(replicas, maxReplicas, info)
	replicas.WithLabelValues("default", "runway-demo").Set(float64(len(demoPods)))
	maxReplicas.WithLabelValues("default", "keda-hpa-runway-demo").Set(4)
	info.WithLabelValues("default", "keda-hpa-runway-demo", "apps/v1", "Deployment", "runway-demo").Set(1)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// promServer is a Prometheus server on a free loopback port.
type promServer struct{ url string }

// startPrometheus runs Debian's Prometheus scraping the targets every
// second (with the labels a PodMonitor would give) and loading the rules
// of examples/prometheus/rules.yml.
func startPrometheus(t *testing.T, demos map[string]string, ksm string) *promServer {
	t.Helper()
	bin := prometheusBin(t)
	dir := t.TempDir()
	rules, err := filepath.Abs(filepath.Join("..", "prometheus", "rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	type static struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels,omitempty"`
	}
	var statics []static
	for pod, addr := range demos {
		statics = append(statics, static{[]string{addr}, map[string]string{"namespace": "default", "pod": pod}})
	}
	// JSON is YAML: Prometheus reads this configuration as is.
	cfg, err := json.Marshal(map[string]any{
		"global":     map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"},
		"rule_files": []string{rules},
		"scrape_configs": []map[string]any{
			{"job_name": "runway-demo", "static_configs": statics},
			{"job_name": "kube-state-metrics", "honor_labels": true, "static_configs": []static{{Targets: []string{ksm}}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	var log safeBuffer
	cmd := exec.Command(bin,
		"--config.file="+cfgFile,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--web.console.templates="+dir, "--web.console.libraries="+dir)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		if t.Failed() {
			out := log.String()
			if len(out) > 4000 {
				out = out[len(out)-4000:]
			}
			t.Logf("prometheus output:\n%s", out)
		}
	})
	p := &promServer{url: "http://" + addr}
	waitFor(t, 30*time.Second, "prometheus ready", func() (bool, string) {
		select {
		case <-exited:
			t.Fatalf("prometheus exited:\n%s", log.String())
		default:
		}
		resp, err := http.Get(p.url + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return p
}

// series is one series of a range query's result.
type series struct {
	Metric map[string]string `json:"metric"`
	Values [][2]any          `json:"values"`
}

// numbers returns the series' values that are numbers (not NaN).
func (s series) numbers() []float64 {
	var out []float64
	for _, v := range s.Values {
		str, _ := v[1].(string)
		if f, err := strconv.ParseFloat(str, 64); err == nil && !math.IsNaN(f) {
			out = append(out, f)
		}
	}
	return out
}

// queryRange runs q over [start, end] with a 1 s step through the HTTP
// API, as a Grafana time-series panel does.
func (p *promServer) queryRange(q string, start, end time.Time) ([]series, error) {
	v := url.Values{
		"query": {q},
		"start": {strconv.FormatFloat(float64(start.UnixMilli())/1000, 'f', 3, 64)},
		"end":   {strconv.FormatFloat(float64(end.UnixMilli())/1000, 'f', 3, 64)},
		"step":  {"1"},
	}
	resp, err := http.Get(p.url + "/api/v1/query_range?" + v.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string   `json:"resultType"`
			Result     []series `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("%s", body.Error)
	}
	if body.Data.ResultType != "matrix" {
		return nil, fmt.Errorf("result type %q, want matrix", body.Data.ResultType)
	}
	return body.Data.Result, nil
}

// query runs an instant query at time at (the zero time: now) and returns
// its samples as (timestamp, value) pairs.
func (p *promServer) query(q string, at time.Time) ([][2]float64, error) {
	v := url.Values{"query": {q}}
	if !at.IsZero() {
		v.Set("time", strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64))
	}
	resp, err := http.Get(p.url + "/api/v1/query?" + v.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("%s", body.Error)
	}
	var out [][2]float64
	for _, r := range body.Data.Result {
		ts, _ := r.Value[0].(float64)
		str, _ := r.Value[1].(string)
		f, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return nil, err
		}
		out = append(out, [2]float64{ts, f})
	}
	return out, nil
}

// labelValues answers a Grafana label_values(selector, label) query as
// Grafana's Prometheus data source does, through the label values API.
func (p *promServer) labelValues(selector, label string, start, end time.Time) ([]string, error) {
	v := url.Values{
		"match[]": {selector},
		"start":   {strconv.FormatInt(start.Unix(), 10)},
		"end":     {strconv.FormatInt(end.Unix(), 10)},
	}
	resp, err := http.Get(p.url + "/api/v1/label/" + label + "/values?" + v.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string   `json:"status"`
		Error  string   `json:"error"`
		Data   []string `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("%s", body.Error)
	}
	return body.Data, nil
}

// inFlight scrapes a demo's /metrics and returns runway_requests_in_flight.
func inFlight(metricsURL string) (float64, error) {
	resp, err := http.Get(metricsURL)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, m := range fams["runway_requests_in_flight"].GetMetric() {
		sum += m.GetGauge().GetValue()
	}
	return sum, nil
}

// get sends one request and returns its status (0 when it failed).
func get(ctx context.Context, u string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestDashboardQueriesReturnData runs two demo pods (concurrency limit 6,
// queue 2) under load: requests held for the whole run, steady traffic on
// every route, bad requests (400) and bursts beyond the limit (waits and
// 503s). A real Prometheus scrapes them and kube-state-metrics' series
// every second and evaluates the rules; then every panel query of the
// runway dashboard, with its variables substituted, must return data, and
// the main panels the values the load implies.
func TestDashboardQueriesReturnData(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus and drives load for about 15 s")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the accept-queue panel reads a Linux-only metric")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	const held, limit, queue = 3, 6, 2
	demos := map[string]string{}
	var urls, metricsURLs []string
	for _, pod := range demoPods {
		s, err := demo.Start(ctx, demo.Config{ServiceName: "runway-demo", InstanceID: pod, Limit: limit, LimitQueue: queue})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer scancel()
			if err := s.Shutdown(sctx); err != nil {
				t.Errorf("demo shutdown: %v", err)
			}
		})
		u, err := url.Parse(s.MetricsURL)
		if err != nil {
			t.Fatal(err)
		}
		demos[pod] = u.Host
		urls = append(urls, s.URL)
		metricsURLs = append(metricsURLs, s.MetricsURL)
	}
	prom := startPrometheus(t, demos, kubeStateMetrics(t))
	start := time.Now()

	// Load. Its cleanup is registered after the demos', so it runs before
	// them (LIFO): the clients stop, then the demos shut down.
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	loadCtx, stopLoad := context.WithTimeout(ctx, 60*time.Second)
	defer stopLoad()
	statuses := map[int]int{}
	var mu sync.Mutex
	count := func(code int) {
		mu.Lock()
		statuses[code]++
		mu.Unlock()
	}
	// Held for the whole run: every pod carries at least `held`. They are
	// admitted before any other load, so the limit never refuses them.
	for i, u := range urls {
		for range held {
			wg.Add(1)
			go func() {
				defer wg.Done()
				get(loadCtx, u+"/work?ms=60000")
			}()
		}
		waitFor(t, 10*time.Second, "held requests in flight", func() (bool, string) {
			n, err := inFlight(metricsURLs[i])
			return err == nil && n >= held, fmt.Sprintf("%v in flight, %v", n, err)
		})
	}
	for _, u := range urls {
		// Steady traffic on every route, and a bad request now and then.
		wg.Add(1)
		go func() {
			defer wg.Done()
			paths := []string{"/api/infer?ms=30", "/api/embed?ms=5", "/work?ms=10", "/work?ms=600", "/work?mode=gpu"}
			for i := 0; loadCtx.Err() == nil; i++ {
				count(get(loadCtx, u+paths[i%len(paths)]))
			}
		}()
		// Every 2 s a burst of 8 beyond the held ones: with one slot idle
		// beside the steady client, some wait and the rest are refused.
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(2 * time.Second)
			defer tick.Stop()
			for {
				var burst sync.WaitGroup
				for range 8 {
					burst.Add(1)
					go func() {
						defer burst.Done()
						count(get(loadCtx, u+"/work?ms=300"))
					}()
				}
				burst.Wait()
				select {
				case <-loadCtx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}

	d := load(t, Namings[0])
	vars := exampleVars("10s")
	// Wait until the rate windows hold enough samples: the rejection rate
	// and the time-weighted rule of both pods have data.
	waitFor(t, 45*time.Second, "prometheus has rejections and the time-weighted rule for both pods", func() (bool, string) {
		r1, err1 := prom.queryRange(`sum(rate(runway_limit_rejected_total[10s])) > 0`, time.Now().Add(-2*time.Second), time.Now())
		r2, err2 := prom.queryRange(`count(pod:runway_requests_in_flight:time_weighted{namespace="default"}) == 2`, time.Now().Add(-2*time.Second), time.Now())
		return err1 == nil && err2 == nil && len(r1) > 0 && len(r2) > 0 && time.Since(start) > 12*time.Second,
			fmt.Sprintf("rejections %v %v, time-weighted %v %v", r1, err1, r2, err2)
	})
	end := time.Now()
	mu.Lock()
	t.Logf("load after %v: statuses %v", end.Sub(start).Round(time.Second), statuses)
	mu.Unlock()

	t.Run("variables", func(t *testing.T) {
		want := map[string][]string{"namespace": {"default"}, "deployment": {"runway-demo"}, "pod": demoPods}
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			q, _ := v.Query.(string)
			m := labelValuesQuery.FindStringSubmatch(substitute(q, vars))
			values, err := prom.labelValues(m[1], m[2], start, end)
			if err != nil {
				t.Fatalf("variable %s: %v", v.Name, err)
			}
			if v.Regex != "" {
				re := regexp.MustCompile(strings.Trim(v.Regex, "/"))
				var captured []string
				for _, val := range values {
					if c := re.FindStringSubmatch(val); c != nil && !slices.Contains(captured, c[1]) {
						captured = append(captured, c[1])
					}
				}
				values = captured
			}
			slices.Sort(values)
			exp := slices.Clone(want[v.Name])
			slices.Sort(exp)
			if !slices.Equal(values, exp) {
				t.Errorf("variable %s = %v, want %v", v.Name, values, exp)
			}
		}
	})

	// docs/autoscaling.md: the KEDA queries on recorded series against the
	// raw queries evaluated at the rules' own evaluation time.
	t.Run("recorded and raw KEDA queries agree", func(t *testing.T) {
		sel := `{namespace="default",pod=~"runway-demo-.+"}`
		// evalTime returns the recorded series' value and the time of the
		// rule evaluation that wrote it (its sample's own time).
		evalTime := func(t *testing.T, recorded string) (float64, time.Time) {
			t.Helper()
			rec, err := prom.query(recorded, time.Time{})
			if err != nil || len(rec) != 1 {
				t.Fatalf("%s: %v %v", recorded, rec, err)
			}
			stamp, err := prom.query("timestamp("+strings.TrimPrefix(strings.TrimSuffix(recorded, ")"), "sum(")+")", time.Time{})
			if err != nil || len(stamp) != 1 {
				t.Fatalf("timestamp of %s: %v %v", recorded, stamp, err)
			}
			return rec[0][1], time.UnixMilli(int64(math.Round(stamp[0][1] * 1000)))
		}
		at := func(t *testing.T, q string, at time.Time) float64 {
			t.Helper()
			res, err := prom.query(q, at)
			if err != nil || len(res) != 1 {
				t.Fatalf("%s at %v: %v %v", q, at, res, err)
			}
			return res[0][1]
		}

		t.Run("instant gauge", func(t *testing.T) {
			recorded := `sum(namespace_deployment:runway_requests_in_flight:sum{namespace="default",deployment="runway-demo"})`
			raw := `sum(runway_requests_in_flight` + sel + `)`
			v, when := evalTime(t, recorded)
			if r := at(t, raw, when); v != r || v <= 0 {
				t.Errorf("%s = %v, %s at the evaluation time = %v", recorded, v, raw, r)
			}
		})

		t.Run("time-weighted", func(t *testing.T) {
			recorded := `sum(namespace_deployment:runway_requests_in_flight_time_weighted:sum{namespace="default",deployment="runway-demo"})`
			v, when := evalTime(t, recorded)
			if v <= 0 {
				t.Fatalf("%s = %v, want the load's backlog", recorded, v)
			}
			// Exactly the recommended form over the recorded per-pod irate
			// (the rule's definition; not the irate of the last scrapes).
			onRule := `sum(avg_over_time(pod:runway_requests_in_flight:time_weighted` + sel + `[1m]) and on(namespace, pod) up` + sel + `)`
			if r := at(t, onRule, when); v != r {
				t.Errorf("%s = %v, %s at the evaluation time = %v", recorded, v, onRule, r)
			}
			// The recommended raw query averages the same per-scrape irate
			// values over the same minute, but samples them on a subquery's
			// 1 s steps, aligned to whole seconds, where the rule samples
			// them at its group's evaluations, at another phase of the
			// second. The two windows then hold the same irate values except
			// about one at each end (a scrape appended just after an
			// evaluation it precedes may move one more): each pod's two
			// averages differ by at most three values' spread
			// (max_over_time - min_over_time) over their number, and the
			// totals by the sum of these bounds.
			raw := `sum(avg_over_time(irate(runway_requests_in_flight_time_seconds_total` + sel + `[1m])[1m:1s]) and on(namespace, pod) up` + sel + `)`
			tolerance := at(t, `sum(3 * (max_over_time(pod:runway_requests_in_flight:time_weighted`+sel+`[1m]) - min_over_time(pod:runway_requests_in_flight:time_weighted`+sel+`[1m])) / count_over_time(pod:runway_requests_in_flight:time_weighted`+sel+`[1m]))`, when)
			r := at(t, raw, when)
			t.Logf("recorded %.4f, raw %.4f at the evaluation time: difference %.4f, tolerance %.4f", v, r, math.Abs(v-r), tolerance)
			if math.Abs(v-r) > tolerance {
				t.Errorf("%s = %v, %s at the evaluation time = %v: differ by more than %v", recorded, v, raw, r, tolerance)
			}
		})
	})

	// Every query returns data; checks names the panels whose values the
	// load determines.
	results := map[string][]series{}
	for _, panel := range d.Panels {
		if panel.Type == "row" {
			continue
		}
		for _, tg := range panel.Targets {
			key := panel.Title + " " + tg.RefID
			res, err := prom.queryRange(substitute(tg.Expr, vars), start, end)
			if err != nil {
				t.Errorf("%s: %v", key, err)
				continue
			}
			n := 0
			for _, s := range res {
				n += len(s.numbers())
			}
			if n == 0 {
				t.Errorf("%s: no data\n%s", key, substitute(tg.Expr, vars))
			}
			results[key] = res
			t.Logf("%s: %d series, %d points", key, len(res), n)
		}
	}

	maxOf := func(key, label, value string) float64 {
		best := math.Inf(-1)
		for _, s := range results[key] {
			if label != "" && s.Metric[label] != value {
				continue
			}
			for _, v := range s.numbers() {
				best = max(best, v)
			}
		}
		return best
	}
	last := func(key string) float64 {
		res := results[key]
		if len(res) != 1 {
			t.Errorf("%s: %d series, want 1", key, len(res))
			return math.NaN()
		}
		nums := res[0].numbers()
		return nums[len(nums)-1]
	}
	for _, pod := range demoPods {
		if v := maxOf("Requests in flight per pod A", "pod", pod); v < held {
			t.Errorf("in flight of %s: max %v, want at least the %d held", pod, v, held)
		}
		if v := maxOf("Time-weighted requests in flight per pod A", "pod", pod); v < held {
			t.Errorf("time-weighted in flight of %s: max %v, want at least %d", pod, v, held)
		}
		if v := maxOf("Saturation of the concurrency limit A", "pod", pod); v < float64(held)/limit {
			t.Errorf("saturation of %s: max %v, want at least %v", pod, v, float64(held)/limit)
		}
	}
	for key, want := range map[string]float64{
		"Requests in flight per pod C": 5, // the threshold
		"Replicas A":                   2, // kube-state-metrics
		"Replicas B":                   4, // maxReplicas
		"Replicas C":                   2, // pods reporting
	} {
		if got := last(key); got != want {
			t.Errorf("%s = %v, want %v", key, got, want)
		}
	}
	for _, class := range []string{"2xx", "4xx", "5xx"} {
		if v := maxOf("Request rate by status class A", "status_class", class); v <= 0 {
			t.Errorf("request rate of %s: max %v, want > 0", class, v)
		}
	}
	for _, route := range []string{"inference", "embedding", "_OTHER"} {
		if v := maxOf("Latency by route (p50, p95, p99) B", "http_route", route); v <= 0 || v > 10 {
			t.Errorf("p95 of route %s: %v, want within (0, 10] s", route, v)
		}
	}
	if v := maxOf("Limit: waiting and rejected B", "runway_limit_reason", "queue_full"); v <= 0 {
		t.Errorf("rejected/s (queue_full): max %v, want > 0", v)
	}
	if v := maxOf("Limit: waiting and rejected C", "", ""); v <= 0 {
		t.Errorf("p95 wait: %v, want > 0", v)
	}
	if v := maxOf("Accept queue B", "", ""); v <= 0 {
		t.Errorf("accept queue max: %v, want the listen backlog (> 0)", v)
	}
	for _, pod := range demoPods {
		if v := maxOf("Signal freshness: time since the last sample A", "pod", pod); v > 5 {
			t.Errorf("freshness of %s: up to %v s with a 1 s scrape, want at most 5", pod, v)
		}
	}
}
