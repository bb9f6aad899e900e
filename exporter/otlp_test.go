package exporter

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// newOTLP builds an Exporter pushing to endpoint with an empty environment.
func newOTLP(t *testing.T, endpoint string, interval time.Duration, opts ...Option) *Exporter {
	t.Helper()
	e, err := New(context.Background(),
		append([]Option{noEnv, WithOTLP(endpoint), WithExportInterval(interval)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = e.Shutdown(ctx)
	})
	return e
}

func counter(t *testing.T, e *Exporter, name string) metric.Int64Counter {
	t.Helper()
	c, err := e.MeterProvider().Meter("otlp-test").Int64Counter(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOTLPCollectorStartsLate starts the application first, against an
// address that accepts TCP connections and drops them (a collector not
// ready yet), then replaces it with a real collector. gRPC's default
// reconnect backoff grows to minutes; here the gap between connection
// attempts must stay within an interval and data must arrive within two
// intervals of the collector coming up.
func TestOTLPCollectorStartsLate(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out seconds of failed exports: full suite only")
	}
	const interval = 250 * time.Millisecond
	var failed atomic.Int32
	hookOtelErrors(t, func(error) { failed.Add(1) })

	stalls := startStallMeter(t)
	notReady, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := notReady.Addr().String()
	var (
		mu       sync.Mutex
		attempts []time.Time
	)
	acceptorDone := make(chan struct{})
	go func() {
		defer close(acceptorDone)
		for {
			conn, err := notReady.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			attempts = append(attempts, time.Now())
			mu.Unlock()
			conn.Close()
		}
	}()

	e := newOTLP(t, addr, interval, WithServiceInstanceID("late-1"))
	counter(t, e, "late.requests").Add(context.Background(), 7)

	// After 3 s of failures gRPC's default backoff would already wait
	// 1.6 s, then 2.6 s, between attempts.
	eventually(t, 10*time.Second, "3 s of failed exports", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return failed.Load() >= 8 && len(attempts) > 0 && time.Since(attempts[0]) > 3*time.Second
	})
	notReady.Close()
	<-acceptorDone

	mu.Lock()
	var maxGap time.Duration
	for i := 1; i < len(attempts); i++ {
		maxGap = max(maxGap, attempts[i].Sub(attempts[i-1]))
	}
	n := len(attempts)
	mu.Unlock()
	stall := stalls.Longest()
	t.Logf("%d connection attempts while the collector was not ready, longest gap %v (longest stall of the process %v)", n, maxGap.Round(time.Millisecond), stall.Round(time.Millisecond))
	if maxGap > interval+stall {
		t.Errorf("longest gap between connection attempts %v, want at most the interval %v plus the longest stall %v", maxGap, interval, stall)
	}

	r := startReceiver(t, addr)
	took := eventually(t, 20*interval, "data at the late collector", func() bool {
		v, ok := r.lastSum("late.requests")
		return ok && v == 7
	})
	stall = stalls.Longest()
	t.Logf("collector up: first data after %v (interval %v, longest stall %v)", took.Round(time.Millisecond), interval, stall.Round(time.Millisecond))
	if took > 2*interval+stall {
		t.Errorf("data arrived %v after the collector started, want within 2 intervals (%v) plus the longest stall %v", took, 2*interval, stall)
	}
	if got := r.resourceAttr("service.instance.id"); got != "late-1" {
		t.Errorf("service.instance.id = %q, want late-1", got)
	}
}

// TestOTLPShutdownFlushes records a value that no periodic export can send
// (the interval is an hour): only the flush in Shutdown delivers it.
func TestOTLPShutdownFlushes(t *testing.T) {
	r := startReceiver(t, "127.0.0.1:0")
	e := newOTLP(t, "http://"+r.addr, time.Hour, WithServiceName("flush"))
	counter(t, e, "flush.requests").Add(context.Background(), 42)
	if n := r.exports(); n != 0 {
		t.Fatalf("%d exports before Shutdown", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if v, ok := r.lastSum("flush.requests"); !ok || v != 42 {
		t.Errorf("flush.requests at the collector = %v (found %v), want 42", v, ok)
	}
	if got := r.resourceAttr("service.name"); got != "flush" {
		t.Errorf("service.name = %q, want flush", got)
	}
}

// TestOTLPCollectorDown checks that a collector that is down costs the
// application nothing: recording stays fast and Shutdown honours its
// context.
func TestOTLPCollectorDown(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out failed exports and times Add calls: full suite only")
	}
	var failed atomic.Int32
	hookOtelErrors(t, func(error) { failed.Add(1) })
	const interval = 200 * time.Millisecond // an export blocks up to this long
	e := newOTLP(t, freeAddr(t), interval)
	c := counter(t, e, "down.requests")

	// Each round calls Add for at least five intervals and two failed
	// exports. An Add that waited for an export would wait up to the
	// export timeout (the interval) in every round; on a busy machine a
	// descheduled goroutine stalls a single call for tens of milliseconds
	// now and then, so a slow call gets two more rounds before it fails.
	const rounds = 3
	var slowest, stall time.Duration
	for round := 1; round <= rounds; round++ {
		stalls := startStallMeter(t)
		failedBefore := failed.Load()
		deadline, hardDeadline := time.Now().Add(5*interval), time.Now().Add(50*interval)
		n := 0
		slowest = 0
		for time.Now().Before(deadline) || (failed.Load()-failedBefore < 2 && time.Now().Before(hardDeadline)) {
			t0 := time.Now()
			c.Add(context.Background(), 1)
			slowest = max(slowest, time.Since(t0))
			n++
		}
		stalls.Stop()
		stall = stalls.Longest()
		t.Logf("round %d: %d Add calls during %d failed exports, slowest %v, longest stall of the process %v", round, n, failed.Load()-failedBefore, slowest, stall)
		if f := failed.Load() - failedBefore; f < 2 {
			t.Fatalf("%d failed exports, want the collector to be down for at least 2", f)
		}
		if slowest < interval/2+stall {
			break
		}
	}
	if slowest >= interval/2+stall {
		t.Errorf("in each of %d rounds an Add call took %v or more beyond the process's longest stall (%v and %v in the last) while exports to a down collector were failing",
			rounds, interval/2, slowest, stall)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_ = e.Shutdown(ctx) // an error is expected: nothing could be sent
	if took := time.Since(t0); took > time.Second {
		t.Errorf("Shutdown took %v with a 200ms context", took)
	}
}

// TestOTLPTLS pushes over TLS to an https endpoint, trusting the test CA
// through OTEL_EXPORTER_OTLP_CERTIFICATE, which the OTLP exporter reads.
func TestOTLPTLS(t *testing.T) {
	cert, caFile := selfSignedCert(t)
	t.Setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", caFile)
	r := startReceiver(t, "127.0.0.1:0",
		grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})))
	e := newOTLP(t, "https://"+r.addr, time.Hour)
	counter(t, e, "tls.requests").Add(context.Background(), 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if v, ok := r.lastSum("tls.requests"); !ok || v != 3 {
		t.Errorf("tls.requests at the collector = %v (found %v), want 3", v, ok)
	}

	t.Run("plaintext endpoint does not reach a TLS collector", func(t *testing.T) {
		hookOtelErrors(t, func(error) {})
		e := newOTLP(t, r.addr, time.Hour)
		counter(t, e, "plain.requests").Add(context.Background(), 1)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := e.Shutdown(ctx); err == nil {
			t.Error("a plaintext export to a TLS collector succeeded")
		}
		if _, ok := r.lastSum("plain.requests"); ok {
			t.Error("plaintext data reached the TLS collector")
		}
	})
}

// selfSignedCert returns a certificate for 127.0.0.1 and the path of its
// PEM file.
func selfSignedCert(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	c := newCert(t, "ca", x509.ExtKeyUsageServerAuth)
	return c.pair, c.certFile
}
