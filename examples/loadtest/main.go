// Command loadtest drives an HTTP server at increasing concurrency, finds
// where it saturates and recommends the autoscaling threshold.
//
//	go run ./examples/loadtest -mode sweep                       # the demo, in-process, io workload
//	go run ./examples/loadtest -mode sweep -workload cpu -duration-ms 50
//	go run ./examples/loadtest -mode sweep -url http://127.0.0.1:8000/api/infer -method POST -body '{"x":1}'
//
// The table goes to stdout, progress to stderr (quiet with -q). Ctrl-C stops
// the sweep and prints what was measured so far. See docs/sweep.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, stop)
	stop()
	os.Exit(code)
}
