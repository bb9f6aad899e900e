package e2e

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	inFlight = "runway_requests_in_flight"
	total    = "runway_requests_total"
	interval = time.Second // the demo's push interval in these tests
)

func instance(id string) map[string]string {
	return map[string]string{"instance": id, "job": "runway-demo"}
}

// TestSidecarHeldRequests: requests held open at the app show at the
// collector's Prometheus endpoint within 3 s, go back to 0 when released, and
// the counter equals the requests sent.
func TestSidecarHeldRequests(t *testing.T) {
	col := newCollector(t, "sidecar.yaml")
	col.start()
	app := startDemo(t, "demo-1", nil, "-otlp-endpoint", col.GRPC, "-interval", interval.String())

	cases := []struct {
		name string
		n    int
	}{
		{"one", 1},
		{"five", 5},
		{"twelve", 12},
	}
	sent := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := hold(t, app.URL, tc.n)
			sent += tc.n
			// The app itself sees them first (its own /metrics): from then on
			// the clock runs for the collector.
			valueAt(t, 5*time.Second, app.MetricsURL, inFlight, nil, float64(tc.n))
			took := valueAt(t, 3*time.Second, col.PromURL, inFlight, instance("demo-1"), float64(tc.n))
			t.Logf("%d held requests visible at the collector %v after the app counted them", tc.n, took.Round(time.Millisecond))

			h.release()
			took = valueAt(t, 3*time.Second, col.PromURL, inFlight, instance("demo-1"), 0)
			t.Logf("released: 0 at the collector after %v", took.Round(time.Millisecond))
			valueAt(t, 3*time.Second, col.PromURL, total, instance("demo-1"), float64(sent))
		})
	}

	fams, err := scrape(col.PromURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("collector endpoint (sidecar):\n%s", exposition(fams, inFlight, total))
}

