// Command helloserver serves the hello-world handler once per
// instrumentation (bare, runway, promhttp, otelhttp, ...), each on its own
// loopback listener in one process, for a load generator such as wrk. It
// prints one line per listener, "NAME URL", then serves until it is
// interrupted, its standard input is closed, or -timeout passes.
//
//	helloserver -impls bare,runway,promhttp,otelhttp -timeout 30m
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/otel-runway/runway/examples/benchmarks"
)

func main() {
	impls := flag.String("impls", "bare,runway,promhttp,otelhttp", "comma-separated instrumentations to serve")
	timeout := flag.Duration("timeout", 30*time.Minute, "stop serving after this long")
	flag.Parse()
	if err := run(*impls, *timeout, os.Stdin, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run serves until input is closed (or yields EOF), a signal, or timeout,
// and writes the "NAME URL" lines to out.
func run(impls string, timeout time.Duration, input io.Reader, out io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	go func() { // stop when the caller closes our standard input
		_, _ = io.Copy(io.Discard, input)
		cancel()
	}()

	var servers []*http.Server
	errs := make(chan error, 8)
	for _, name := range strings.Split(impls, ",") {
		s, err := benchmarks.NewStack(name, benchmarks.Hello)
		if err != nil {
			return err
		}
		defer s.Close()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: s.Handler, ReadHeaderTimeout: 5 * time.Second}
		servers = append(servers, srv)
		go func() {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("%s: %w", name, err)
			}
		}()
		fmt.Fprintf(out, "%s http://%s/\n", name, ln.Addr())
	}
	select {
	case <-ctx.Done():
	case err := <-errs:
		return err
	}
	shutdown, cancelShutdown := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShutdown()
	for _, srv := range servers {
		_ = srv.Shutdown(shutdown)
	}
	return nil
}
