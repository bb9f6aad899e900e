// Command grpc is a gRPC server instrumented with runway's stats handler,
// and a client that sweeps it through concurrency levels to find its
// autoscaling threshold.
//
//	go run ./examples/grpc                    # server: gRPC on 127.0.0.1:50051, metrics on 127.0.0.1:9464/metrics
//	go run ./examples/grpc -mode client       # sweep: concurrency 1, 2, 4 … 32, 3 s each
//
// The server does each Do RPC on -workers workers (4 by default); RPCs
// beyond that queue, so latency doubles past 4 concurrent RPCs and the
// sweep recommends a threshold of 3. See README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	mode := flag.String("mode", "server", "server or client")
	addr := flag.String("addr", "127.0.0.1:50051", "server: gRPC listen address; client: the server to call")
	metricsAddr := flag.String("metrics-addr", "127.0.0.1:9464", "server: Prometheus /metrics listen address")
	workers := flag.Int("workers", 4, "server: RPCs worked on at once; the others queue")
	metricsURL := flag.String("metrics-url", "http://127.0.0.1:9464/metrics", `client: the server's metrics, read during the sweep ("" to skip)`)
	levels := flag.String("levels", "1,2,4,8,16,32", "client: concurrency levels")
	step := flag.Duration("step", 3*time.Second, "client: time at each level")
	work := flag.Duration("work", 50*time.Millisecond, "client: work asked of each Do RPC")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch *mode {
	case "server":
		s, err := startServer(ctx, serverConfig{addr: *addr, metricsAddr: *metricsAddr, workers: *workers})
		if err != nil {
			log.Fatalf("grpc: %v", err)
		}
		log.Printf("serving gRPC on %s; metrics at %s", s.addr, s.metricsURL)
		select {
		case <-ctx.Done():
		case err := <-s.served:
			log.Fatalf("grpc: serve: %v", err)
		}
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.shutdown(sctx); err != nil {
			log.Fatalf("grpc: shutdown: %v", err)
		}
	case "client":
		lv, err := parseLevels(*levels)
		if err != nil {
			log.Fatalf("grpc: -levels: %v", err)
		}
		cfg := sweepConfig{target: *addr, metricsURL: *metricsURL, levels: lv, step: *step, work: *work}
		if _, err := sweep(ctx, cfg, os.Stdout); err != nil {
			log.Fatalf("grpc: %v", err)
		}
	default:
		fmt.Fprintf(os.Stderr, "grpc: unknown -mode %q\n", *mode)
		os.Exit(2)
	}
}

func parseLevels(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}