// TestGatewayTwoInstances: two app instances push to one gateway; their
// series stay apart by instance (and pod) and add up.
func TestGatewayTwoInstances(t *testing.T) {
	col := newCollector(t, "gateway.yaml")
	col.start()
	apps := map[string]*demo{}
	want := map[string]int{"pod-a": 2, "pod-b": 3}
	for id := range want {
		apps[id] = startDemo(t, id,
			[]string{"OTEL_RESOURCE_ATTRIBUTES=k8s.pod.name=" + id + ",k8s.namespace.name=default"},
			"-otlp-endpoint", col.GRPC, "-interval", interval.String())
	}
	for id, n := range want {
		hold(t, apps[id].URL, n)
	}
	for id, n := range want {
		valueAt(t, 5*time.Second, col.PromURL, inFlight, instance(id), float64(n))
	}

	fams, err := scrape(col.PromURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("collector endpoint (gateway):\n%s", exposition(fams, inFlight))
	series := samples(fams, inFlight)
	var instances []string
	var sum float64
	for _, s := range series {
		instances = append(instances, s.labels["instance"])
		sum += s.value
		if s.labels["k8s_pod_name"] != s.labels["instance"] {
			t.Errorf("series %v: k8s_pod_name does not carry the pod (resource_constant_labels)", s.labels)
		}
	}
	slices.Sort(instances)
	if !slices.Equal(instances, []string{"pod-a", "pod-b"}) {
		t.Errorf("instances %v, want one series each for pod-a and pod-b", instances)
	}
	if sum != 5 {
		t.Errorf("sum of in-flight = %v, want 5", sum)
	}
}

// TestStartOrderAndOutages: the app starts before the collector, the
// collector is killed while the app serves under load, then restarted.
func TestStartOrderAndOutages(t *testing.T) {
	col := newCollector(t, "sidecar.yaml")
	startOrderAndOutages(t, col, "-otlp-endpoint", col.GRPC)
}

// startOrderAndOutages is TestStartOrderAndOutages with the demo pushing
// to col with the given flags.
func startOrderAndOutages(t *testing.T, col *collector, otlpFlags ...string) {
	app := startDemo(t, "demo-1", nil, append(otlpFlags, "-interval", interval.String())...)
	held3 := hold(t, app.URL, 3)
	valueAt(t, 5*time.Second, app.MetricsURL, inFlight, nil, 3)

	// 1. App before collector. The outage is long enough for gRPC's default
	// reconnect backoff to have grown past several intervals.
	time.Sleep(8 * time.Second)
	col.start()
	took := valueAt(t, 4*interval, col.PromURL, inFlight, instance("demo-1"), 3)
	t.Logf("app started 8 s before the collector: its data at the collector %v after the collector came up", took.Round(time.Millisecond))
	if took > 2*interval {
		t.Errorf("data arrived %v after the collector came up, want within 2 intervals (%v)", took, 2*interval)
	}
	held3.release()
	valueAt(t, 3*time.Second, col.PromURL, inFlight, instance("demo-1"), 0)

	// 2. Load: 4 workers sending 20 ms requests until stopped, each result
	// tagged with the phase it started in.
	type result struct {
		phase   string
		latency time.Duration
		err     error
	}
	var (
		mu      sync.Mutex
		phase   = "before"
		results []result
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	setPhase := func(p string) {
		mu.Lock()
		phase = p
		mu.Unlock()
	}
	for range 4 {
		wg.Go(func() {
			for range 5000 { // a bound; stop comes first
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				p := phase
				mu.Unlock()
				start := time.Now()
				resp, err := httpClient.Get(app.URL + "/work?ms=20")
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = errStatus(resp.Status)
					}
				}
				mu.Lock()
				results = append(results, result{p, time.Since(start), err})
				mu.Unlock()
			}
		})
	}
	time.Sleep(3 * time.Second) // load before the outage

	// 3. Collector killed mid-run (SIGKILL: no goodbye to the app).
	fams, err := scrape(col.PromURL)
	if err != nil {
		t.Fatal(err)
	}
	totalBeforeKill, _ := sumWhere(fams, total, instance("demo-1"))
	col.proc.stop(syscall.SIGKILL)
	setPhase("collector down")
	time.Sleep(5 * time.Second) // the outage, under load

	// 4. Collector restarted on the same ports: metrics resume, the counter
	// continues from its cumulative value.
	setPhase("after")
	col.start()
	took = waitFor(t, 4*interval, "counter resumes above its value before the kill", func() (bool, string) {
		fams, err := scrape(col.PromURL)
		if err != nil {
			return false, err.Error()
		}
		v, n := sumWhere(fams, total, instance("demo-1"))
		return n > 0 && v > totalBeforeKill, fmt.Sprintf("%v over %d series", v, n)
	})
	t.Logf("collector restarted: counter back %v after it came up (it was %v before the kill)", took.Round(time.Millisecond), totalBeforeKill)
	if took > 2*interval {
		t.Errorf("data arrived %v after the restart, want within 2 intervals", took)
	}
	time.Sleep(2 * time.Second) // load after the restart
	close(stop)
	wg.Wait()

	// Every request ever made (before, during and after the outage, and the
	// 3 held ones) is in the counter: nothing was lost with the collector.
	valueAt(t, 3*time.Second, col.PromURL, total, instance("demo-1"), float64(len(results)+3))
	valueAt(t, 3*time.Second, col.PromURL, inFlight, instance("demo-1"), 0)

	byPhase := map[string][]time.Duration{}
	for _, r := range results {
		if r.err != nil {
			t.Errorf("%s: request failed: %v", r.phase, r.err)
		}
		byPhase[r.phase] = append(byPhase[r.phase], r.latency)
	}
	base := percentile(byPhase["before"], 0.95)
	for _, p := range []string{"before", "collector down", "after"} {
		ls := byPhase[p]
		if len(ls) == 0 {
			t.Fatalf("no requests in phase %q", p)
		}
		p50, p95, mx := percentile(ls, 0.5), percentile(ls, 0.95), percentile(ls, 1)
		t.Logf("%-15s %4d requests  p50 %v  p95 %v  max %v", p, len(ls), p50, p95, mx)
		if p95 > base+30*time.Millisecond {
			t.Errorf("%s: p95 %v, more than 30 ms above the p95 before the outage (%v)", p, p95, base)
		}
	}
}

// TestShutdownFlushAndExpiry: a stopping app pushes its last numbers even
// with a long interval, and its series leave the collector after
// metric_expiration.
func TestShutdownFlushAndExpiry(t *testing.T) {
	col := newCollector(t, "sidecar.yaml", "RUNWAY_METRIC_EXPIRATION=2s")
	col.start()
	app := startDemo(t, "demo-flush", nil, "-otlp-endpoint", col.GRPC, "-interval", "1m")
	for range 7 {
		get(t, app.URL+"/work?ms=1")
	}
	app.proc.stop(syscall.SIGTERM)
	valueAt(t, 3*time.Second, col.PromURL, total, instance("demo-flush"), 7)

	took := waitFor(t, 10*time.Second, "series expire", func() (bool, string) {
		fams, err := scrape(col.PromURL)
		if err != nil {
			return false, err.Error()
		}
		_, n := sumWhere(fams, total, instance("demo-flush"))
		return n == 0, ""
	})
	t.Logf("series gone %v after the flush (metric_expiration 2s)", took.Round(time.Millisecond))
}
