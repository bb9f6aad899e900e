// Package runwaygrpc measures gRPC servers with runway's metrics: a server
// stats.Handler (NewServerHandler) that records runway.requests.in_flight,
// runway.requests.in_flight_time, runway.streams.in_flight,
// runway.requests and runway.request.duration for every RPC, with the same
// instruments as the HTTP middleware of package
// github.com/otel-runway/runway/instrument, so that on one MeterProvider a
// server speaking HTTP and gRPC reports one in-flight total.
//
// It is a package of its own so that a program serving only HTTP does not
// compile gRPC.
package runwaygrpc

//go:generate go run ../internal/surface/cmd/apirecord

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otel-runway/runway/instrument/internal/contract"
	"github.com/otel-runway/runway/instrument/internal/names"
	"github.com/otel-runway/runway/instrument/internal/timeweighted"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/semconv/v1.43.0/rpcconv"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

// Attribute keys of the gRPC series, as named by the OpenTelemetry RPC
// semantic conventions (semconv v1.43, where the RPC conventions are a
// release candidate), on runway's instruments and on
// rpc.server.call.duration alike: rpc.system.name is always "grpc";
// rpc.method is the full method name "package.Service/Method" for methods
// the server has, "_OTHER" for any other; rpc.response.status_code is the
// canonical name of the gRPC status code ("OK", "CANCELLED", ...).
const (
	rpcSystemKey     = semconv.RPCSystemNameKey
	rpcMethodKey     = semconv.RPCMethodKey
	rpcStatusCodeKey = semconv.RPCResponseStatusCodeKey
)

// rpc.server.call.duration, read from the generated semantic conventions.
var (
	rpcDurationName        = rpcconv.ServerCallDuration{}.Name()
	rpcDurationUnit        = rpcconv.ServerCallDuration{}.Unit()
	rpcDurationDescription = rpcconv.ServerCallDuration{}.Description()
)

// grpcCodeNames are the canonical names of the gRPC status codes, indexed
// by code. Codes outside this table are recorded as UNKNOWN, as gRPC
// clients treat them.
var grpcCodeNames = [...]string{
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
	"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
	"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
	"INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
}

const numGRPCCodes = len(grpcCodeNames)

func grpcCodeIndex(c codes.Code) int {
	if int(c) >= numGRPCCodes {
		return int(codes.Unknown)
	}
	return int(c)
}

// NewServerHandler returns a gRPC server stats.Handler, installed with
// grpc.StatsHandler, that records the metrics of the HTTP middleware for
// every RPC the server dispatches to a handler:
//
//   - runway.requests.in_flight: unary RPCs from the moment gRPC hands them
//     to the handler chain (interceptors included) until the handler
//     returns. It is the same instrument as the HTTP middleware's: on one
//     MeterProvider the SDK adds both, so a server speaking HTTP and gRPC
//     reports one total.
//   - runway.requests.in_flight_time: the request-seconds of the same
//     RPCs (the time-weighted count; no by-route variant, since RPCs have
//     no http.route), unless WithoutInFlightTime.
//   - runway.streams.in_flight: streaming RPCs, unless
//     WithoutStreams.
//   - runway.requests: finished RPCs (unary and streaming), with
//     rpc.system.name "grpc", rpc.method and rpc.response.status_code.
//   - runway.request.duration: the time gRPC measured from handing the RPC
//     to the handler chain to its end, with rpc.system.name and rpc.method.
//
// These are the names of instrument.ConventionsRunway, the default; with
// instrument.ConventionsOTel, rpc.server.call.duration (the OpenTelemetry RPC semantic
// conventions) replaces runway.requests and runway.request.duration, and
// the in-flight instruments keep their runway names (the conventions have
// no in-flight metric for RPCs).
//
// rpc.method holds only methods the server has. By default they are
// learned: gRPC dispatches an RPC (and so reports its start) only for a
// registered method, answering any other with UNIMPLEMENTED before the
// handler, so such calls are not counted at all. A server with
// grpc.UnknownServiceHandler dispatches every method: give it
// WithServices or WithMethods, or its rpc.method values are
// whatever clients send, up to WithMaxMethods.
//
// Contract: the in-flight count is decremented when gRPC reports the end
// of the RPC, which it does when the handler returns, whatever it returns
// (an error, a cancelled or expired context); a panic that a recovery
// interceptor turns into an error ends the RPC like any error. A panic
// that nothing recovers ends the process. A handler that ignores
// cancellation keeps its RPC in flight until it returns, since it still
// holds the server's resources.
//
// The handler is for servers: on a client (grpc.WithStatsHandler) it
// records nothing. runway.requests keeps at most 1,999 (method, status
// code) series of its own, as the OpenTelemetry SDK does by default (its
// cardinality limit, 2000): RPCs of a further combination are counted in
// one series with otel.metric.overflow=true. Per RPC it costs one small
// allocation, the context
// that carries the RPC's state from start to end. It registers a callback
// on its MeterProvider, reported until Close.
func NewServerHandler(opts ...Option) (*ServerHandler, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	h := &ServerHandler{
		epoch:             time.Now(),
		methods:           newGRPCMethodTable(c),
		streamsAsRequests: c.noStreams,
	}
	if err := h.newInstruments(c); err != nil {
		return nil, err
	}
	return h, nil
}

