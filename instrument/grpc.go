package instrument

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

// Attribute keys of the gRPC series, as named by the OpenTelemetry RPC
// semantic conventions (semconv v1.43, where the RPC conventions are a
// release candidate).
const (
	// RPCSystemKey is the RPC system: always "grpc" here.
	RPCSystemKey = attribute.Key("rpc.system.name")
	// RPCMethodKey is the full method name, "package.Service/Method"
	// (without the leading slash of the HTTP/2 path), for methods the
	// server has; UnknownRPCMethod for any other.
	RPCMethodKey = attribute.Key("rpc.method")
	// RPCStatusCodeKey is the gRPC status code of the finished RPC, by its
	// canonical name: "OK", "CANCELLED", "DEADLINE_EXCEEDED", ...
	RPCStatusCodeKey = attribute.Key("rpc.response.status_code")
)

// UnknownRPCMethod is the value of rpc.method for an RPC whose method is
// not one the server registered, so that a client cannot create series at
// will.
const UnknownRPCMethod = "_OTHER"

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

// GRPCOption configures the gRPC stats handler. WithMeterProvider and
// WithDurationBuckets are options of both the HTTP middleware and the gRPC
// stats handler.
type GRPCOption interface {
	applyGRPC(*grpcConfig) error
}

type grpcOptionFunc func(*grpcConfig) error

func (f grpcOptionFunc) applyGRPC(c *grpcConfig) error { return f(c) }

// grpcConfig is the resolved configuration of a gRPC stats handler.
type grpcConfig struct {
	sharedConfig
	methods           []string // from WithGRPCMethods
	services          []string // full methods of WithGRPCServices
	maxMethods        int
	streamsAsRequests bool
}

func newGRPCConfig(opts []GRPCOption) (*grpcConfig, error) {
	c := &grpcConfig{maxMethods: DefaultMaxRoutes}
	c.buckets = DefaultDurationBuckets
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.applyGRPC(c); err != nil {
			return nil, err
		}
	}
	c.resolve()
	return c, nil
}

// WithGRPCMethods sets the methods recorded as themselves in rpc.method,
// as full method names "/package.Service/Method" (the form of
// grpc.Method and stats.RPCTagInfo). Any other method is recorded as
// UnknownRPCMethod. Together with WithGRPCServices it replaces the
// default, which learns the methods the server dispatches (see
// NewGRPCStatsHandler). A name not of that form is an error.
func WithGRPCMethods(fullMethods ...string) GRPCOption {
	return grpcOptionFunc(func(c *grpcConfig) error {
		for i, m := range fullMethods {
			if !validFullMethod(m) {
				return optionError("WithGRPCMethods", "entry %d %q is not of the form /package.Service/Method", i, m)
			}
		}
		c.methods = append([]string(nil), fullMethods...)
		return nil
	})
}

// WithGRPCServices sets the methods recorded as themselves in rpc.method
// to those of the services described by descs (the generated
// pb.X_ServiceDesc variables, the ones passed to RegisterService). Any other
// method is recorded as UnknownRPCMethod. Together with WithGRPCMethods it
// replaces the default, which learns the methods the server dispatches. A
// nil description is an error.
func WithGRPCServices(descs ...*grpc.ServiceDesc) GRPCOption {
	return grpcOptionFunc(func(c *grpcConfig) error {
		var methods []string
		for i, d := range descs {
			if d == nil || d.ServiceName == "" {
				return optionError("WithGRPCServices", "entry %d is nil or has no service name", i)
			}
			for _, m := range d.Methods {
				methods = append(methods, "/"+d.ServiceName+"/"+m.MethodName)
			}
			for _, s := range d.Streams {
				methods = append(methods, "/"+d.ServiceName+"/"+s.StreamName)
			}
		}
		c.services = methods
		return nil
	})
}

// WithGRPCMaxMethods bounds the number of methods learned when neither
// WithGRPCMethods nor WithGRPCServices is given: once n methods are known,
// RPCs of a further method are recorded as UnknownRPCMethod. The default
// is DefaultMaxRoutes; n must be at least 1.
func WithGRPCMaxMethods(n int) GRPCOption {
	return grpcOptionFunc(func(c *grpcConfig) error {
		if n < 1 {
			return optionError("WithGRPCMaxMethods", "%d is less than 1", n)
		}
		c.maxMethods = n
		return nil
	})
}

// WithGRPCStreamsAsRequests counts streaming RPCs (client, server or
// bidirectional streaming) in runway.requests.in_flight, like unary RPCs,
// instead of in runway.streams.in_flight. The default, false, keeps
// long-lived streams out of the autoscaling signal: a pod holding a
// thousand idle watch streams is not a pod with a thousand requests of
// backlog.
func WithGRPCStreamsAsRequests(enabled bool) GRPCOption {
	return grpcOptionFunc(func(c *grpcConfig) error {
		c.streamsAsRequests = enabled
		return nil
	})
}

