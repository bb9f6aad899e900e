package instrument

import (
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/otel-runway/runway/instrument/internal/contract"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// The OpenTelemetry HTTP semantic conventions ("otel" and "both" modes).
// Every attribute set is built once and kept: the values come from closed
// sets (11 methods, 2 schemes, 5 protocol versions) or from runway's
// bounded tables (routes, status codes), so hostile input cannot grow
// them.

const (
	urlSchemeKey       = contract.URLSchemeKey
	errorTypeKey       = contract.ErrorTypeKey
	protocolNameKey    = contract.NetworkProtocolNameKey
	protocolVersionKey = contract.NetworkProtocolVersionKey
)

// schemes are the values of url.scheme, by scheme index.
var schemes = [...]string{"http", "https"}

const numSchemes = len(schemes)

// protocolVersions are the values of network.protocol.version, by version
// index; the last index records no version (a protocol net/http does not
// serve).
var protocolVersions = [...]string{"1.0", "1.1", "2", "3", ""}

const numVersions = len(protocolVersions)

// numProtocols counts the (scheme, version) pairs.
const numProtocols = numSchemes * numVersions

// numActive counts the series of http.server.active_requests: (method,
// scheme) pairs.
const numActive = numMethods * numSchemes

// protocolIndex maps a request's scheme and protocol version to an index
// below numProtocols, without allocating.
func protocolIndex(r *http.Request) int {
	scheme := 0
	if r.TLS != nil {
		scheme = 1
	}
	v := numVersions - 1
	switch {
	case r.ProtoMajor == 1 && r.ProtoMinor == 0:
		v = 0
	case r.ProtoMajor == 1 && r.ProtoMinor == 1:
		v = 1
	case r.ProtoMajor == 2:
		v = 2
	case r.ProtoMajor == 3:
		v = 3
	}
	return scheme*numVersions + v
}

// activeIndex is the series of http.server.active_requests of a request
// of the given method and protocol indexes.
func activeIndex(method, protocol int) int {
	return method*numSchemes + protocol/numVersions
}

// activeCounts counts the requests in flight per (method, scheme), the
// series of http.server.active_requests.
type activeCounts struct {
	n [numActive]atomic.Int64
	// seen marks the series that have had a request: they are reported
	// from then on, 0 included, so that a gauge does not vanish when the
	// server goes idle, and the 22 possible series are not all reported.
	seen [numActive]atomic.Bool
	opt  [numActive][]metric.ObserveOption
}

func newActiveCounts() *activeCounts {
	a := new(activeCounts)
	for m := range numMethods {
		for s := range numSchemes {
			a.opt[m*numSchemes+s] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(
				methodKey.String(methodName(m)),
				urlSchemeKey.String(schemes[s]),
			))}
		}
	}
	return a
}

// otelOpts are the attribute options of http.server.request.duration of
// one series of runway.requests (route, method, status), per protocol
// index, built when first used.
type otelOpts [numProtocols]atomic.Pointer[[]metric.RecordOption]

// otelRecordOpt returns the attribute option of http.server.request.duration
// for a request counted in c (of route rt and the given method) over the
// given protocol. It allocates only the first time a combination is seen.
func (t *routeTable) otelRecordOpt(c *statusCount, rt *route, method, protocol int) []metric.RecordOption {
	opts := c.otel.Load()
	if opts == nil {
		opts = new(otelOpts)
		if !c.otel.CompareAndSwap(nil, opts) {
			opts = c.otel.Load()
		}
	}
	if p := opts[protocol].Load(); p != nil {
		return *p
	}
	o := []metric.RecordOption{metric.WithAttributeSet(t.otelAttrs(c, rt, method, protocol))}
	opts[protocol].Store(&o)
	return o
}

// otelAttrs builds the attributes of http.server.request.duration: those
// the conventions require (method, scheme, status code; error.type for
// server errors, the status code as a string; http.route when routes are
// known) and recommend (protocol name and version).
func (t *routeTable) otelAttrs(c *statusCount, rt *route, method, protocol int) attribute.Set {
	if c == &t.overflow {
		return attribute.NewSet(overflowKey.Bool(true))
	}
	attrs := []attribute.KeyValue{
		methodKey.String(methodName(method)),
		urlSchemeKey.String(schemes[protocol/numVersions]),
		protocolNameKey.String("http"),
	}
	if v := protocolVersions[protocol%numVersions]; v != "" {
		attrs = append(attrs, protocolVersionKey.String(v))
	}
	if c.code != 0 {
		attrs = append(attrs, statusCodeKey.Int(c.code))
	}
	if c.code >= 500 || c.code == 0 {
		errType := "_OTHER" // no valid status: the conventions' fallback
		if c.code != 0 {
			errType = strconv.Itoa(c.code)
		}
		attrs = append(attrs, errorTypeKey.String(errType))
	}
	if rt.name != "" {
		attrs = append(attrs, routeKey.String(rt.name))
	}
	return attribute.NewSet(attrs...)
}
