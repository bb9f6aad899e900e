package exporter_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/crypto/bcrypt"

	"github.com/otel-runway/runway/exporter"
)

// Setup wraps an application with runway's middleware and serves /metrics
// on it; the scrape itself is not counted.
func ExampleSetup() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello") })

	ctx := context.Background()
	handler, shutdown, err := exporter.Setup(ctx, mux,
		exporter.WithPrometheus(),
		exporter.WithServiceName("shop"),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer shutdown(ctx)

	srv := httptest.NewServer(handler) // in production: http.Server{Handler: handler}
	defer srv.Close()
	for range 2 {
		resp, err := http.Get(srv.URL + "/hello")
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
	}

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range families["runway_requests_total"].GetMetric() {
		fmt.Println("runway_requests_total", m.GetCounter().GetValue())
	}
	fmt.Println("runway_requests_in_flight", families["runway_requests_in_flight"].GetMetric()[0].GetGauge().GetValue())
	// Output:
	// runway_requests_total 2
	// runway_requests_in_flight 0
}

// New with a separate metrics listener, as a Kubernetes pod would expose it
// on its own port.
func ExampleNew() {
	ctx := context.Background()
	exp, err := exporter.New(ctx,
		exporter.WithPrometheus(),
		exporter.WithMetricsAddr("127.0.0.1:0"), // e.g. ":9091" in a pod
	)
	if err != nil {
		log.Fatal(err)
	}
	defer exp.Shutdown(ctx)

	// Pass exp.MeterProvider() to instrument.WithMeterProvider, or record
	// directly:
	counter, _ := exp.MeterProvider().Meter("example").Int64Counter("jobs.done")
	counter.Add(ctx, 5)

	resp, err := http.Get("http://" + exp.MetricsAddr() + "/metrics")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("jobs_done_total", families["jobs_done_total"].GetMetric()[0].GetCounter().GetValue())
	// Output:
	// jobs_done_total 5
}

// WithMetricsWebConfig secures the separate listener with the web
// configuration file of Prometheus and its exporters; here basic auth (a
// real file would add tls_server_config, so that the password is
// encrypted on the wire).
func ExampleWithMetricsWebConfig() {
	// A real file takes a hash at cost 10 or more: htpasswd -nBC 10 "".
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	dir, _ := os.MkdirTemp("", "web")
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "web.yml")
	config := fmt.Sprintf("basic_auth_users:\n  prometheus: %s\n", hash)
	if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	exp, err := exporter.New(ctx,
		exporter.WithPrometheus(),
		exporter.WithMetricsAddr("127.0.0.1:0"),
		exporter.WithMetricsWebConfig(file), // or RUNWAY_METRICS_WEB_CONFIG
	)
	if err != nil {
		log.Fatal(err)
	}
	defer exp.Shutdown(ctx)

	for _, password := range []string{"", "wrong", "s3cret"} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+exp.MetricsAddr()+"/metrics", nil)
		if password != "" {
			req.SetBasicAuth("prometheus", password)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Printf("password %q: %s\n", password, resp.Status)
	}
	// Output:
	// password "": 401 Unauthorized
	// password "wrong": 401 Unauthorized
	// password "s3cret": 200 OK
}
