package instrument

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"
)

// gatedServer serves requests that block until the test releases them by
// id (?id=N); /healthz answers at once. Entering requests report their id
// on entered.
type gatedServer struct {
	srv     *httptest.Server
	client  *http.Client
	entered chan int
	mu      sync.Mutex
	gates   map[int]chan struct{}
	closed  bool // every gate is open
}

func newGatedServer(t *testing.T, opts ...Option) *gatedServer {
	t.Helper()
	g := &gatedServer{entered: make(chan int, 100), gates: map[int]chan struct{}{}}
	h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			return
		}
		id, _ := strconv.Atoi(r.URL.Query().Get("id"))
		g.entered <- id
		select {
		case <-g.gate(id):
		case <-r.Context().Done():
		}
	}), opts...)
	g.srv = httptest.NewServer(h)
	g.client = &http.Client{Transport: &http.Transport{}}
	return g
}

func (g *gatedServer) gate(id int) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.gates[id]
	if !ok {
		c = make(chan struct{})
		if g.closed {
			close(c)
		}
		g.gates[id] = c
	}
	return c
}

func (g *gatedServer) close() {
	g.mu.Lock()
	g.closed = true
	for _, c := range g.gates {
		select {
		case <-c:
		default:
			close(c)
		}
	}
	g.mu.Unlock()
	g.client.CloseIdleConnections()
	g.srv.Close()
}

type result struct {
	id         int
	status     int
	retryAfter string
	err        error
}

// send sends request id in the background; its result arrives on out.
func (g *gatedServer) send(ctx context.Context, id int, out chan<- result) {
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", g.srv.URL+"/work?id="+strconv.Itoa(id), nil)
		resp, err := g.client.Do(req)
		if err != nil {
			out <- result{id: id, err: err}
			return
		}
		resp.Body.Close()
		out <- result{id: id, status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
	}()
}

func (m *manual) limitState(t *testing.T) (waiting, full, canceled, inflight int64) {
	t.Helper()
	rm := m.collect(t)
	waiting, _ = sumValue(rm, limitWaitingName)
	full, _ = sumValue(rm, limitRejectedName, limitReasonKey.String(limitReasonQueueFull))
	canceled, _ = sumValue(rm, limitRejectedName, limitReasonKey.String(limitReasonCanceled))
	inflight, _ = sumValue(rm, inFlightName)
	return
}

