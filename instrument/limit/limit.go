package limit

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otel-runway/runway/instrument/internal/contract"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// The instruments of a Limiter: their names are those of the metric
// contract (docs/metrics.md), unchanged since the limit was an option of
// package instrument.
const (
	waitingName     = "runway.limit.waiting"
	rejectedName    = "runway.limit.rejected"
	waitName        = "runway.limit.wait.duration"
	concurrencyName = "runway.limit.concurrency"
	queueName       = "runway.limit.queue"

	// reasonKey says why a request was turned away.
	reasonKey = attribute.Key("runway.limit.reason")
	// reasonQueueFull: the limit was reached and the wait queue was full;
	// the request was answered 503 at once.
	reasonQueueFull = "queue_full"
	// reasonCanceled: the client went away (the request's context was
	// canceled) while the request waited; answered 499.
	reasonCanceled = "canceled"
	// reasonDeadline: a deadline of the request's context passed while it
	// waited; answered 503.
	reasonDeadline = "deadline"

	// statusClientClosedRequest is the status a request whose client went
	// away while it waited is answered, and so recorded, with: nginx's 499.
	statusClientClosedRequest = 499

	requestUnit  = contract.RequestUnit
	durationUnit = contract.DurationUnit
)

// waitBuckets are the bucket boundaries, in seconds, of
// runway.limit.wait.duration.
var waitBuckets = []float64{
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}

// Limiter admits at most a fixed number of requests at once into the
// handlers it wraps, with a bounded FIFO wait queue (see the package
// documentation for the contract and the metrics). Build it with New;
// release its metrics with Close. The handlers a Limiter wraps share its
// slots and its queue.
type Limiter struct {
	limit, queue int
	retryAfter   string // the Retry-After header value, whole seconds

	mu      sync.Mutex
	active  int     // admitted and not yet released
	waiters waiters // waiting, oldest first

	waiting  atomic.Int64 // len(waiters), for collection
	rejected [3]atomic.Int64
	closed   atomic.Bool

	waitHist    metric.Float64Histogram
	waitingObs  metric.Int64ObservableUpDownCounter
	rejectedObs metric.Int64ObservableCounter
	limitObs    metric.Int64ObservableUpDownCounter
	queueObs    metric.Int64ObservableUpDownCounter
	reasonOpts  [3][]metric.ObserveOption

	regs      contract.Registrations
	closeOnce sync.Once
	closeErr  error
}

// The reasons, as indexes of Limiter.rejected and Limiter.reasonOpts.
const (
	queueFull = iota
	canceled
	deadline
)

var reasonNames = [3]string{queueFull: reasonQueueFull, canceled: reasonCanceled, deadline: reasonDeadline}

// New returns a Limiter that admits at most limit requests at once and
// lets up to queue more wait. limit must be at least 1 and queue at least
// 0 (0: no waiting, refuse at once); a bad value, like an invalid option,
// is an error that names it and wraps instrument.ErrInvalidOption. The
// instruments are created, and their callback registered, here.
func New(limit, queue int, opts ...Option) (*Limiter, error) {
	if limit < 1 {
		return nil, optionError("New", "limit %d is less than 1", limit)
	}
	if queue < 0 {
		return nil, optionError("New", "queue %d is negative", queue)
	}
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	l := &Limiter{
		limit:      limit,
		queue:      queue,
		retryAfter: strconv.FormatInt(int64((c.retryAfter+time.Second-1)/time.Second), 10),
	}
	for i, name := range reasonNames {
		l.reasonOpts[i] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(reasonKey.String(name)))}
	}
	meter := contract.Meter(c.provider)
	if l.waitHist, err = meter.Float64Histogram(waitName,
		metric.WithUnit(durationUnit),
		metric.WithDescription("Time requests spent waiting for a slot under the concurrency limit (only requests that had to wait)."),
		metric.WithExplicitBucketBoundaries(waitBuckets...),
	); err != nil {
		return nil, fmt.Errorf("limit: creating %s: %w", waitName, err)
	}
	if l.waitingObs, err = meter.Int64ObservableUpDownCounter(waitingName,
		metric.WithUnit(requestUnit),
		metric.WithDescription("Requests waiting for a slot under the concurrency limit."),
	); err != nil {
		return nil, fmt.Errorf("limit: creating %s: %w", waitingName, err)
	}
	if l.rejectedObs, err = meter.Int64ObservableCounter(rejectedName,
		metric.WithUnit(requestUnit),
		metric.WithDescription("Requests turned away by the concurrency limit: queue full or deadline passed while waiting (answered 503), client gone while waiting (499)."),
	); err != nil {
		return nil, fmt.Errorf("limit: creating %s: %w", rejectedName, err)
	}
	if l.limitObs, err = meter.Int64ObservableUpDownCounter(concurrencyName,
		metric.WithUnit(requestUnit),
		metric.WithDescription("The concurrency limit: requests that may run at once."),
	); err != nil {
		return nil, fmt.Errorf("limit: creating %s: %w", concurrencyName, err)
	}
	if l.queueObs, err = meter.Int64ObservableUpDownCounter(queueName,
		metric.WithUnit(requestUnit),
		metric.WithDescription("The capacity of the concurrency limit's wait queue."),
	); err != nil {
		return nil, fmt.Errorf("limit: creating %s: %w", queueName, err)
	}
	if err := l.regs.Register(meter, "limit", l.observe, l.waitingObs, l.rejectedObs, l.limitObs, l.queueObs); err != nil {
		return nil, fmt.Errorf("limit: %w", err)
	}
	return l, nil
}

