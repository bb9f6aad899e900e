// Command gin serves a gin engine measured by runway, with http.route set
// to gin's route template ("/items/:id"), never the raw path.
//
//	go run . [-addr 127.0.0.1:8080]    # then: curl localhost:8080/items/42; curl localhost:8080/metrics
//
// gin is not a chain of net/http middlewares: it keeps the matched route
// in its own gin.Context, which is gone when the engine returns, and
// which the *http.Request does not reach (so a route function,
// instrument.WithRouteFunc, cannot read it). So the runway middleware
// wraps the whole engine, and a one-line gin middleware copies
// c.FullPath() into the request's Pattern, where net/http's ServeMux puts
// its own pattern and where runway reads the route once the engine
// returns. gin hands its handlers the very *http.Request it was given.
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"

	"github.com/gin-gonic/gin"
	"github.com/otel-runway/runway/exporter"
	"github.com/otel-runway/runway/instrument"
)

// runwayRoute reports the route gin matched to the runway middleware
// wrapping the engine, in r.Pattern ("" when none matched: no http.route).
// gin has matched the route before any of its middlewares runs, so the
// route is reported even if a handler later panics. It does not allocate.
// Install it first, before any middleware that replaces c.Request.
func runwayRoute(c *gin.Context) {
	c.Request.Pattern = c.FullPath()
	c.Next()
}

// newRouter returns the application: a gin engine measured by runway on
// exp's MeterProvider, serving exp's metrics on /metrics.
func newRouter(exp *exporter.Exporter) (http.Handler, error) {
	mw, err := instrument.NewMiddleware(
		instrument.WithMeterProvider(exp.MeterProvider()),
	)
	if err != nil {
		return nil, err
	}
	gin.SetMode(gin.ReleaseMode)
	engine := gin.New()
	engine.Use(runwayRoute)
	engine.GET("/items/:id", func(c *gin.Context) {
		c.String(http.StatusOK, "item %s\n", c.Param("id"))
	})
	engine.GET("/users/:name/orders/:order", func(c *gin.Context) {
		c.String(http.StatusOK, "order %s\n", c.Param("order"))
	})
	engine.GET(exporter.MetricsPath, gin.WrapH(exp.MetricsHandler())) // excluded from the metrics by default
	return mw.Wrap(engine), nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	exp, err := exporter.New(ctx, exporter.WithPrometheus(), exporter.WithServiceName("runway-gin-example"))
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
