// Command chi serves a chi router measured by runway, with http.route set
// to chi's route pattern ("/items/{id}"), never the raw path.
//
//	go run . [-addr 127.0.0.1:8080]    # then: curl localhost:8080/items/42; curl localhost:8080/metrics
//
// The middleware is installed with Router.Use, inside chi's Mux: chi sets
// the request's Pattern to the route pattern when it routes (as net/http's
// ServeMux does), on the request the middleware holds, and runway reads it
// once the handler returns. No route option is needed.
package main

import (
	"context"
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"

	"github.com/go-chi/chi/v5"
	"github.com/otel-runway/runway/exporter"
	"github.com/otel-runway/runway/instrument"
)

// newRouter returns the application: a chi router measured by runway on
// exp's MeterProvider, serving exp's metrics on /metrics.
func newRouter(exp *exporter.Exporter) (http.Handler, error) {
	mw, err := instrument.NewMiddleware(
		instrument.WithMeterProvider(exp.MeterProvider()),
	)
	if err != nil {
		return nil, err
	}
	r := chi.NewRouter()
	r.Use(mw.Wrap)
	r.Get("/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "item "+chi.URLParam(r, "id")+"\n")
	})
	r.Route("/users/{name}", func(r chi.Router) {
		r.Get("/orders/{order}", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "order "+chi.URLParam(r, "order")+"\n")
		})
	})
	r.Method(http.MethodGet, exporter.MetricsPath, exp.MetricsHandler()) // excluded from the metrics by default
	return r, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	exp, err := exporter.New(ctx, exporter.WithPrometheus(), exporter.WithServiceName("runway-chi-example"))
	if err != nil {
		log.Fatal(err)
	}
	defer exp.Shutdown(context.Background())
	h, err := newRouter(exp)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: *addr, Handler: h}
	go func() { <-ctx.Done(); srv.Shutdown(context.Background()) }()
	log.Printf("serving http://%s (try /items/42 and /metrics)", *addr)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
