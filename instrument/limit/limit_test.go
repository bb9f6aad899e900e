package limit

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otel-runway/runway/instrument"
	"github.com/otel-runway/runway/instrument/internal/contract"
	"github.com/otel-runway/runway/instrument/internal/metrictest"
	"go.uber.org/goleak"
)

// gatedServer serves, over a real httptest.Server, requests that block
// until the test releases them by id (?id=N), behind a Limiter and, in
// front of it, runway's middleware. Entering requests report their id on
// entered.
type gatedServer struct {
	m       *metrictest.Manual
	lim     *Limiter
	srv     *httptest.Server
	client  *http.Client
	entered chan int
	mu      sync.Mutex
	gates   map[int]chan struct{}
	closed  bool // every gate is open
}

// newGatedServer builds the server; wrap, if not nil, goes between runway's
// middleware and the limiter.
func newGatedServer(t *testing.T, limit, queue int, wrap func(http.Handler) http.Handler, opts ...Option) *gatedServer {
	t.Helper()
	g := &gatedServer{m: metrictest.NewManual(t), entered: make(chan int, 100), gates: map[int]chan struct{}{}}
	lim, err := New(limit, queue, append([]Option{WithMeterProvider(g.m.Provider)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	g.lim = lim
	mw, err := instrument.NewMiddleware(instrument.WithMeterProvider(g.m.Provider))
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = lim.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.Atoi(r.URL.Query().Get("id"))
		g.entered <- id
		select {
		case <-g.gate(id):
		case <-r.Context().Done():
		}
	}))
	if wrap != nil {
		h = wrap(h)
	}
	g.srv = httptest.NewServer(mw.Wrap(h))
	g.client = &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		g.close()
		_ = mw.Close()
		_ = lim.Close()
	})
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
	if g.closed {
		g.mu.Unlock()
		return
	}
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

// state reads the limiter's instruments and runway's in-flight count.
type state struct {
	waiting, full, canceled, deadline, inflight int64
}

func (g *gatedServer) state(t *testing.T) state {
	t.Helper()
	rm := g.m.Collect(t)
	var s state
	s.waiting, _ = metrictest.SumValue(rm, waitingName)
	s.full, _ = metrictest.SumValue(rm, rejectedName, reasonKey.String(reasonQueueFull))
	s.canceled, _ = metrictest.SumValue(rm, rejectedName, reasonKey.String(reasonCanceled))
	s.deadline, _ = metrictest.SumValue(rm, rejectedName, reasonKey.String(reasonDeadline))
	s.inflight, _ = metrictest.SumValue(rm, contract.InFlightName)
	return s
}

