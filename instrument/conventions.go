package instrument

import (
	"fmt"

	"github.com/otel-runway/runway/instrument/internal/contract"
)

// Conventions names the set of core metrics a middleware (or a gRPC stats
// handler of package runwaygrpc) records; see WithConventions.
type Conventions string

// The conventions of WithConventions.
const (
	// ConventionsRunway: runway.requests.in_flight, runway.requests and
	// runway.request.duration, asgi-runway's names. The default.
	ConventionsRunway Conventions = "runway"
	// ConventionsOTel: the OpenTelemetry semantic conventions,
	// http.server.active_requests and http.server.request.duration
	// (rpc.server.call.duration for gRPC).
	ConventionsOTel Conventions = "otel"
	// ConventionsBoth: both sets, to migrate dashboards.
	ConventionsBoth Conventions = "both"
	// ConventionsOTelActive: http.server.active_requests only, for a
	// handler that otelhttp already measures.
	ConventionsOTelActive Conventions = "otel-active"
)

// ParseConventions returns the Conventions named s ("runway", "otel",
// "both" or "otel-active", exact case), for configuration read as text
// (the exporter's RUNWAY_METRICS_CONVENTIONS); any other value is an
// error.
func ParseConventions(s string) (Conventions, error) {
	if _, ok := contract.ParseFamilies(s); !ok {
		return "", fmt.Errorf("instrument: conventions %.64q is not one of %s", s, contract.ConventionNames)
	}
	return Conventions(s), nil
}
