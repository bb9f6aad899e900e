package runwaygrpc

import (
	"errors"
	"strings"

	"github.com/otel-runway/runway/instrument"
	"github.com/otel-runway/runway/instrument/internal/contract"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc"
)

// Option configures the stats handler of NewServerHandler. Options are
// applied in order; a later option of the same kind replaces an earlier
// one. A nil Option is ignored. NewServerHandler reports every invalid
// option, not only the first: its error joins one error per bad option
// (errors.Join), each naming its option and wrapping
// instrument.ErrInvalidOption.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

// config is the resolved configuration of a stats handler.
type config struct {
	provider       metric.MeterProvider // nil: the global provider
	buckets        []float64
	bucketsSet     bool     // WithDurationBuckets was given
	methods        []string // from WithMethods
	services       []string // full methods of WithServices
	maxMethods     int
	maxMethodsSet  bool // WithMaxMethods was given
	noStreams      bool // WithoutStreams
	noInflightTime bool // WithoutInFlightTime
	conv           contract.Families
}

func newConfig(opts []Option) (*config, error) {
	c := &config{maxMethods: contract.DefaultMaxSeries, buckets: contract.DurationBuckets(),
		conv: contract.Families{Runway: true}}
	var errs []error
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(c); err != nil {
			errs = append(errs, err)
		}
	}
	if c.maxMethodsSet && (c.methods != nil || c.services != nil) {
		errs = append(errs, optionError("WithMaxMethods", "bounds the methods learned, and WithMethods or WithServices turns learning off"))
	}
	if c.bucketsSet && !c.conv.Runway && !c.conv.OTelDuration {
		errs = append(errs, optionError("WithDurationBuckets", "the conventions %q record no duration histogram", instrument.ConventionsOTelActive))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

func optionError(option, format string, args ...any) error {
	return contract.OptionError("runwaygrpc", option, format, args...)
}

// WithMeterProvider sets the MeterProvider the instruments are created
// from. The default is the global provider, otel.GetMeterProvider(), read
// when the handler is constructed. A nil provider is an error.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) error {
		if mp == nil {
			return optionError("WithMeterProvider", "nil MeterProvider")
		}
		c.provider = mp
		return nil
	})
}

// WithDurationBuckets sets the explicit bucket boundaries, in seconds, of
// runway.request.duration. The default is those of the HTTP middleware
// (the OpenTelemetry HTTP semantic conventions, 0.005 … 10): on one
// MeterProvider the HTTP middleware and the stats handler share the
// instrument, so give both the same boundaries. They must be finite,
// non-negative and strictly increasing, at least one. With
// instrument.ConventionsOTelActive, which records no histogram, it is an
// error.
func WithDurationBuckets(bounds ...float64) Option {
	return optionFunc(func(c *config) error {
		if err := contract.CheckBuckets("runwaygrpc", "WithDurationBuckets", bounds); err != nil {
			return err
		}
		c.buckets, c.bucketsSet = append([]float64(nil), bounds...), true
		return nil
	})
}

// WithMethods sets the methods recorded as themselves in rpc.method, as
// full method names "/package.Service/Method" (the form of grpc.Method and
// stats.RPCTagInfo). Any other method is recorded as "_OTHER". Together
// with WithServices it replaces the default, which learns the methods the
// server dispatches (see NewServerHandler). A name not of that form is an
// error.
func WithMethods(fullMethods ...string) Option {
	return optionFunc(func(c *config) error {
		for i, m := range fullMethods {
			if !validFullMethod(m) {
				return optionError("WithMethods", "entry %d %q is not of the form /package.Service/Method", i, m)
			}
		}
		c.methods = append([]string(nil), fullMethods...)
		return nil
	})
}

// WithServices sets the methods recorded as themselves in rpc.method to
// those of the services described by descs (the generated
// pb.X_ServiceDesc variables, the ones passed to RegisterService). Any
// other method is recorded as "_OTHER". Together with WithMethods it
// replaces the default, which learns the methods the server dispatches. A
// nil description is an error.
func WithServices(descs ...*grpc.ServiceDesc) Option {
	return optionFunc(func(c *config) error {
		var methods []string
		for i, d := range descs {
			if d == nil || d.ServiceName == "" {
				return optionError("WithServices", "entry %d is nil or has no service name", i)
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

// WithMaxMethods bounds the number of methods learned when neither
// WithMethods nor WithServices is given: once n methods are known, RPCs
// of a further method are recorded as "_OTHER". The default is 2000, the
// OpenTelemetry SDK's default cardinality limit per metric; n must be at
// least 1. With WithMethods or WithServices, which turn learning off, it is
// an error.
func WithMaxMethods(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 1 {
			return optionError("WithMaxMethods", "%d is less than 1", n)
		}
		c.maxMethods, c.maxMethodsSet = n, true
		return nil
	})
}

// WithoutStreams counts streaming RPCs (client, server or bidirectional
// streaming) in runway.requests.in_flight and
// runway.requests.in_flight_time, like unary RPCs, instead of in
// runway.streams.in_flight, as the HTTP middleware's option of the same
// name measures streams as ordinary requests. The default keeps
// long-lived streams out of the autoscaling signal: a pod holding a
// thousand idle watch streams is not a pod with a thousand requests of
// backlog.
func WithoutStreams() Option {
	return optionFunc(func(c *config) error {
		c.noStreams = true
		return nil
	})
}

// WithoutInFlightTime turns off runway.requests.in_flight_time, on by
// default, as the HTTP middleware's option of the same name does. On one
// MeterProvider the counters of every middleware and stats handler add
// up: turn it off in all of them, or the total misses a part of the load.
func WithoutInFlightTime() Option {
	return optionFunc(func(c *config) error {
		c.noInflightTime = true
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

// WithConventions chooses the names of the core metrics, as the HTTP
// middleware's option of the same name does:
//
//   - instrument.ConventionsRunway (the default): runway.requests and
//     runway.request.duration;
//   - instrument.ConventionsOTel: the OpenTelemetry RPC semantic
//     conventions, rpc.server.call.duration (by rpc.system.name,
//     rpc.method, rpc.response.status_code and, for the codes that are
//     server errors, error.type), and no runway.requests, whose numbers
//     the histogram's count gives;
//   - instrument.ConventionsBoth: all of the above;
//   - instrument.ConventionsOTelActive: neither histogram nor
//     runway.requests, for a server that another instrumentation already
//     measures.
//
// The conventions define no in-flight metric for RPCs:
// runway.requests.in_flight, runway.requests.in_flight_time and
// runway.streams.in_flight are reported in every mode. Any other value is
// an error.
func WithConventions(conv instrument.Conventions) Option {
	return optionFunc(func(c *config) error {
		f, ok := contract.ParseFamilies(string(conv))
		if !ok {
			return optionError("WithConventions", "%.64q is not one of %s", string(conv), contract.ConventionNames)
		}
		c.conv = f
		return nil
	})
}