// requests returns runway.requests of GET with the status code.
func (g *gatedServer) requests(t *testing.T, code int) int64 {
	t.Helper()
	n, _ := metrictest.SumValue(g.m.Collect(t), contract.RequestsName,
		contract.MethodKey.String("GET"), contract.StatusCodeKey.Int(code))
	return n
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

// TestBurst sends a controlled burst at a limit of 2 with a queue of 3,
// behind runway's middleware: exactly 2 run, 3 wait and are admitted in
// arrival order, 5 are refused at once with 503 and Retry-After; runway
// counts the waiting ones in flight and the refused ones as 503.
func TestBurst(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	g := newGatedServer(t, 2, 3, nil, WithRetryAfter(1500*time.Millisecond))
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
		metrictest.WaitFor(t, "request "+strconv.Itoa(id)+" to wait", func() bool {
			return g.state(t).waiting == int64(id-1)
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
	if s := g.state(t); s != (state{waiting: 3, full: 5, inflight: 5}) {
		t.Fatalf("%+v, want waiting 3, queue_full 5, in_flight 5 (2 running + 3 waiting)", s)
	}
	rm := g.m.Collect(t)
	if v, _ := metrictest.SumValue(rm, concurrencyName); v != 2 {
		t.Errorf("%s = %d, want 2", concurrencyName, v)
	}
	if v, _ := metrictest.SumValue(rm, queueName); v != 3 {
		t.Errorf("%s = %d, want 3", queueName, v)
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
	metrictest.WaitFor(t, "in-flight to return to 0", func() bool { return g.state(t).inflight == 0 })
	if s := g.state(t); s != (state{full: 5}) {
		t.Errorf("after the burst: %+v, want only queue_full 5", s)
	}
	wait, ok := metrictest.HistPoint(g.m.Collect(t), waitName)
	if !ok || wait.Count != 3 {
		t.Errorf("%s count = %d (present %v), want 3 (only the requests that waited)", waitName, wait.Count, ok)
	}
	if n := g.requests(t, 503); n != 5 {
		t.Errorf("runway.requests{503} = %d, want 5", n)
	}
	if n := g.requests(t, 200); n != 5 {
		t.Errorf("runway.requests{200} = %d, want 5", n)
	}
}

// TestCanceledWhileQueued: a client that gives up while its request waits
// is recorded as 499 (canceled), not as a 503; its request leaves the
// queue and does not take a slot from the next one.
func TestCanceledWhileQueued(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	g := newGatedServer(t, 1, 2, nil)
	defer g.close()
	out := make(chan result, 10)

	g.send(context.Background(), 0, out)
	expectEntered(t, g, 0)
	ctx, cancel := context.WithCancel(context.Background())
	g.send(ctx, 1, out)
	metrictest.WaitFor(t, "request 1 to wait", func() bool { return g.state(t).waiting == 1 })
	cancel()
	if r := <-out; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("canceled request: %+v", r)
	}
	metrictest.WaitFor(t, "request 1 to be recorded", func() bool { return g.requests(t, statusClientClosedRequest) == 1 })
	if s := g.state(t); s.waiting != 0 || s.canceled != 1 || s.full != 0 || s.deadline != 0 {
		t.Fatalf("%+v, want waiting 0, canceled 1", s)
	}
	if n := g.requests(t, 503); n != 0 {
		t.Fatalf("runway.requests{503} = %d, want 0: a client that gave up is not a server error", n)
	}
	g.send(context.Background(), 2, out)
	metrictest.WaitFor(t, "request 2 to wait", func() bool { return g.state(t).waiting == 1 })
	close(g.gate(0))
	expectEntered(t, g, 2)
	close(g.gate(2))
	for range 2 {
		if r := <-out; r.err != nil || r.status != http.StatusOK {
			t.Fatalf("%+v, want status 200", r)
		}
	}
	metrictest.WaitFor(t, "in-flight to return to 0", func() bool { return g.state(t).inflight == 0 })
	if wait, _ := metrictest.HistPoint(g.m.Collect(t), waitName); wait.Count != 2 {
		t.Errorf("%s count = %d, want 2 (the canceled one and request 2)", waitName, wait.Count)
	}
}

// TestDeadlineWhileQueued: a request whose server-side deadline passes
// while it waits is refused with 503 and Retry-After (the server did not
// serve it in time), counted with reason deadline.
func TestDeadlineWhileQueued(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	timeout := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("id") == "0" {
				next.ServeHTTP(w, r)
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), 20*time.Millisecond)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
	g := newGatedServer(t, 1, 1, timeout)
	defer g.close()
	out := make(chan result, 10)
	g.send(context.Background(), 0, out)
	expectEntered(t, g, 0)
	g.send(context.Background(), 1, out)
	if r := <-out; r.err != nil || r.id != 1 || r.status != http.StatusServiceUnavailable || r.retryAfter != "1" {
		t.Fatalf("%+v, want request 1 refused with 503 and Retry-After 1", r)
	}
	if s := g.state(t); s.deadline != 1 || s.canceled != 0 || s.waiting != 0 {
		t.Fatalf("%+v, want deadline 1", s)
	}
	if n := g.requests(t, 503); n != 1 {
		t.Errorf("runway.requests{503} = %d, want 1", n)
	}
	close(g.gate(0))
	<-out
}

// TestSlotHeldUntilHandlerReturns: the limiter does not know about
// streams; an event stream or a hijacked connection served by a wrapped
// handler holds its slot until the handler returns, and a panic gives it
// back.
func TestSlotHeldUntilHandlerReturns(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	m := metrictest.NewManual(t)
	lim, err := New(1, 0, WithMeterProvider(m.Provider))
	if err != nil {
		t.Fatal(err)
	}
	defer lim.Close()
	release := make(chan struct{})
	srv := httptest.NewServer(lim.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/sse":
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: x\n\n")
			w.(http.Flusher).Flush()
			<-release
		case "/hijack":
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n")
			buf.Flush()
			<-release
			conn.Close()
		case "/panic":
			panic(http.ErrAbortHandler)
		}
	})))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	get := func(path string) int {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			return 0 // the aborted request
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, path := range []string{"/sse", "/hijack"} {
		t.Run(path, func(t *testing.T) {
			release = make(chan struct{})
			resp, err := client.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			if path == "/sse" {
				bufio.NewReader(resp.Body).ReadString('\n')
			}
			if code := get("/plain"); code != http.StatusServiceUnavailable {
				t.Errorf("/plain while %s is open: %d, want 503: the stream holds the slot", path, code)
			}
			close(release)
			resp.Body.Close()
			metrictest.WaitFor(t, "the slot to come back", func() bool { return get("/plain") == http.StatusOK })
		})
	}
	if code := get("/panic"); code != 0 {
		t.Fatalf("/panic: status %d, want the connection aborted", code)
	}
	if code := get("/plain"); code != http.StatusOK {
		t.Errorf("/plain after a panic: %d, want 200: the panic gives the slot back", code)
	}
}

