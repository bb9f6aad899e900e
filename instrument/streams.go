package instrument

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/otel-runway/runway/instrument/internal/contract"
	"go.opentelemetry.io/otel/metric"
)

// Long-lived streams — server-sent events, WebSockets and other hijacked
// connections, routes marked with WithStreamingRoutes — would make
// runway.requests.in_flight and runway.request.duration lie about load: an
// idle WebSocket is not a request the server is working on. They are
// counted in runway.streams.in_flight instead.
//
// A request becomes a stream at one of these moments, and never goes back:
//
//   - From the start, when its route group is one of WithStreamingRoutes.
//     It never enters runway.requests.in_flight.
//   - When the handler writes its final header (WriteHeader, or the first
//     Write, WriteString, ReadFrom or Flush, which imply 200) with a
//     Content-Type of text/event-stream set, or with status 101.
//   - When the handler hijacks the connection successfully.
//
// At that moment it leaves runway.requests.in_flight (and _by_route), its
// runway.requests.in_flight_time stops accruing (the time before it
// declared itself was request time), and runway.streams.in_flight goes up
// by one until the handler returns. A stream is counted in runway.requests
// with its status when it ends, but never in runway.request.duration.

// streamClassifier holds the stream state of one middleware.
type streamClassifier struct {
	rec      *recorder
	routes   map[string]struct{} // WithStreamingRoutes
	inflight atomic.Int64
	obs      metric.Int64ObservableUpDownCounter
}

func newStreamClassifier(c *config, rec *recorder) (*streamClassifier, error) {
	if c.noStreams {
		return nil, nil
	}
	s := &streamClassifier{rec: rec, routes: make(map[string]struct{}, len(c.streamRoutes))}
	for _, name := range c.streamRoutes {
		s.routes[name] = struct{}{}
	}
	meter := contract.Meter(c.provider)
	var err error
	if s.obs, err = contract.NewStreamsInFlight(meter); err != nil {
		return nil, fmt.Errorf("instrument: %w", err)
	}
	if err := c.regs.Register(meter, "streams", func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(s.obs, s.inflight.Load())
		return nil
	}, s.obs); err != nil {
		return nil, fmt.Errorf("instrument: %w", err)
	}
	return s, nil
}

// streamState is the per-request stream state, kept in the pooled
// responseWriter so it costs no allocation.
type streamState struct {
	c      *streamClassifier // nil: classification off
	rt     *route
	act    int // the series of http.server.active_requests (activeIndex)
	start  time.Time
	stream bool // the request is a stream
	// timed is set while the request counts in in_flight_time.
	timed bool
}

// begin prepares rw to classify the request of route rt that started at
// start. It reports whether the request is a stream from the start (its
// route is marked streaming); if so it is already counted as one.
func (s *streamClassifier) begin(rw *responseWriter, rt *route, act int, start time.Time) bool {
	rw.st = streamState{c: s, rt: rt, act: act, start: start}
	if len(s.routes) == 0 {
		return false
	}
	if _, ok := s.routes[rt.name]; !ok {
		return false
	}
	rw.st.stream = true
	s.inflight.Add(1)
	return true
}

// headerWritten is called when the final status code is decided.
func (st *streamState) headerWritten(h http.Header, code int) {
	if st.c == nil || st.stream {
		return
	}
	if code == http.StatusSwitchingProtocols {
		st.declare()
		return
	}
	if ct := h["Content-Type"]; len(ct) > 0 && isEventStream(ct[0]) {
		st.declare()
	}
}

// declare moves an in-flight request to the streams.
func (st *streamState) declare() {
	if st.c == nil || st.stream {
		return
	}
	st.stream = true
	rec := st.c.rec
	if st.timed {
		rec.timeEnd(st.rt, st.start, time.Since(st.start))
		st.timed = false
	}
	rec.leave(st.rt, st.act)
	st.c.inflight.Add(1)
}

// end records the end of a stream of route rt under recRoute.
func (s *streamClassifier) end(recRoute *route, method, status int) {
	s.rec.routes.count(recRoute, method, status)
	s.inflight.Add(-1)
}

// isEventStream reports whether a Content-Type value is text/event-stream,
// with or without parameters, in any case.
func isEventStream(ct string) bool {
	const mt = "text/event-stream"
	if len(ct) < len(mt) || !strings.EqualFold(ct[:len(mt)], mt) {
		return false
	}
	rest := ct[len(mt):]
	return rest == "" || rest[0] == ';' || rest[0] == ' ' || rest[0] == '\t'
}
