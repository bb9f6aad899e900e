package instrument

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

// Instruments of the concurrency limit (WithConcurrencyLimit).
const (
	limitWaitingName     = "runway.limit.waiting"
	limitRejectedName    = "runway.limit.rejected"
	limitWaitName        = "runway.limit.wait.duration"
	limitConcurrencyName = "runway.limit.concurrency"
	limitQueueName       = "runway.limit.queue"

	// limitReasonKey says why a request was turned away:
	// limitReasonQueueFull or limitReasonCanceled.
	limitReasonKey = attribute.Key("runway.limit.reason")
	// limitReasonQueueFull: the limit was reached and the wait queue was
	// full; the request was answered 503 at once.
	limitReasonQueueFull = "queue_full"
	// limitReasonCanceled: the request's context ended (the client went
	// away, or a deadline passed) while it waited in the queue.
	limitReasonCanceled = "canceled"
)

// defaultRetryAfter is the Retry-After of a request refused by the
// concurrency limit unless WithRetryAfter says otherwise.
const defaultRetryAfter = time.Second

// defaultLimitWaitBuckets are the bucket boundaries, in seconds, of
// runway.limit.wait.duration.
var defaultLimitWaitBuckets = []float64{
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}

// limiter admits at most limit requests at once and lets up to queue more
// wait, first in, first out. Everything is under mu: a request takes it
// once to enter and once to leave.
type limiter struct {
	limit, queue int
	retryAfter   string

	mu      sync.Mutex
	active  int     // admitted and not yet released
	waiters waiters // waiting, oldest first

	waiting     atomic.Int64 // len(waiters), for collection
	rejectFull  atomic.Int64
	rejectCanc  atomic.Int64
	waitHist    metric.Float64Histogram
	waitingObs  metric.Int64ObservableUpDownCounter
	rejectedObs metric.Int64ObservableCounter
	limitObs    metric.Int64ObservableUpDownCounter
	queueObs    metric.Int64ObservableUpDownCounter
	fullOpt     []metric.ObserveOption
	cancOpt     []metric.ObserveOption
}

// waiter is one request waiting for a slot. ready is closed when the slot
// is handed over; granted (under limiter.mu) says it was.
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

// newLimiter builds the limiter of c, or returns nil when c has no limit.
func newLimiter(c *config) (*limiter, error) {
	if c.limit == 0 {
		return nil, nil
	}
	if c.retryAfter == 0 {
		c.retryAfter = defaultRetryAfter
	}
	meter := contract.Meter(c.provider)
	l := &limiter{
		limit:      c.limit,
		queue:      c.limitQueue,
		retryAfter: strconv.FormatInt(int64((c.retryAfter+time.Second-1)/time.Second), 10),
		fullOpt:    []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(limitReasonKey.String(limitReasonQueueFull)))},
		cancOpt:    []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(limitReasonKey.String(limitReasonCanceled)))},
	}
	var err error
	if l.waitHist, err = meter.Float64Histogram(limitWaitName,
		metric.WithUnit(durationUnit),
		metric.WithDescription("Time requests spent waiting for a slot under the concurrency limit (only requests that had to wait)."),
		metric.WithExplicitBucketBoundaries(defaultLimitWaitBuckets...),
	); err != nil {
		return nil, fmt.Errorf("instrument: creating %s: %w", limitWaitName, err)
	}
	if l.waitingObs, err = meter.Int64ObservableUpDownCounter(limitWaitingName,
		metric.WithUnit(requestUnit),
		metric.WithDescription("Requests waiting for a slot under the concurrency limit."),
	); err != nil {
		return nil, fmt.Errorf("instrument: creating %s: %w", limitWaitingName, err)
	}
	if l.rejectedObs, err = meter.Int64ObservableCounter(limitRejectedName,
		metric.WithUnit(requestUnit),
		metric.WithDescription("Requests turned away by the concurrency limit: queue full (answered 503) or canceled while waiting."),
	); err != nil {
		return nil, fmt.Errorf("instrument: creating %s: %w", limitRejectedName, err)
	}
	if l.limitObs, err = meter.Int64ObservableUpDownCounter(limitConcurrencyName,
		metric.WithUnit(requestUnit),
		metric.WithDescription("The concurrency limit: requests that may run at once."),
	); err != nil {
		return nil, fmt.Errorf("instrument: creating %s: %w", limitConcurrencyName, err)
	}
	if l.queueObs, err = meter.Int64ObservableUpDownCounter(limitQueueName,
		metric.WithUnit(requestUnit),
		metric.WithDescription("The capacity of the concurrency limit's wait queue."),
	); err != nil {
		return nil, fmt.Errorf("instrument: creating %s: %w", limitQueueName, err)
	}
	if err := c.regs.Register(meter, "limit", l.observe, l.waitingObs, l.rejectedObs, l.limitObs, l.queueObs); err != nil {
		return nil, fmt.Errorf("instrument: %w", err)
	}
	return l, nil
}

func (l *limiter) observe(_ context.Context, o metric.Observer) error {
	o.ObserveInt64(l.waitingObs, l.waiting.Load())
	o.ObserveInt64(l.rejectedObs, l.rejectFull.Load(), l.fullOpt...)
	o.ObserveInt64(l.rejectedObs, l.rejectCanc.Load(), l.cancOpt...)
	o.ObserveInt64(l.limitObs, int64(l.limit))
	o.ObserveInt64(l.queueObs, int64(l.queue))
	return nil
}

// acquire admits r or turns it away. When it returns false it has written
// the response (503 with Retry-After) and the request must end there; when
// it returns true the caller must call release once the handler returns.
func (l *limiter) acquire(w http.ResponseWriter, r *http.Request) bool {
	l.mu.Lock()
	if l.active < l.limit && l.waiters.n == 0 {
		l.active++
		l.mu.Unlock()
		return true
	}
	if l.waiters.n >= l.queue {
		l.mu.Unlock()
		l.rejectFull.Add(1)
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
		l.waitHist.Record(ctx, time.Since(start).Seconds())
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
	l.rejectCanc.Add(1)
	l.waitHist.Record(ctx, time.Since(start).Seconds())
	l.refuse(w)
	return false
}

// release frees the slot of an admitted request, handing it to the oldest
// waiter if there is one.
func (l *limiter) release() {
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
func (l *limiter) refuse(w http.ResponseWriter) {
	w.Header().Set("Retry-After", l.retryAfter)
	http.Error(w, "service unavailable: concurrency limit reached", http.StatusServiceUnavailable)
}