// TestLimiterInFront: with the limiter in front of runway's middleware,
// runway sees only admitted requests: a refusal is not in runway.requests.
func TestLimiterInFront(t *testing.T) {
	m := metrictest.NewManual(t)
	lim, err := New(1, 0, WithMeterProvider(m.Provider))
	if err != nil {
		t.Fatal(err)
	}
	defer lim.Close()
	mw, err := instrument.NewMiddleware(instrument.WithMeterProvider(m.Provider))
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	entered, release := make(chan struct{}), make(chan struct{})
	h := lim.Wrap(mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	})))
	done := make(chan struct{})
	go func() {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		close(done)
	}()
	<-entered
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("second request: %d, want 503", rec.Code)
	}
	rm := m.Collect(t)
	if v, _ := metrictest.SumValue(rm, contract.InFlightName); v != 1 {
		t.Errorf("in_flight = %d, want 1 (the admitted request only)", v)
	}
	if n, ok := metrictest.SumValue(rm, contract.RequestsName, contract.MethodKey.String("GET"), contract.StatusCodeKey.Int(503)); ok {
		t.Errorf("runway.requests{503} = %d: a refusal in front of the middleware reached it", n)
	}
	if v, _ := metrictest.SumValue(rm, rejectedName, reasonKey.String(reasonQueueFull)); v != 1 {
		t.Errorf("rejected = %d, want 1", v)
	}
	close(release)
	<-done
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name, option string
		limit, queue int
		opt          Option
	}{
		{"zero limit", "New", 0, 1, nil},
		{"negative queue", "New", 1, -1, nil},
		{"nil provider", "WithMeterProvider", 1, 0, WithMeterProvider(nil)},
		{"zero retry-after", "WithRetryAfter", 1, 0, WithRetryAfter(0)},
		{"negative retry-after", "WithRetryAfter", 1, 0, WithRetryAfter(-time.Second)},
		// It used to be accepted and sent as Retry-After: -9223372035.
		{"max int64 retry-after", "WithRetryAfter", 1, 0, WithRetryAfter(math.MaxInt64)},
		{"retry-after over a day", "WithRetryAfter", 1, 0, WithRetryAfter(24*time.Hour + time.Second)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.limit, tc.queue, tc.opt)
			if !errors.Is(err, instrument.ErrInvalidOption) || !strings.Contains(err.Error(), "limit: "+tc.option+": ") {
				t.Fatalf("err = %v, want one that names %s and wraps ErrInvalidOption", err, tc.option)
			}
		})
	}
}

// TestRetryAfterHeader checks the header sent for the default, a rounded
// value and the longest value accepted.
func TestRetryAfterHeader(t *testing.T) {
	for _, tc := range []struct {
		opts []Option
		want string
	}{
		{nil, "1"},
		{[]Option{WithRetryAfter(1500 * time.Millisecond)}, "2"},
		{[]Option{WithRetryAfter(24 * time.Hour)}, "86400"},
	} {
		lim, err := New(1, 0, append(tc.opts, WithMeterProvider(metrictest.NewManual(t).Provider))...)
		if err != nil {
			t.Fatal(err)
		}
		lim.active = 1 // full
		rec := httptest.NewRecorder()
		lim.Wrap(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != tc.want {
			t.Errorf("%d Retry-After %q, want 503 and %q", rec.Code, rec.Header().Get("Retry-After"), tc.want)
		}
		lim.Close()
	}
}

// TestClose: a closed limiter reports nothing and still limits.
func TestClose(t *testing.T) {
	m := metrictest.NewManual(t)
	lim, err := New(1, 0, WithMeterProvider(m.Provider))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := metrictest.FindMetric(m.Collect(t), concurrencyName); !ok {
		t.Fatalf("%s not reported before Close", concurrencyName)
	}
	if err := lim.Close(); err != nil {
		t.Fatal(err)
	}
	if err := lim.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	lim.recordWait(context.Background(), time.Now()) // a wait that ends after Close
	rm := m.Collect(t)
	for _, name := range []string{waitingName, rejectedName, concurrencyName, queueName} {
		if n := metrictest.SumPoints(rm, name); n > 0 {
			t.Errorf("%s still reported after Close (%d points)", name, n)
		}
	}
	if h, ok := metrictest.HistPoint(rm, waitName); ok && h.Count > 0 {
		t.Errorf("%s recorded after Close", waitName)
	}
	lim.active = 1
	rec := httptest.NewRecorder()
	lim.Wrap(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("closed limiter, full: %d, want 503 (it still limits)", rec.Code)
	}
}
