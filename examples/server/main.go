// Command server is runway's demo: an HTTP server with io- and cpu-bound
// routes, instrumented with runway and exporting its metrics to
// Prometheus (/metrics) and, optionally, over OTLP to a collector.
//
//	go run ./examples/server [-addr 127.0.0.1:8000] [-metrics-addr ADDR] [-otlp-endpoint HOST:PORT] [-otlp-protocol grpc|http/protobuf] [-interval 5s] [-limit N -limit-queue Q] [-conventions runway|otel|both|otel-active]
//	go run ./examples/server -healthcheck http://127.0.0.1:8000/healthz
//
// With no -otlp-endpoint, the exporters come from the environment exactly
// as for any application that uses exporter.Setup: OTEL_METRICS_EXPORTER
// (prometheus, otlp, none, or a list), else Prometheus, with OTLP push as
// well when an OTEL_EXPORTER_OTLP_* endpoint or protocol variable is set.
// A bad value fails with the exporter's own message.
//
// Routes: GET /work?ms=N&mode=io|cpu, /api/infer, /api/embed (route groups
// "inference" and "embedding"), /healthz, and /metrics unless
// -metrics-addr serves it on its own listener. SIGINT or SIGTERM shuts down
// gracefully: requests in flight finish, then the exporter flushes.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/otel-runway/runway/examples/internal/demo"
)

func main() {
	var cfg demo.Config
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:8000", "application listen address")
	flag.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "serve /metrics on this separate address instead of on the application's")
	flag.StringVar(&cfg.OTLPEndpoint, "otlp-endpoint", "", "also push metrics over OTLP to this endpoint (host:port is plaintext; for http/protobuf a URL without a path gets /v1/metrics)")
	flag.StringVar(&cfg.OTLPProtocol, "otlp-protocol", "", "OTLP protocol: grpc or http/protobuf (default OTEL_EXPORTER_OTLP_PROTOCOL, else grpc)")
	flag.DurationVar(&cfg.Interval, "interval", 0, "OTLP push interval (default 5s, or OTEL_METRIC_EXPORT_INTERVAL)")
	flag.StringVar(&cfg.ServiceName, "service-name", "", "service.name (default runway-demo, or OTEL_SERVICE_NAME)")
	flag.StringVar(&cfg.InstanceID, "instance-id", "", "service.instance.id (default hostname-pid)")
	flag.IntVar(&cfg.Limit, "limit", 0, "admit at most N requests at once (0: no limit)")
	flag.IntVar(&cfg.LimitQueue, "limit-queue", 0, "with -limit: up to N more wait for a slot; others get 503")
	flag.StringVar(&cfg.Conventions, "conventions", "", "metric names: runway, otel (OpenTelemetry semantic conventions), both or otel-active (default runway, or RUNWAY_METRICS_CONVENTIONS)")
	drain := flag.Duration("shutdown-timeout", 15*time.Second, "how long shutdown waits for requests in flight")
	health := flag.String("healthcheck", "", "only check that this URL answers 200, and exit 0 if it does, else 1 (the image's HEALTHCHECK)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "server: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	if *health != "" {
		os.Exit(healthcheck(*health))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := demo.Start(ctx, cfg)
	if err != nil {
		log.Fatalf("server: %v", err)
	}
	log.Printf("serving %s (try %s/work?ms=100&mode=cpu); metrics at %s", srv.URL, srv.URL, cmp.Or(srv.MetricsURL, "none (Prometheus is off)"))
	if cfg.OTLPEndpoint != "" {
		log.Printf("pushing OTLP to %s", cfg.OTLPEndpoint)
	}
	<-ctx.Done()
	stop()
	log.Printf("shutting down: draining requests in flight, flushing metrics")
	sctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Fatalf("server: shutdown: %v", err)
	}
}
