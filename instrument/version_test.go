package instrument

import (
	"runtime/debug"
	"testing"

	"github.com/otel-runway/runway/instrument/internal/contract"
)

// TestModuleVersion checks where the scope version comes from: the
// module's version recorded in the binary, else "(devel)".
func TestModuleVersion(t *testing.T) {
	const mod = "github.com/otel-runway/runway"
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{"no build info", nil, false, "(devel)"},
		{"a dependency", &debug.BuildInfo{Main: debug.Module{Path: "example.com/app", Version: "v1.0.0"},
			Deps: []*debug.Module{{Path: "go.opentelemetry.io/otel", Version: "v1.47.0"}, {Path: mod, Version: "v0.3.1"}}}, true, "v0.3.1"},
		{"a pseudo-version", &debug.BuildInfo{Main: debug.Module{Path: "example.com/app"},
			Deps: []*debug.Module{{Path: mod, Version: "v0.0.0-20261207120000-abcdef123456"}}}, true, "v0.0.0-20261207120000-abcdef123456"},
		{"replaced by a directory", &debug.BuildInfo{Main: debug.Module{Path: "example.com/app"},
			Deps: []*debug.Module{{Path: mod, Version: "v0.0.0-00010101000000-000000000000", Replace: &debug.Module{Path: "../.."}}}}, true, "(devel)"},
		{"replaced by a fork", &debug.BuildInfo{Main: debug.Module{Path: "example.com/app"},
			Deps: []*debug.Module{{Path: mod, Version: "v0.3.0", Replace: &debug.Module{Path: "example.com/fork", Version: "v0.3.0-fix"}}}}, true, "v0.3.0-fix"},
		{"the main module, tagged", &debug.BuildInfo{Main: debug.Module{Path: mod, Version: "v0.4.0"}}, true, "v0.4.0"},
		{"the main module, a working tree", &debug.BuildInfo{Main: debug.Module{Path: mod, Version: "(devel)"}}, true, "(devel)"},
		{"not a dependency", &debug.BuildInfo{Main: debug.Module{Path: "example.com/app", Version: "v1.0.0"}}, true, "(devel)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := contract.ModuleVersion(tc.bi, tc.ok); got != tc.want {
				t.Errorf("ModuleVersion = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestScopeVersionFromBuildInfo reads the scope version of a middleware's
// metrics: in this module's own test binary the module has no version, so
// it is "(devel)", not a constant written in the source.
func TestScopeVersionFromBuildInfo(t *testing.T) {
	m := newManual(t)
	h := mustHandler(t, okHandler, WithMeterProvider(m.provider))
	h.ServeHTTP(newBenchWriter(), mustRequest("GET", "/"))
	rm := m.collect(t)
	if len(rm.ScopeMetrics) == 0 {
		t.Fatal("no scope metrics")
	}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != ScopeName {
			continue
		}
		if sm.Scope.Version != "(devel)" || Version() != "(devel)" {
			t.Errorf("scope version %q, Version() %q; want both (devel) in the module's own tests", sm.Scope.Version, Version())
		}
	}
}
