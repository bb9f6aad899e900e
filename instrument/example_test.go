package instrument_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"

	"github.com/otel-runway/runway/instrument"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func Example() {
	// Any MeterProvider works; here an SDK one read on demand.
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())

	mux := http.NewServeMux()
	mux.HandleFunc("/api/infer", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "inferred")
	})
	mw, err := instrument.NewMiddleware(
		instrument.WithMeterProvider(provider),
		instrument.WithRouteGroups(instrument.RouteGroup{Pattern: `^/api/infer`, Name: "inference"}),
	)
	if err != nil {
		panic(err)
	}
	defer mw.Close()
	handler := mw.Wrap(mux)

	handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/infer", nil))

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		panic(err)
	}
	var lines []string
	for _, m := range rm.ScopeMetrics[0].Metrics {
		switch data := m.Data.(type) {
		case metricdata.Sum[int64]:
			for _, dp := range data.DataPoints {
				lines = append(lines, fmt.Sprintf("%s{%s} %d", m.Name, dp.Attributes.Encoded(attribute.DefaultEncoder()), dp.Value))
			}
		case metricdata.Histogram[float64]:
			for _, dp := range data.DataPoints {
				lines = append(lines, fmt.Sprintf("%s{%s} count=%d", m.Name, dp.Attributes.Encoded(attribute.DefaultEncoder()), dp.Count))
			}
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// runway.request.duration{http.request.method=GET,http.route=inference} count=1
	// runway.requests.in_flight_by_route{http.route=_OTHER} 0
	// runway.requests.in_flight_by_route{http.route=inference} 0
	// runway.requests.in_flight{} 0
	// runway.requests{http.request.method=GET,http.response.status_code=200,http.route=inference} 1
	// runway.streams.in_flight{} 0
}

func ExampleNewMiddleware() {
	mw, err := instrument.NewMiddleware(instrument.WithExcludedPaths("/ping"))
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {})
	defer mw.Close()
	var _ http.Handler = mw.Wrap(mux) // serve this
	_, err = instrument.NewMiddleware(instrument.WithRouteGroups(instrument.RouteGroup{Pattern: "^/api/[", Name: "api"}))
	fmt.Println(err)
	// Output:
	// instrument: WithRouteGroups: entry 0 ("^/api/[" → "api"): error parsing regexp: missing closing ]: `[`: invalid option
}
