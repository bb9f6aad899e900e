package runwaygrpc

import (
	"math"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// TestGRPCConventionsOTel reads a real scrape of a handler in "otel" mode:
// rpc_server_call_duration_seconds with the RPC semantic conventions'
// attributes and buckets, error_type on a server error, runway's in-flight
// extensions, and no runway_requests_total nor runway_request_duration.
func TestGRPCConventionsOTel(t *testing.T) {
	s := newScraped(t)
	f := startGRPC(t, s.provider, []Option{WithConventions("otel")})
	if _, err := f.client.UnaryCall(t.Context(), &testpb.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	_, err := f.client.UnaryCall(t.Context(), &testpb.SimpleRequest{
		ResponseStatus: &testpb.EchoStatus{Code: int32(codes.Unavailable), Message: "x"},
	})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("RPC error %v, want UNAVAILABLE", err)
	}
	// The server's stats handler sees an RPC's end after the client has
	// its response: wait until both calls are recorded.
	const name = "rpc_server_call_duration_seconds"
	var families map[string]*dto.MetricFamily
	waitFor(t, "both calls recorded", func() bool {
		families = s.scrape(t)
		return len(families[name].GetMetric()) == 2
	})
	mf := families[name]
	method := strings.TrimPrefix(unaryMethod, "/")
	got := map[string]map[string]string{}
	for _, m := range mf.GetMetric() {
		l := map[string]string{}
		for _, p := range m.GetLabel() {
			if !strings.HasPrefix(p.GetName(), "otel_scope_") {
				l[p.GetName()] = p.GetValue()
			}
		}
		got[l["rpc_response_status_code"]] = l
		if m.GetHistogram().GetSampleCount() != 1 {
			t.Errorf("%v: count %d, want 1", l, m.GetHistogram().GetSampleCount())
		}
		var bounds []float64
		for _, b := range m.GetHistogram().GetBucket() {
			bounds = append(bounds, b.GetUpperBound())
		}
		want := []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, math.Inf(1)}
		if !slices.Equal(bounds, want) {
			t.Errorf("buckets %v, want %v", bounds, want)
		}
	}
	wantOK := map[string]string{"rpc_system_name": "grpc", "rpc_method": method, "rpc_response_status_code": "OK"}
	wantErr := map[string]string{"rpc_system_name": "grpc", "rpc_method": method, "rpc_response_status_code": "UNAVAILABLE", "error_type": "UNAVAILABLE"}
	if !mapsEqual(got["OK"], wantOK) || !mapsEqual(got["UNAVAILABLE"], wantErr) || len(got) != 2 {
		t.Errorf("series %v, want %v and %v", got, wantOK, wantErr)
	}
	for _, absent := range []string{"runway_requests_total", "runway_request_duration_seconds"} {
		if _, ok := families[absent]; ok {
			t.Errorf("otel mode: %s present", absent)
		}
	}
	if _, ok := families["runway_requests_in_flight"]; !ok {
		t.Error("otel mode: runway_requests_in_flight (no conventions equivalent for RPCs) missing")
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
