package exporter_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	"google.golang.org/protobuf/proto"

	"github.com/otel-runway/runway/exporter"
)

// WithOTLPProtocol pushes over OTLP/HTTP: a URL without a path posts to
// /v1/metrics. Here the receiver is a stand-in that decodes the export; in
// production it is a collector (port 4318) or Prometheus 3
// (http://prometheus:9090/api/v1/otlp/v1/metrics).
func ExampleWithOTLPProtocol() {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req colmetricpb.ExportMetricsServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, sm := range req.GetResourceMetrics()[0].GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				if m.GetName() == "runway.requests" {
					fmt.Println(r.Method, r.URL.Path, m.GetName(), m.GetSum().GetDataPoints()[0].GetAsInt())
				}
			}
		}
	}))
	defer receiver.Close()

	ctx := context.Background()
	e, err := exporter.New(ctx,
		exporter.WithOTLP(receiver.URL),
		exporter.WithOTLPProtocol(exporter.ProtocolHTTPProtobuf),
		exporter.WithServiceName("shop"),
		exporter.WithExportInterval(time.Hour), // here: push only at Shutdown
	)
	if err != nil {
		log.Fatal(err)
	}
	handler, err := e.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello") }))
	if err != nil {
		log.Fatal(err)
	}
	app := httptest.NewServer(handler)
	defer app.Close()
	for range 3 {
		resp, err := http.Get(app.URL + "/hello")
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
	}
	// Shutdown flushes: the last values are pushed before it returns.
	if err := e.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// POST /v1/metrics runway.requests 3
}