func expectEntered(t *testing.T, g *gatedServer, want int) {
	t.Helper()
	select {
	case id := <-g.entered:
		if id != want {
			t.Fatalf("request %d entered the handler, want %d (FIFO order)", id, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("request %d never entered the handler", want)
	}
}

// TestLimitBurst sends a controlled burst at a limit of 2 with a queue of
// 3: exactly 2 run, 3 wait and are admitted in arrival order, 5 are refused
// at once with 503 and Retry-After.
func TestLimitBurst(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	m := newManual(t)
	g := newGatedServer(t, WithMeterProvider(m.provider), WithConcurrencyLimit(2, 3), WithRetryAfter(1500*time.Millisecond))
	defer g.close()
	out := make(chan result, 20)
	ctx := context.Background()

	g.send(ctx, 0, out)
	g.send(ctx, 1, out)
	got := map[int]bool{<-g.entered: true, <-g.entered: true}
	if !got[0] || !got[1] {
		t.Fatalf("entered %v, want requests 0 and 1", got)
	}
	for id := 2; id <= 4; id++ { // queue them one by one, so their order is known
		g.send(ctx, id, out)
		waitFor(t, "request "+strconv.Itoa(id)+" to wait", func() bool {
			w, _, _, _ := m.limitState(t)
			return w == int64(id-1)
		})
	}
	for id := 5; id < 10; id++ {
		g.send(ctx, id, out)
	}
	for range 5 {
		r := <-out
		if r.err != nil || r.id < 5 || r.status != http.StatusServiceUnavailable || r.retryAfter != "2" {
			t.Fatalf("refused request: %+v, want id ≥ 5, status 503, Retry-After 2", r)
		}
	}
	waiting, full, canceled, inflight := m.limitState(t)
	if waiting != 3 || full != 5 || canceled != 0 || inflight != 5 {
		t.Fatalf("waiting=%d rejected(queue_full)=%d rejected(canceled)=%d in_flight=%d, want 3 5 0 5", waiting, full, canceled, inflight)
	}
	rm := m.collect(t)
	if v, _ := sumValue(rm, limitConcurrencyName); v != 2 {
		t.Errorf("%s = %d, want 2", limitConcurrencyName, v)
	}
	if v, _ := sumValue(rm, limitQueueName); v != 3 {
		t.Errorf("%s = %d, want 3", limitQueueName, v)
	}

	// Each release admits the oldest waiter.
	for id := range 5 {
		close(g.gate(id))
		if r := <-out; r.err != nil || r.status != http.StatusOK {
			t.Fatalf("admitted request: %+v, want status 200", r)
		}
		if id+2 <= 4 {
			expectEntered(t, g, id+2)
		}
	}
	waiting, full, canceled, _ = m.limitState(t)
	if waiting != 0 || full != 5 || canceled != 0 {
		t.Errorf("after the burst: waiting=%d rejected=%d/%d", waiting, full, canceled)
	}
	waitFor(t, "in-flight to return to 0", func() bool { return m.inFlight(t) == 0 })
	rm = m.collect(t)
	wait, ok := histPoint(rm, limitWaitName)
	if !ok || wait.Count != 3 {
		t.Errorf("%s count = %d (present %v), want 3 (only the requests that waited)", limitWaitName, wait.Count, ok)
	}
	if n, _ := sumValue(rm, requestsName, methodKey.String("GET"), statusCodeKey.Int(503)); n != 5 {
		t.Errorf("runway.requests{503} = %d, want 5", n)
	}
	if n, _ := sumValue(rm, requestsName, methodKey.String("GET"), statusCodeKey.Int(200)); n != 5 {
		t.Errorf("runway.requests{200} = %d, want 5", n)
	}
}

// TestLimitCanceledWaiter: a waiting request whose client gives up leaves
// the queue, is counted, and does not take a slot from the next one.
func TestLimitCanceledWaiter(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	m := newManual(t)
	g := newGatedServer(t, WithMeterProvider(m.provider), WithConcurrencyLimit(1, 2))
	defer g.close()
	out := make(chan result, 10)

	g.send(context.Background(), 0, out)
	expectEntered(t, g, 0)
	ctx, cancel := context.WithCancel(context.Background())
	g.send(ctx, 1, out)
	waitFor(t, "request 1 to wait", func() bool { w, _, _, _ := m.limitState(t); return w == 1 })
	cancel()
	if r := <-out; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("canceled request: %+v", r)
	}
	waitFor(t, "request 1 to leave the queue", func() bool {
		w, _, c, _ := m.limitState(t)
		return w == 0 && c == 1
	})
	g.send(context.Background(), 2, out)
	waitFor(t, "request 2 to wait", func() bool { w, _, _, _ := m.limitState(t); return w == 1 })
	close(g.gate(0))
	expectEntered(t, g, 2)
	close(g.gate(2))
	for range 2 {
		if r := <-out; r.err != nil || r.status != http.StatusOK {
			t.Fatalf("%+v, want status 200", r)
		}
	}
	waitFor(t, "in-flight to return to 0", func() bool { return m.inFlight(t) == 0 })
	_, full, canceled, _ := m.limitState(t)
	if full != 0 || canceled != 1 {
		t.Errorf("rejected queue_full=%d canceled=%d, want 0 and 1", full, canceled)
	}
	if wait, _ := histPoint(m.collect(t), limitWaitName); wait.Count != 2 {
		t.Errorf("%s count = %d, want 2 (the canceled one and request 2)", limitWaitName, wait.Count)
	}
}

// TestLimitExcludedBypass: with the limit full and no queue, excluded paths
// still answer, and nothing about them is counted.
func TestLimitExcludedBypass(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	m := newManual(t)
	g := newGatedServer(t, WithMeterProvider(m.provider), WithConcurrencyLimit(1, 0))
	defer g.close()
	out := make(chan result, 10)
	g.send(context.Background(), 0, out)
	expectEntered(t, g, 0)
	g.send(context.Background(), 1, out)
	if r := <-out; r.id != 1 || r.status != http.StatusServiceUnavailable || r.retryAfter != "1" {
		t.Fatalf("%+v, want request 1 refused with 503, Retry-After 1", r)
	}
	resp, err := g.client.Get(g.srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %d, want 200 while the limit is full", resp.StatusCode)
	}
	close(g.gate(0))
	<-out
	_, full, _, _ := m.limitState(t)
	if full != 1 {
		t.Errorf("rejected = %d, want 1", full)
	}
}

func TestLimitOptions(t *testing.T) {
	tests := []struct {
		name string
		opt  Option
	}{
		{"zero limit", WithConcurrencyLimit(0, 1)},
		{"negative queue", WithConcurrencyLimit(1, -1)},
		{"zero retry-after", WithRetryAfter(0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewMiddleware(tc.opt)
			if !errors.Is(err, ErrInvalidOption) {
				t.Fatalf("err = %v, want ErrInvalidOption", err)
			}
		})
	}
}

// gaugeValue returns the value of the Int64 gauge named name for exactly
// the attributes attrs.
func gaugeValue(rm metricdata.ResourceMetrics, name string, attrs ...attribute.KeyValue) (int64, bool) {
	m, ok := findMetric(rm, name)
	if !ok {
		return 0, false
	}
	want := attribute.NewSet(attrs...)
	for _, dp := range m.Data.(metricdata.Gauge[int64]).DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp.Value, true
		}
	}
	return 0, false
}
