package contract

import (
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/semconv/v1.43.0/httpconv"
)

// Families is a resolved conventions choice: which families of
// instruments a middleware or handler creates.
type Families struct {
	// Runway: runway.requests.in_flight, runway.requests and
	// runway.request.duration.
	Runway bool
	// OTel: http.server.active_requests (HTTP only).
	OTel bool
	// OTelDuration: http.server.request.duration or
	// rpc.server.call.duration.
	OTelDuration bool
}

// ConventionNames lists the conventions, for error messages.
const ConventionNames = `"runway", "otel", "both" or "otel-active"`

// ParseFamilies resolves a conventions name ("runway", "otel", "both",
// "otel-active"); ok is false for any other.
func ParseFamilies(name string) (_ Families, ok bool) {
	switch name {
	case "runway":
		return Families{Runway: true}, true
	case "otel":
		return Families{OTel: true, OTelDuration: true}, true
	case "both":
		return Families{Runway: true, OTel: true, OTelDuration: true}, true
	case "otel-active":
		return Families{OTel: true}, true
	}
	return Families{}, false
}

// The OpenTelemetry HTTP semantic conventions (the version the SDK's
// resource uses), read from the generated package. The RPC conventions
// live in package runwaygrpc, so that an HTTP-only program does not
// compile them.
var (
	ActiveRequestsName        = httpconv.ServerActiveRequests{}.Name()
	ActiveRequestsUnit        = httpconv.ServerActiveRequests{}.Unit()
	ActiveRequestsDescription = httpconv.ServerActiveRequests{}.Description()

	HTTPDurationName        = httpconv.ServerRequestDuration{}.Name()
	HTTPDurationUnit        = httpconv.ServerRequestDuration{}.Unit()
	HTTPDurationDescription = httpconv.ServerRequestDuration{}.Description()
)

// Attribute keys of the semantic conventions that runway's own series do
// not use.
const (
	URLSchemeKey              = semconv.URLSchemeKey
	ErrorTypeKey              = semconv.ErrorTypeKey
	NetworkProtocolNameKey    = semconv.NetworkProtocolNameKey
	NetworkProtocolVersionKey = semconv.NetworkProtocolVersionKey
)