// ServerHandler is a gRPC server stats.Handler that records runway's
// metrics (see NewServerHandler). Close releases what it registered on its
// MeterProvider.
type ServerHandler struct {
	methods           *grpcMethodTable
	streamsAsRequests bool

	inflight atomic.Int64
	streams  atomic.Int64
	// epoch is the origin of the time-weighted counter's clock; tw is
	// the counter, its collection state under methods.collectMu.
	epoch time.Time
	tw    timeweighted.Counter

	regs      contract.Registrations
	closed    atomic.Bool // set by Close: nothing more is recorded
	closeOnce sync.Once
	closeErr  error

	duration     metric.Float64Histogram         // nil without runway names
	otelDuration metric.Float64Histogram         // rpc.server.call.duration, or nil
	inflightTime metric.Float64ObservableCounter // nil with WithoutInFlightTime
	inflightObs  metric.Int64ObservableUpDownCounter
	streamsObs   metric.Int64ObservableUpDownCounter // nil with WithoutStreams
	requests     metric.Int64ObservableCounter       // nil without runway names
	twWords      []uint64                            // scratch of collections, under methods.collectMu
}

var _ stats.Handler = (*ServerHandler)(nil)

func (h *ServerHandler) newInstruments(c *config) error {
	meter := contract.Meter(c.provider)
	var err error
	if c.conv.Runway {
		if h.duration, err = contract.NewDuration(meter, c.buckets); err != nil {
			return fmt.Errorf("runwaygrpc: %w", err)
		}
	}
	if c.conv.OTelDuration {
		if h.otelDuration, err = meter.Float64Histogram(rpcDurationName,
			metric.WithUnit(rpcDurationUnit),
			metric.WithDescription(rpcDurationDescription),
			metric.WithExplicitBucketBoundaries(c.buckets...),
		); err != nil {
			return fmt.Errorf("runwaygrpc: creating %s: %w", rpcDurationName, err)
		}
	}
	if h.inflightObs, err = contract.NewInFlight(meter); err != nil {
		return fmt.Errorf("runwaygrpc: %w", err)
	}
	observed := []metric.Observable{h.inflightObs}
	if !c.noInflightTime {
		if h.inflightTime, err = contract.NewInFlightTime(meter); err != nil {
			return fmt.Errorf("runwaygrpc: %w", err)
		}
		observed = append(observed, h.inflightTime)
	}
	if !c.noStreams {
		if h.streamsObs, err = contract.NewStreamsInFlight(meter); err != nil {
			return fmt.Errorf("runwaygrpc: %w", err)
		}
		observed = append(observed, h.streamsObs)
	}
	if c.conv.Runway {
		if h.requests, err = contract.NewRequests(meter); err != nil {
			return fmt.Errorf("runwaygrpc: %w", err)
		}
		observed = append(observed, h.requests)
	}
	if err := h.regs.Register(meter, "runwaygrpc", h.observe, observed...); err != nil {
		return fmt.Errorf("runwaygrpc: %w", err)
	}
	return nil
}

// Close ends the handler's reporting: it unregisters its callback from
// its MeterProvider, so its asynchronous instruments are no longer
// reported, and from then on it records nothing, synchronous instruments
// (runway.request.duration, rpc.server.call.duration) included. RPCs
// that start after Close are not measured; RPCs running at Close finish
// unrecorded. The handler can be garbage collected once the server no
// longer holds it. Close is idempotent.
//
// As with the HTTP middleware, a handler that closes while others on the
// same MeterProvider go on takes its share out of the summed counters
// (runway.requests, runway.requests.in_flight_time), which Prometheus
// reads as a counter reset.
func (h *ServerHandler) Close() error {
	h.closeOnce.Do(func() {
		h.closed.Store(true)
		h.closeErr = h.regs.Unregister()
	})
	return h.closeErr
}

