package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
)

type sweepConfig struct {
	target     string // gRPC server address
	metricsURL string // the server's /metrics, read while each level runs; "" to skip
	levels     []int  // concurrency levels
	step       time.Duration
	work       time.Duration // the work each Do RPC asks for
}

// level is what one concurrency level measured.
type level struct {
	concurrency int
	rpcs        int
	failed      int
	rps         float64
	p50, p95    time.Duration
	inFlight    float64 // mean of the server's runway_requests_in_flight; -1 if not read
}

// sweep drives Do RPCs at each concurrency level for cfg.step and writes
// a table to out, then the saturation level (see saturation) and a
// threshold at 75 % of it.
func sweep(ctx context.Context, cfg sweepConfig, out io.Writer) ([]level, error) {
	conn, err := grpc.NewClient(cfg.target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var levels []level
	for _, c := range cfg.levels {
		if ctx.Err() != nil {
			break
		}
		levels = append(levels, runLevel(ctx, conn, cfg, c))
	}
	report(out, levels)
	return levels, nil
}

func runLevel(ctx context.Context, conn *grpc.ClientConn, cfg sweepConfig, concurrency int) level {
	ctx, cancel := context.WithTimeout(ctx, cfg.step)
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failed    int
		wg        sync.WaitGroup
	)
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := durationpb.New(cfg.work)
			for ctx.Err() == nil {
				t := time.Now()
				err := conn.Invoke(ctx, doMethod, req, new(emptypb.Empty))
				d := time.Since(t)
				mu.Lock()
				if err == nil {
					latencies = append(latencies, d)
				} else if c := status.Code(err); c != codes.DeadlineExceeded && c != codes.Canceled {
					// The level's end cuts the RPCs then running;
					// they are not failures (the RPCs carry no
					// deadline of their own).
					failed++
				}
				mu.Unlock()
			}
		}()
	}
	inFlight := sampleInFlight(ctx, cfg.metricsURL)
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	return level{
		concurrency: concurrency, rpcs: len(latencies), failed: failed,
		rps: float64(len(latencies)) / elapsed.Seconds(),
		p50: quantile(latencies, 0.50), p95: quantile(latencies, 0.95),
		inFlight: <-inFlight,
	}
}

// sampleInFlight reads runway_requests_in_flight from url every 100 ms
// until ctx ends and sends the mean (-1 without url or samples).
func sampleInFlight(ctx context.Context, url string) <-chan float64 {
	mean := make(chan float64, 1)
	if url == "" {
		mean <- -1
		return mean
	}
	go func() {
		var sum float64
		var n int
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				if n == 0 {
					mean <- -1
				} else {
					mean <- sum / float64(n)
				}
				return
			case <-tick.C:
				if v, err := scrapeGauge(ctx, url, "runway_requests_in_flight"); err == nil {
					sum += v
					n++
				}
			}
		}
	}()
	return mean
}

// scrapeGauge reads the unlabelled gauge name from a Prometheus endpoint.
func scrapeGauge(ctx context.Context, url, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, err
	}
	f, ok := fams[name]
	if !ok || len(f.GetMetric()) == 0 {
		return 0, fmt.Errorf("%s not found", name)
	}
	return f.GetMetric()[0].GetGauge().GetValue(), nil
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func report(out io.Writer, levels []level) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "concurrency\tRPCs\tfailed\tRPC/s\tp50\tp95\tserver in-flight\t")
	for _, l := range levels {
		inflight := "-"
		if l.inFlight >= 0 {
			inflight = fmt.Sprintf("%.1f", l.inFlight)
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.0f\t%v\t%v\t%s\t\n", l.concurrency, l.rpcs, l.failed, l.rps,
			l.p50.Round(100*time.Microsecond), l.p95.Round(100*time.Microsecond), inflight)
	}
	tw.Flush()
	if sat, ok := saturation(levels); ok {
		fmt.Fprintf(out, "saturation at concurrency %d (beyond it RPCs only queue); threshold ≈ %d RPCs in flight per pod\n",
			sat, max(1, sat*3/4))
	} else {
		fmt.Fprintln(out, "no saturation found: extend -levels")
	}
}

// saturation returns the last concurrency level before the first one at
// which the server is saturated: its p95 exceeds twice the p95 of the
// first level, or its throughput rose by less than 10 % over the level
// before (more concurrency only queues).
func saturation(levels []level) (int, bool) {
	if len(levels) < 2 || levels[0].p95 == 0 {
		return 0, false
	}
	base := levels[0].p95
	for i := 1; i < len(levels); i++ {
		if levels[i].p95 > 2*base || levels[i].rps < 1.1*levels[i-1].rps {
			return levels[i-1].concurrency, true
		}
	}
	return 0, false
}
