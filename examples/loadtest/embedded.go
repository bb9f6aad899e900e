package main

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/otel-runway/runway/examples/internal/demo"
)

// embedded is the demo server started in-process.
type embedded struct {
	target, metricsURL string
	shutdown           func(context.Context) error
}

// startEmbedded starts the demo on a free loopback port; the target is
// GET /work with the given workload and duration.
func startEmbedded(ctx context.Context, workload string, durationMS int) (*embedded, error) {
	srv, err := demo.Start(ctx, demo.Config{Addr: "127.0.0.1:0", ServiceName: "runway-demo"})
	if err != nil {
		return nil, err
	}
	q := url.Values{"ms": {strconv.Itoa(durationMS)}, "mode": {workload}}
	return &embedded{
		target:     fmt.Sprintf("%s/work?%s", srv.URL, q.Encode()),
		metricsURL: srv.MetricsURL,
		shutdown:   srv.Shutdown,
	}, nil
}