func validFullMethod(m string) bool {
	rest, ok := strings.CutPrefix(m, "/")
	if !ok {
		return false
	}
	i := strings.LastIndex(rest, "/")
	return i > 0 && i < len(rest)-1
}

// NewGRPCStatsHandler returns a gRPC server stats.Handler, installed with
// grpc.StatsHandler, that records the metrics of the HTTP middleware for
// every RPC the server dispatches to a handler:
//
//   - runway.requests.in_flight: unary RPCs from the moment gRPC hands them
//     to the handler chain (interceptors included) until the handler
//     returns. It is the same instrument as the HTTP middleware's: on one
//     MeterProvider the SDK adds both, so a server speaking HTTP and gRPC
//     reports one total.
//   - runway.streams.in_flight: streaming RPCs, unless
//     WithGRPCStreamsAsRequests.
//   - runway.requests: finished RPCs (unary and streaming), with
//     rpc.system.name "grpc", rpc.method and rpc.response.status_code.
//   - runway.request.duration: the time gRPC measured from handing the RPC
//     to the handler chain to its end, with rpc.system.name and rpc.method.
//
// rpc.method holds only methods the server has. By default they are
// learned: gRPC dispatches an RPC (and so reports its start) only for a
// registered method, answering any other with UNIMPLEMENTED before the
// handler, so such calls are not counted at all. A server with
// grpc.UnknownServiceHandler dispatches every method: give it
// WithGRPCServices or WithGRPCMethods, or its rpc.method values are
// whatever clients send, up to WithGRPCMaxMethods.
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
// records nothing. Per RPC it costs one small allocation, the context
// that carries the RPC's state from start to end. Build it once; it
// registers a callback on its MeterProvider for the life of the provider.
func NewGRPCStatsHandler(opts ...GRPCOption) (stats.Handler, error) {
	c, err := newGRPCConfig(opts)
	if err != nil {
		return nil, err
	}
	h := &grpcStatsHandler{
		methods:           newGRPCMethodTable(c),
		streamsAsRequests: c.streamsAsRequests,
	}
	if err := h.newInstruments(c); err != nil {
		return nil, err
	}
	return h, nil
}

type grpcStatsHandler struct {
	methods           *grpcMethodTable
	streamsAsRequests bool

	inflight atomic.Int64
	streams  atomic.Int64

	duration    metric.Float64Histogram
	inflightObs metric.Int64ObservableUpDownCounter
	streamsObs  metric.Int64ObservableUpDownCounter
	requests    metric.Int64ObservableCounter
}

var _ stats.Handler = (*grpcStatsHandler)(nil)

func (h *grpcStatsHandler) newInstruments(c *grpcConfig) error {
	meter := c.provider.Meter(ScopeName, metric.WithInstrumentationVersion(Version()))
	var err error
	if h.duration, err = meter.Float64Histogram(DurationName,
		metric.WithUnit(durationUnit),
		metric.WithDescription(durationDescription),
		metric.WithExplicitBucketBoundaries(c.buckets...),
	); err != nil {
		return fmt.Errorf("instrument: creating %s: %w", DurationName, err)
	}
	if h.inflightObs, err = meter.Int64ObservableUpDownCounter(InFlightName,
		metric.WithUnit(requestUnit),
		metric.WithDescription(inFlightDescription),
	); err != nil {
		return fmt.Errorf("instrument: creating %s: %w", InFlightName, err)
	}
	if h.streamsObs, err = meter.Int64ObservableUpDownCounter(StreamsInFlightName,
		metric.WithUnit(streamUnit),
		metric.WithDescription(StreamsInFlightDescription),
	); err != nil {
		return fmt.Errorf("instrument: creating %s: %w", StreamsInFlightName, err)
	}
	if h.requests, err = meter.Int64ObservableCounter(RequestsName,
		metric.WithUnit(requestUnit),
		metric.WithDescription(requestsDescription),
	); err != nil {
		return fmt.Errorf("instrument: creating %s: %w", RequestsName, err)
	}
	if _, err := meter.RegisterCallback(h.observe, h.inflightObs, h.streamsObs, h.requests); err != nil {
		return fmt.Errorf("instrument: registering callback: %w", err)
	}
	return nil
}

// rpcState is the context of one RPC from TagRPC on: it carries the RPC's
// state to HandleRPC in the same allocation as the context itself.
type rpcState struct {
	context.Context
	owner      *grpcStatsHandler
	fullMethod string
	method     *grpcMethod // set at Begin
	kind       rpcKind
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
	if k, ok := key.(*grpcStatsHandler); ok && k == s.owner {
		return s
	}
	return s.Context.Value(key)
}