// rpcState is the context of one RPC from TagRPC on: it carries the RPC's
// state to HandleRPC in the same allocation as the context itself.
type rpcState struct {
	context.Context
	owner      *ServerHandler
	fullMethod string
	method     *grpcMethod // set at Begin
	kind       rpcKind
	timed      bool // counted in in_flight_time
}

type rpcKind uint8

const (
	rpcNotStarted rpcKind = iota
	rpcUnary              // counted in runway.requests.in_flight
	rpcStream             // counted in runway.streams.in_flight
)

// Value returns the state for its owner's key and defers every other key
// to the parent context.
func (s *rpcState) Value(key any) any {
	if k, ok := key.(*ServerHandler); ok && k == s.owner {
		return s
	}
	return s.Context.Value(key)
}

func (h *ServerHandler) state(ctx context.Context) *rpcState {
	s, _ := ctx.Value(h).(*rpcState)
	return s
}

// TagRPC attaches the RPC's state to its context.
func (h *ServerHandler) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	if h.closed.Load() {
		return ctx // not measured: HandleRPC finds no state
	}
	return &rpcState{Context: ctx, owner: h, fullMethod: info.FullMethodName}
}

// HandleRPC counts an RPC in flight at its Begin and records it at its
// End; other events are ignored.
func (h *ServerHandler) HandleRPC(ctx context.Context, rs stats.RPCStats) {
	switch ev := rs.(type) {
	case *stats.Begin:
		if ev.Client {
			return
		}
		s := h.state(ctx)
		if s == nil || s.kind != rpcNotStarted {
			return
		}
		s.method = h.methods.dispatched(s.fullMethod)
		if (ev.IsClientStream || ev.IsServerStream) && !h.streamsAsRequests {
			s.kind = rpcStream
			h.streams.Add(1)
		} else {
			s.kind = rpcUnary
			h.inflight.Add(1)
			s.timed = h.inflightTime != nil && h.tw.Start(timeweighted.Ticks(ev.BeginTime.Sub(h.epoch)))
		}
	case *stats.End:
		if ev.Client {
			return
		}
		s := h.state(ctx)
		if s == nil || s.kind == rpcNotStarted {
			return
		}
		m := s.method
		secs := ev.EndTime.Sub(ev.BeginTime).Seconds()
		code := grpcCodeIndex(status.Code(ev.Error))
		if !h.closed.Load() {
			if h.duration != nil {
				h.duration.Record(ctx, secs, m.recordOpts...)
			}
			if h.otelDuration != nil {
				h.otelDuration.Record(ctx, secs, m.otelOpts[code]...)
			}
			h.methods.count(m, code)
		}
		if s.kind == rpcStream {
			h.streams.Add(-1)
		} else {
			if s.timed {
				h.tw.End(timeweighted.Ticks(ev.EndTime.Sub(h.epoch)))
				s.timed = false
			}
			h.inflight.Add(-1)
		}
		s.kind = rpcNotStarted
	}
}

// TagConn returns ctx unchanged: connections are not measured.
func (h *ServerHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

// HandleConn does nothing: connections are not measured.
func (h *ServerHandler) HandleConn(context.Context, stats.ConnStats) {}

// observe reports the asynchronous instruments.
func (h *ServerHandler) observe(_ context.Context, o metric.Observer) error {
	o.ObserveInt64(h.inflightObs, h.inflight.Load())
	if h.streamsObs != nil {
		o.ObserveInt64(h.streamsObs, h.streams.Load())
	}
	t := h.methods
	t.collectMu.Lock()
	defer t.collectMu.Unlock()
	if h.inflightTime != nil {
		h.twWords = timeweighted.Collect(h.epoch, 1, func(int) *timeweighted.Counter { return &h.tw }, h.twWords,
			func(i int, secs float64) {
				if i < 0 {
					o.ObserveFloat64(h.inflightTime, secs)
				}
			})
	}
	if h.requests == nil {
		return nil
	}
	for _, m := range t.all() {
		for code := range m.counts {
			n := m.counts[code].Load()
			if n == 0 {
				continue
			}
			if m.countOpts[code] == nil {
				m.countOpts[code] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(
					semconv.RPCSystemNameGRPC,
					rpcMethodKey.String(m.name),
					rpcStatusCodeKey.String(grpcCodeNames[code]),
				))}
			}
			o.ObserveInt64(h.requests, n, m.countOpts[code]...)
		}
	}
	if n := t.overflow.Load(); n > 0 {
		o.ObserveInt64(h.requests, n, t.overflowOpt...)
	}
	return nil
}

