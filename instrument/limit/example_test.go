package limit_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/otel-runway/runway/instrument"
	"github.com/otel-runway/runway/instrument/limit"
	"go.opentelemetry.io/otel/metric/noop"
)

// The limiter behind runway's middleware, on the API routes only: the
// health probe answers whatever the load.
func Example() {
	mp := noop.NewMeterProvider() // an SDK MeterProvider in a real program
	lim, err := limit.New(64, 64, limit.WithMeterProvider(mp))
	if err != nil {
		panic(err)
	}
	defer lim.Close()
	mw, err := instrument.NewMiddleware(instrument.WithMeterProvider(mp))
	if err != nil {
		panic(err)
	}
	defer mw.Close()

	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "work done") })
	mux := http.NewServeMux()
	mux.Handle("/api/", lim.Wrap(api))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	handler := mw.Wrap(mux)

	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest("GET", "/api/items", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output: 200 work done
}
