// Command gorillamux serves a gorilla/mux router measured by runway, with
// http.route set to the route's path template ("/items/{id}"), never the
// raw path.
//
//	go run . [-addr 127.0.0.1:8080]    # then: curl localhost:8080/items/42; curl localhost:8080/metrics
//
// The middleware is installed with Router.Use: gorilla/mux runs such
// middlewares after matching, with the route in the request, and
// WithRouteFunc reads it once the handler returns. mux runs them only for
// matched routes, so the router's NotFoundHandler is wrapped too: requests
// that match nothing are measured without http.route. gorilla/mux does not
// set the request's Pattern, so the route function is needed here.
package main

import (
	"context"
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"

	"github.com/gorilla/mux"
	"github.com/otel-runway/runway/exporter"
	"github.com/otel-runway/runway/instrument"
)

// muxRoute is the path template of the route gorilla/mux matched, "" when
// none did.
func muxRoute(r *http.Request) string {
	if route := mux.CurrentRoute(r); route != nil {
		if tmpl, err := route.GetPathTemplate(); err == nil {
			return tmpl
		}
	}
	return ""
}

// newRouter returns the application: a gorilla/mux router measured by
// runway on exp's MeterProvider, serving exp's metrics on /metrics.
func newRouter(exp *exporter.Exporter) (http.Handler, error) {
	mw, err := instrument.NewMiddleware(
		instrument.WithMeterProvider(exp.MeterProvider()),
		instrument.WithRouteFunc(muxRoute),
	)
	if err != nil {
		return nil, err
	}
	r := mux.NewRouter()
	r.Use(mw.Wrap)
	r.NotFoundHandler = mw.Wrap(http.NotFoundHandler())
	r.HandleFunc("/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "item "+mux.Vars(r)["id"]+"\n")
	}).Methods(http.MethodGet)
	users := r.PathPrefix("/users/{name}").Subrouter()
	users.HandleFunc("/orders/{order}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "order "+mux.Vars(r)["order"]+"\n")
	}).Methods(http.MethodGet)
	r.Handle(exporter.MetricsPath, exp.MetricsHandler()) // excluded from the metrics by default
	return r, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	exp, err := exporter.New(ctx, exporter.WithPrometheus(), exporter.WithServiceName("runway-gorillamux-example"))
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
