package contract

import (
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/semconv/v1.43.0/httpconv"
	"go.opentelemetry.io/otel/semconv/v1.43.0/rpcconv"
)

// The values of WithConventions (and of the exporter's
// RUNWAY_METRICS_CONVENTIONS).
const (
	ConventionsRunway     = "runway"
	ConventionsOTel       = "otel"
	ConventionsBoth       = "both"
	ConventionsOTelActive = "otel-active"
)

// Conventions is a resolved conventions choice: which families of
// instruments a middleware or handler creates.
type Conventions struct {
	// Runway: runway.requests.in_flight, runway.requests and
	// runway.request.duration.
	Runway bool
	// OTel: http.server.active_requests (HTTP only).
	OTel bool
	// OTelDuration: http.server.request.duration or
	// rpc.server.call.duration.
	OTelDuration bool
}

// ParseConventions resolves the value of the option WithConventions of
// package pkg; an unknown value is an error that names the option.
func ParseConventions(pkg, s string) (Conventions, error) {
	switch s {
	case ConventionsRunway:
		return Conventions{Runway: true}, nil
	case ConventionsOTel:
		return Conventions{OTel: true, OTelDuration: true}, nil
	case ConventionsBoth:
		return Conventions{Runway: true, OTel: true, OTelDuration: true}, nil
	case ConventionsOTelActive:
		return Conventions{OTel: true}, nil
	}
	return Conventions{}, OptionError(pkg, "WithConventions",
		`%q is not one of "runway", "otel", "both" or "otel-active"`, s)
}

// The OpenTelemetry semantic conventions (the version the SDK's resource
// uses), read from the generated packages.
var (
	ActiveRequestsName        = httpconv.ServerActiveRequests{}.Name()
	ActiveRequestsUnit        = httpconv.ServerActiveRequests{}.Unit()
	ActiveRequestsDescription = httpconv.ServerActiveRequests{}.Description()

	HTTPDurationName        = httpconv.ServerRequestDuration{}.Name()
	HTTPDurationUnit        = httpconv.ServerRequestDuration{}.Unit()
	HTTPDurationDescription = httpconv.ServerRequestDuration{}.Description()

	RPCDurationName        = rpcconv.ServerCallDuration{}.Name()
	RPCDurationUnit        = rpcconv.ServerCallDuration{}.Unit()
	RPCDurationDescription = rpcconv.ServerCallDuration{}.Description()
)

// Attribute keys of the semantic conventions that runway's own series do
// not use.
const (
	URLSchemeKey              = semconv.URLSchemeKey
	ErrorTypeKey              = semconv.ErrorTypeKey
	NetworkProtocolNameKey    = semconv.NetworkProtocolNameKey
	NetworkProtocolVersionKey = semconv.NetworkProtocolVersionKey
	RPCMethodKey              = semconv.RPCMethodKey
	RPCResponseStatusCodeKey  = semconv.RPCResponseStatusCodeKey
)

// RPCSystemGRPC is rpc.system.name=grpc.
var RPCSystemGRPC = semconv.RPCSystemNameGRPC