// Wrap returns next behind the limiter: a request reaches next only once
// it holds a slot, and gives the slot back when next returns (or panics).
// Its method value is the func(http.Handler) http.Handler that routers'
// Use methods take. Any number of handlers may be wrapped; they share the
// limiter's slots and queue.
func (l *Limiter) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !l.acquire(w, r) {
			return
		}
		defer l.release()
		next.ServeHTTP(w, r)
	})
}

// Close unregisters the limiter's callback from its MeterProvider: its
// instruments are no longer reported, and runway.limit.wait.duration is
// no longer recorded. The handlers it wrapped keep limiting. Close is
// idempotent; it returns the MeterProvider's error.
func (l *Limiter) Close() error {
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		l.closeErr = l.regs.Unregister()
	})
	return l.closeErr
}

func (l *Limiter) observe(_ context.Context, o metric.Observer) error {
	o.ObserveInt64(l.waitingObs, l.waiting.Load())
	for i := range l.rejected {
		o.ObserveInt64(l.rejectedObs, l.rejected[i].Load(), l.reasonOpts[i]...)
	}
	o.ObserveInt64(l.limitObs, int64(l.limit))
	o.ObserveInt64(l.queueObs, int64(l.queue))
	return nil
}

// acquire admits r or turns it away. When it returns false it has written
// the response and the request must end there; when it returns true the
// caller must call release once the handler returns.
func (l *Limiter) acquire(w http.ResponseWriter, r *http.Request) bool {
	l.mu.Lock()
	if l.active < l.limit && l.waiters.n == 0 {
		l.active++
		l.mu.Unlock()
		return true
	}
	if l.waiters.n >= l.queue {
		l.mu.Unlock()
		l.rejected[queueFull].Add(1)
		l.refuse(w)
		return false
	}
	wt := &waiter{ready: make(chan struct{})}
	l.waiters.push(wt)
	l.waiting.Store(int64(l.waiters.n))
	l.mu.Unlock()

	start := time.Now()
	ctx := r.Context()
	select {
	case <-wt.ready:
		l.recordWait(ctx, start)
		return true
	case <-ctx.Done():
	}
	l.mu.Lock()
	if wt.granted {
		// The slot arrived as the context ended: hand it on.
		l.mu.Unlock()
		l.release()
	} else {
		l.waiters.remove(wt)
		l.waiting.Store(int64(l.waiters.n))
		l.mu.Unlock()
	}
	l.recordWait(ctx, start)
	if ctx.Err() == context.DeadlineExceeded {
		l.rejected[deadline].Add(1)
		l.refuse(w)
		return false
	}
	// The client went away: nobody reads the answer, but an outer
	// middleware records it, as a client's doing, not a server error.
	l.rejected[canceled].Add(1)
	w.WriteHeader(statusClientClosedRequest)
	return false
}

func (l *Limiter) recordWait(ctx context.Context, start time.Time) {
	if !l.closed.Load() {
		l.waitHist.Record(ctx, time.Since(start).Seconds())
	}
}

// release frees the slot of an admitted request, handing it to the oldest
// waiter if there is one.
func (l *Limiter) release() {
	l.mu.Lock()
	if wt := l.waiters.head; wt != nil {
		l.waiters.remove(wt)
		l.waiting.Store(int64(l.waiters.n))
		wt.granted = true
		close(wt.ready)
	} else {
		l.active--
	}
	l.mu.Unlock()
}

// refuse answers 503 Service Unavailable with Retry-After.
func (l *Limiter) refuse(w http.ResponseWriter) {
	w.Header().Set("Retry-After", l.retryAfter)
	http.Error(w, "service unavailable: concurrency limit reached", http.StatusServiceUnavailable)
}

// waiter is one request waiting for a slot. ready is closed when the slot
// is handed over; granted (under Limiter.mu) says it was.
type waiter struct {
	ready      chan struct{}
	granted    bool
	prev, next *waiter
}

// waiters is a FIFO of waiters that can drop any element.
type waiters struct {
	head, tail *waiter
	n          int
}

func (q *waiters) push(w *waiter) {
	w.prev = q.tail
	if q.tail != nil {
		q.tail.next = w
	} else {
		q.head = w
	}
	q.tail = w
	q.n++
}

func (q *waiters) remove(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		q.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		q.tail = w.prev
	}
	w.prev, w.next = nil, nil
	q.n--
}
