package exporter

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/otel-runway/runway/instrument"
	"github.com/otel-runway/runway/instrument/runwaygrpc"
)

// TestOneInvalidOptionError checks that every runway package reports an
// invalid option with the same sentinel, and names the option.
func TestOneInvalidOptionError(t *testing.T) {
	_, expErr := New(context.Background(), WithExportInterval(-1))
	_, instErr := instrument.NewMiddleware(instrument.WithMaxRoutes(0))
	_, grpcErr := runwaygrpc.NewServerHandler(runwaygrpc.WithMaxMethods(0))
	for _, tc := range []struct {
		err    error
		option string
	}{
		{expErr, "WithExportInterval"},
		{instErr, "WithMaxRoutes"},
		{grpcErr, "WithMaxMethods"},
	} {
		if !errors.Is(tc.err, ErrInvalidOption) || !errors.Is(tc.err, instrument.ErrInvalidOption) {
			t.Errorf("%v: does not wrap the one ErrInvalidOption", tc.err)
		}
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.option) {
			t.Errorf("%v: does not name %s", tc.err, tc.option)
		}
	}
	if ErrInvalidOption != instrument.ErrInvalidOption {
		t.Error("exporter.ErrInvalidOption is not instrument.ErrInvalidOption")
	}
}