// grpcMethod holds the counters of one rpc.method value.
type grpcMethod struct {
	name       string
	recordOpts []metric.RecordOption
	// otelOpts are the attribute options of rpc.server.call.duration, per
	// status code; nil without it.
	otelOpts *[numGRPCCodes][]metric.RecordOption
	counts   [numGRPCCodes]atomic.Int64
	// countOpts caches the attribute option of each code for collection,
	// under grpcMethodTable.collectMu.
	countOpts [numGRPCCodes][]metric.ObserveOption
}

func newGRPCMethod(name string, otel bool) *grpcMethod {
	m := &grpcMethod{
		name: name,
		recordOpts: []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(
			semconv.RPCSystemNameGRPC, rpcMethodKey.String(name),
		))},
	}
	if otel {
		m.otelOpts = new([numGRPCCodes][]metric.RecordOption)
		for code := range m.otelOpts {
			attrs := []attribute.KeyValue{
				semconv.RPCSystemNameGRPC,
				rpcMethodKey.String(name),
				rpcStatusCodeKey.String(grpcCodeNames[code]),
			}
			if serverError(codes.Code(code)) {
				attrs = append(attrs, contract.ErrorTypeKey.String(grpcCodeNames[code]))
			}
			m.otelOpts[code] = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attrs...))}
		}
	}
	return m
}

// serverError reports whether a gRPC status code is an error of the
// server, recorded with error.type as the RPC semantic conventions define
// for gRPC servers.
func serverError(c codes.Code) bool {
	switch c {
	case codes.Unknown, codes.DeadlineExceeded, codes.Unimplemented,
		codes.Internal, codes.Unavailable, codes.DataLoss:
		return true
	}
	return false
}

// grpcMethodTable is the bounded set of methods of one stats handler,
// keyed by full method name ("/package.Service/Method").
type grpcMethodTable struct {
	learn bool
	names names.Table[grpcMethod]
	other *grpcMethod
	mu    sync.Mutex
	// series counts the runway.requests series (method, code) begun,
	// under mu; past contract.DefaultMaxSeries − 1 of them, RPCs of a new
	// combination are counted in overflow, reported with
	// otel.metric.overflow=true as the SDK does past its cardinality
	// limit.
	series      int
	overflow    atomic.Int64
	overflowOpt []metric.ObserveOption
	// collectMu serialises collections, which fill countOpts.
	collectMu sync.Mutex
}

// count adds one finished RPC of method m with the code index code. The
// first RPC of a (method, code) pair begins a series, within the bound.
func (t *grpcMethodTable) count(m *grpcMethod, code int) {
	c := &m.counts[code]
	if c.Load() > 0 {
		c.Add(1)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if c.Load() == 0 {
		if t.series >= contract.DefaultMaxSeries-1 { // the overflow series is one
			t.overflow.Add(1)
			return
		}
		t.series++
	}
	c.Add(1)
}

func newGRPCMethodTable(c *config) *grpcMethodTable {
	otel := c.conv.OTelDuration
	t := &grpcMethodTable{other: newGRPCMethod(contract.Other, otel)}
	t.overflowOpt = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(contract.OverflowKey.Bool(true)))}
	t.learn = c.methods == nil && c.services == nil
	t.names.Init(c.maxMethods, func(full string) *grpcMethod { return newGRPCMethod(full[1:], otel) })
	t.names.Fixed("", t.other) // no full method name is ""
	for _, full := range append(append([]string(nil), c.methods...), c.services...) {
		t.names.Fixed(full, newGRPCMethod(full[1:], otel))
	}
	return t
}

// dispatched returns the method of an RPC that gRPC dispatched to a
// handler: a known method, a newly learned one while learning and below
// the bound, else the "_OTHER" entry.
func (t *grpcMethodTable) dispatched(full string) *grpcMethod {
	if m, ok := t.names.Find(full); ok {
		return m
	}
	if !t.learn || !validFullMethod(full) {
		return t.other
	}
	if m, ok := t.names.Lookup(full); ok {
		return m
	}
	return t.other
}

func (t *grpcMethodTable) all() []*grpcMethod { return t.names.All() }