func (h *grpcStatsHandler) state(ctx context.Context) *rpcState {
	s, _ := ctx.Value(h).(*rpcState)
	return s
}

// TagRPC attaches the RPC's state to its context.
func (h *grpcStatsHandler) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	return &rpcState{Context: ctx, owner: h, fullMethod: info.FullMethodName}
}

// HandleRPC counts an RPC in flight at its Begin and records it at its
// End; other events are ignored.
func (h *grpcStatsHandler) HandleRPC(ctx context.Context, rs stats.RPCStats) {
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
		h.duration.Record(ctx, ev.EndTime.Sub(ev.BeginTime).Seconds(), m.recordOpts...)
		m.counts[grpcCodeIndex(status.Code(ev.Error))].Add(1)
		if s.kind == rpcStream {
			h.streams.Add(-1)
		} else {
			h.inflight.Add(-1)
		}
		s.kind = rpcNotStarted
	}
}

// TagConn returns ctx unchanged: connections are not measured.
func (h *grpcStatsHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

// HandleConn does nothing: connections are not measured.
func (h *grpcStatsHandler) HandleConn(context.Context, stats.ConnStats) {}

// observe reports the asynchronous instruments.
func (h *grpcStatsHandler) observe(_ context.Context, o metric.Observer) error {
	o.ObserveInt64(h.inflightObs, h.inflight.Load())
	o.ObserveInt64(h.streamsObs, h.streams.Load())
	t := h.methods
	t.collectMu.Lock()
	defer t.collectMu.Unlock()
	for _, m := range t.all() {
		for code := range m.counts {
			n := m.counts[code].Load()
			if n == 0 {
				continue
			}
			if m.countOpts[code] == nil {
				m.countOpts[code] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(
					RPCSystemKey.String("grpc"),
					RPCMethodKey.String(m.name),
					RPCStatusCodeKey.String(grpcCodeNames[code]),
				))}
			}
			o.ObserveInt64(h.requests, n, m.countOpts[code]...)
		}
	}
	return nil
}

// grpcMethod holds the counters of one rpc.method value.
type grpcMethod struct {
	name       string
	recordOpts []metric.RecordOption
	counts     [numGRPCCodes]atomic.Int64
	// countOpts caches the attribute option of each code for collection,
	// under grpcMethodTable.collectMu.
	countOpts [numGRPCCodes][]metric.ObserveOption
}

func newGRPCMethod(name string) *grpcMethod {
	return &grpcMethod{
		name: name,
		recordOpts: []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(
			RPCSystemKey.String("grpc"), RPCMethodKey.String(name),
		))},
	}
}

// grpcMethodTable is the bounded set of methods of one stats handler,
// keyed by full method name ("/package.Service/Method"). Lookups are
// lock-free; learning a method replaces the map (copy on write).
type grpcMethodTable struct {
	learn  bool
	max    int
	other  *grpcMethod
	byName atomic.Pointer[map[string]*grpcMethod]
	list   atomic.Pointer[[]*grpcMethod]
	mu     sync.Mutex
	// collectMu serialises collections, which fill countOpts.
	collectMu sync.Mutex
}

func newGRPCMethodTable(c *grpcConfig) *grpcMethodTable {
	t := &grpcMethodTable{max: c.maxMethods, other: newGRPCMethod(UnknownRPCMethod)}
	known := append(append([]string(nil), c.methods...), c.services...)
	t.learn = c.methods == nil && c.services == nil
	byName := make(map[string]*grpcMethod, len(known))
	list := []*grpcMethod{t.other}
	for _, full := range known {
		if _, dup := byName[full]; dup {
			continue
		}
		m := newGRPCMethod(full[1:])
		byName[full] = m
		list = append(list, m)
	}
	t.byName.Store(&byName)
	t.list.Store(&list)
	return t
}

// dispatched returns the method of an RPC that gRPC dispatched to a
// handler: a known method, a newly learned one while learning and below
// the bound, else the UnknownRPCMethod entry.
func (t *grpcMethodTable) dispatched(full string) *grpcMethod {
	if m, ok := (*t.byName.Load())[full]; ok {
		return m
	}
	if !t.learn || !validFullMethod(full) {
		return t.other
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	byName := *t.byName.Load()
	if m, ok := byName[full]; ok {
		return m
	}
	list := *t.list.Load()
	if len(list) > t.max { // the UnknownRPCMethod entry does not count
		return t.other
	}
	m := newGRPCMethod(full[1:])
	next := make(map[string]*grpcMethod, len(byName)+1)
	for k, v := range byName {
		next[k] = v
	}
	next[full] = m
	nextList := append(list[:len(list):len(list)], m)
	t.list.Store(&nextList)
	t.byName.Store(&next)
	return m
}

func (t *grpcMethodTable) all() []*grpcMethod { return *t.list.Load() }
