package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	"google.golang.org/grpc"
)

// otlpReceiver is an OTLP/gRPC metrics collector that keeps the last
// export it receives.
type otlpReceiver struct {
	colmetricpb.UnimplementedMetricsServiceServer
	mu      sync.Mutex
	exports int
	last    *colmetricpb.ExportMetricsServiceRequest
}

func (r *otlpReceiver) Export(_ context.Context, req *colmetricpb.ExportMetricsServiceRequest) (*colmetricpb.ExportMetricsServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exports++
	r.last = req
	return &colmetricpb.ExportMetricsServiceResponse{}, nil
}

// sums returns, from the last export, the sum over all points of each
// Int64 sum metric.
func (r *otlpReceiver) sums() (map[string]int64, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int64{}
	for _, rm := range r.last.GetResourceMetrics() {
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				for _, dp := range m.GetSum().GetDataPoints() {
					out[m.GetName()] += dp.GetAsInt()
				}
			}
		}
	}
	return out, r.exports
}

// TestSIGTERMUnderLoad runs the demo command pushing OTLP to an in-test
// receiver with an export interval of an hour, so that only the flush at
// shutdown can deliver anything. Clients keep requests in flight; on
// SIGTERM the requests in flight must finish with 200, the process must
// exit cleanly and promptly, and its one export must carry the final
// totals: every request answered 200, and nothing in flight.
func TestSIGTERMUnderLoad(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	recv := &otlpReceiver{}
	gs := grpc.NewServer()
	colmetricpb.RegisterMetricsServiceServer(gs, recv)
	go gs.Serve(ln)
	defer gs.Stop()

	cmd, url, _, exited := startServer(t, "-addr", "127.0.0.1:0",
		"-otlp-endpoint", ln.Addr().String(), "-interval", "1h", "-shutdown-timeout", "10s")

	const clients = 16
	var answered, failed, inFlightAtSignal atomic.Int64
	var signalled atomic.Bool
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	defer client.CloseIdleConnections()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Keep sending until a request fails after SIGTERM: the
			// server then refuses new connections.
			for range 10_000 {
				// POST is never retried by the client, so a request is
				// counted here at most once.
				sentBefore := !signalled.Load()
				resp, err := client.Post(url+"/api/embed?ms=150", "text/plain", nil)
				if err != nil {
					failed.Add(1)
					if signalled.Load() {
						return
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("status %d", resp.StatusCode)
				}
				answered.Add(1)
				if sentBefore && signalled.Load() {
					inFlightAtSignal.Add(1)
				}
			}
		}()
	}
	// Let the load run, then SIGTERM while requests are in flight.
	deadline := time.Now().Add(10 * time.Second)
	for answered.Load() < 4*clients && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // land in the middle of the 150 ms requests
	signalled.Store(true)
	signalAt := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("server exit: %v, want status 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not exit within 15 s of SIGTERM")
	}
	exitTook := time.Since(signalAt)
	wg.Wait()

	sums, exports := recv.sums()
	t.Logf("%d requests answered (%d of them in flight at SIGTERM), %d refused after it; exit %v after SIGTERM; %d export(s)",
		answered.Load(), inFlightAtSignal.Load(), failed.Load(), exitTook.Round(time.Millisecond), exports)
	if inFlightAtSignal.Load() == 0 {
		t.Error("no request was in flight at SIGTERM: the test proves nothing")
	}
	if exports != 1 {
		t.Errorf("%d exports, want exactly the final flush", exports)
	}
	if got := sums["runway.requests"]; got != answered.Load() {
		t.Errorf("final export: runway.requests = %d, want the %d requests answered", got, answered.Load())
	}
	if got, ok := sums["runway.requests.in_flight"]; !ok || got != 0 {
		t.Errorf("final export: runway.requests.in_flight = %d (present %v), want 0", got, ok)
	}
	if exitTook > 5*time.Second {
		t.Errorf("exit took %v after SIGTERM with 150 ms requests in flight", exitTook)
	}
}
