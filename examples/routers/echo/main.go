// Command echo serves an echo router measured by runway, with http.route
// set to echo's route path ("/items/:id"), never the raw path.
//
//	go run . [-addr 127.0.0.1:8080]    # then: curl localhost:8080/items/42; curl localhost:8080/metrics
//
// echo is not a chain of net/http middlewares: it keeps the matched route
// in its own echo.Context, which is gone when the router returns, and
// which the *http.Request does not reach (so a route function,
// instrument.WithRouteFunc, cannot read it). So the runway middleware
// wraps the whole echo instance, and a one-line echo middleware copies
// c.Path() into the request's Pattern, where net/http's ServeMux puts its
// own pattern and where runway reads the route once the router returns.
// echo hands its handlers the very *http.Request it was given.
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"

	"github.com/labstack/echo/v4"
	"github.com/otel-runway/runway/exporter"
	"github.com/otel-runway/runway/instrument"
)

// runwayRoute reports the route echo matched to the runway middleware
// wrapping the router, in r.Pattern. Installed with Echo.Use, it runs
// after routing, so c.Path() is the route's path; for a request that
// matched nothing echo v4 leaves it empty: no http.route. It does not
// allocate. Install it first, before any middleware that replaces the
// request.
func runwayRoute(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Request().Pattern = c.Path()
		return next(c)
	}
}

// newRouter returns the application: an echo router measured by runway on
// exp's MeterProvider, serving exp's metrics on /metrics.
func newRouter(exp *exporter.Exporter) (http.Handler, error) {
	mw, err := instrument.NewMiddleware(
		instrument.WithMeterProvider(exp.MeterProvider()),
	)
	if err != nil {
		return nil, err
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(runwayRoute)
	e.GET("/items/:id", func(c echo.Context) error {
		return c.String(http.StatusOK, "item "+c.Param("id")+"\n")
	})
	e.GET("/users/:name/orders/:order", func(c echo.Context) error {
		return c.String(http.StatusOK, "order "+c.Param("order")+"\n")
	})
	e.GET(exporter.MetricsPath, echo.WrapHandler(exp.MetricsHandler())) // excluded from the metrics by default
	return mw.Wrap(e), nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	exp, err := exporter.New(ctx, exporter.WithPrometheus(), exporter.WithServiceName("runway-echo-example"))
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
