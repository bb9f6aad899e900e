package demo

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func startDemo(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return s
}

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	var sum float64
	for _, m := range fams[name].GetMetric() {
		ok := true
		for k, v := range labels {
			found := false
			for _, l := range m.GetLabel() {
				found = found || (l.GetName() == k && l.GetValue() == v)
			}
			ok = ok && found
		}
		if ok {
			sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return sum
}

func TestRoutes(t *testing.T) {
	h := Routes()
	for _, tc := range []struct {
		target string
		status int
	}{
		{"/work?ms=1", 200},
		{"/work?ms=1&mode=cpu", 200},
		{"/work?ms=0.5&mode=io", 200},
		{"/work?mode=gpu", 400},
		{"/work?ms=-1", 400},
		{"/work?ms=NaN", 400},
		{"/work?ms=1e9", 400},
		{"/api/infer?ms=1", 200},
		{"/api/embed?ms=1", 200},
		{"/healthz", 200},
		{"/nope", 404},
	} {
		t.Run(tc.target, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", tc.target, nil))
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
		})
	}
}

func TestCPUWorkTakesItsTime(t *testing.T) {
	start := time.Now()
	if err := Do(context.Background(), Work{Mode: "cpu", Time: 30 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 15*time.Millisecond {
		t.Errorf("30 ms of cpu work took %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Do(ctx, Work{Mode: "cpu", Time: time.Minute}); err == nil {
		t.Error("cancelled cpu work did not stop")
	}
}

// TestDemoInFlightByRoute holds requests on the inference route of a real
// demo server and reads them on its /metrics.
func TestDemoInFlightByRoute(t *testing.T) {
	s := startDemo(t, Config{})
	const n = 4
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(s.URL + "/api/infer?ms=1500")
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	var fams map[string]*dto.MetricFamily
	for {
		fams = scrape(t, s.MetricsURL)
		if value(fams, "runway_requests_in_flight", nil) == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := value(fams, "runway_requests_in_flight", nil); got != n {
		t.Fatalf("in flight = %v, want %d", got, n)
	}
	if got := value(fams, "runway_requests_in_flight_by_route", map[string]string{"http_route": "inference"}); got != n {
		t.Errorf("in flight for inference = %v, want %d", got, n)
	}
	wg.Wait()
	fams = scrape(t, s.MetricsURL)
	if got := value(fams, "runway_requests_in_flight", nil); got != 0 {
		t.Errorf("in flight after = %v", got)
	}
	if got := value(fams, "runway_requests_total", map[string]string{"http_route": "inference", "http_response_status_code": "200"}); got != n {
		t.Errorf("requests for inference = %v, want %d", got, n)
	}
	if got := value(fams, "target_info", map[string]string{"service_name": "runway-demo"}); got != 1 {
		t.Errorf("target_info{service_name=runway-demo} missing")
	}
}

func TestDemoSeparateMetricsListener(t *testing.T) {
	s := startDemo(t, Config{MetricsAddr: "127.0.0.1:0", ServiceName: "demo-test", InstanceID: "pod-a"})
	if s.MetricsURL == s.URL+"/metrics" {
		t.Fatalf("metrics URL %s is on the app", s.MetricsURL)
	}
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("app /metrics = %d with a separate listener, want 404", resp.StatusCode)
	}
	resp, err = http.Get(s.URL + "/work?ms=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	fams := scrape(t, s.MetricsURL)
	if got := value(fams, "runway_requests_total", map[string]string{"http_route": "_OTHER", "http_request_method": "GET"}); got != 1 {
		t.Errorf("requests = %v, want 1 (the app's /metrics 404 is not measured)", got)
	}
	if got := value(fams, "target_info", map[string]string{"service_name": "demo-test", "service_instance_id": "pod-a"}); got != 1 {
		t.Error("target_info does not carry the configured identity")
	}
}

// TestDemoListener: the demo's listener reports the connections it
// accepted and those open, and on Linux the kernel's accept queue and its
// maximum, in the same scrape as the requests.
func TestDemoListener(t *testing.T) {
	s := startDemo(t, Config{})
	held := make(chan error, 1)
	go func() {
		resp, err := http.Get(s.URL + "/work?ms=1500")
		if err == nil {
			resp.Body.Close()
		}
		held <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for value(scrape(t, s.MetricsURL), "runway_requests_in_flight", nil) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the held request is not in flight within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	fams := scrape(t, s.MetricsURL)
	// The held request's connection and the scrape's own.
	for name, min := range map[string]float64{
		"runway_connections_accepted_total": 2,
		"runway_connections_open":           2,
	} {
		if got := value(fams, name, nil); got < min {
			t.Errorf("%s = %v, want at least %v", name, got, min)
		}
	}
	if runtime.GOOS == "linux" {
		if _, ok := fams["runway_listener_accept_queue"]; !ok {
			t.Error("runway_listener_accept_queue is not exported")
		}
		if got := value(fams, "runway_listener_accept_queue_max", nil); got <= 0 {
			t.Errorf("runway_listener_accept_queue_max = %v, want the listen backlog", got)
		}
	}
	if err := <-held; err != nil {
		t.Fatal(err)
	}
}

// With Limit 1 and no queue, a second request while one is served is
// refused with 503, the health probe still answers, and the limit's gauge
// is exported.
func TestLimit(t *testing.T) {
	s := startDemo(t, Config{Limit: 1, LimitQueue: 0})
	first := make(chan int, 1)
	go func() {
		resp, err := http.Get(s.URL + "/work?ms=1500")
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	deadline := time.Now().Add(5 * time.Second)
	for value(scrape(t, s.MetricsURL), "runway_requests_in_flight", nil) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the first request never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	resp, err := http.Get(s.URL + "/work?ms=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("second request: %d, want 503", resp.StatusCode)
	}
	health, err := http.Get(s.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	health.Body.Close()
	if health.StatusCode != http.StatusOK {
		t.Errorf("/healthz while the limit is full: %d, want 200 (the probe is beside the limiter)", health.StatusCode)
	}
	if got := <-first; got != http.StatusOK {
		t.Errorf("first request: %d, want 200", got)
	}
	if _, ok := scrape(t, s.MetricsURL)["runway_limit_concurrency"]; !ok {
		t.Error("runway_limit_concurrency is not exported")
	}
}
