package surface

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// libraries are runway's library packages, by directory relative to this
// one, with the modules outside the standard library that each may
// depend on (directly or not). A new module in a package's dependencies
// is a deliberate change: add it here, with the reason in the commit.
var libraries = []struct {
	name, dir string
	modules   []string
}{
	{
		name: "instrument",
		// The OpenTelemetry API and what it needs; x/sys for the
		// listener's accept queue. No gRPC, no protobuf, no SDK.
		dir: "../..",
		modules: []string{
			"github.com/cespare/xxhash/v2",
			"github.com/go-logr/logr",
			"github.com/go-logr/stdr",
			"go.opentelemetry.io/auto/sdk",
			"go.opentelemetry.io/otel",
			"go.opentelemetry.io/otel/log",
			"go.opentelemetry.io/otel/metric",
			"go.opentelemetry.io/otel/trace",
			"golang.org/x/sys",
		},
	},
	{
		name: "limit",
		// The OpenTelemetry API and what it needs, as instrument, without
		// the listener's x/sys.
		dir: "../../limit",
		modules: []string{
			"github.com/cespare/xxhash/v2",
			"github.com/go-logr/logr",
			"github.com/go-logr/stdr",
			"go.opentelemetry.io/auto/sdk",
			"go.opentelemetry.io/otel",
			"go.opentelemetry.io/otel/log",
			"go.opentelemetry.io/otel/metric",
			"go.opentelemetry.io/otel/trace",
		},
	},
	{
		name: "runwaygrpc",
		// The above and gRPC with what gRPC needs.
		dir: "../../runwaygrpc",
		modules: []string{
			"github.com/cespare/xxhash/v2",
			"github.com/go-logr/logr",
			"github.com/go-logr/stdr",
			"go.opentelemetry.io/auto/sdk",
			"go.opentelemetry.io/otel",
			"go.opentelemetry.io/otel/log",
			"go.opentelemetry.io/otel/metric",
			"go.opentelemetry.io/otel/trace",
			"golang.org/x/net",
			"golang.org/x/sys",
			"golang.org/x/text",
			"google.golang.org/genproto/googleapis/rpc",
			"google.golang.org/grpc",
			"google.golang.org/protobuf",
		},
	},
	{
		name: "exporter",
		// The OpenTelemetry SDK, the Prometheus and OTLP exporters and
		// what they need; exporter-toolkit's web package (and what it
		// needs: go-systemd, vsock, yaml, x/sync, x/time; go-abnf comes
		// with the prometheus/common it requires) for the metrics
		// listener's web configuration, x/crypto for its bcrypt.
		dir: "../../../exporter",
		modules: []string{
			"github.com/beorn7/perks",
			"github.com/cenkalti/backoff/v5",
			"github.com/cespare/xxhash/v2",
			"github.com/coreos/go-systemd/v22",
			"github.com/go-logr/logr",
			"github.com/go-logr/stdr",
			"github.com/google/uuid",
			"github.com/grpc-ecosystem/grpc-gateway/v2",
			"github.com/mdlayher/socket",
			"github.com/mdlayher/vsock",
			"github.com/munnerz/goautoneg",
			"github.com/pandatix/go-abnf",
			"github.com/prometheus/client_golang",
			"github.com/prometheus/client_model",
			"github.com/prometheus/common",
			"github.com/prometheus/exporter-toolkit",
			"github.com/prometheus/otlptranslator",
			"github.com/prometheus/procfs",
			"go.opentelemetry.io/auto/sdk",
			"go.opentelemetry.io/otel",
			"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc",
			"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp",
			"go.opentelemetry.io/otel/exporters/prometheus",
			"go.opentelemetry.io/otel/log",
			"go.opentelemetry.io/otel/metric",
			"go.opentelemetry.io/otel/sdk",
			"go.opentelemetry.io/otel/sdk/metric",
			"go.opentelemetry.io/otel/trace",
			"go.opentelemetry.io/proto/otlp",
			"go.yaml.in/yaml/v2",
			"golang.org/x/crypto",
			"golang.org/x/net",
			"golang.org/x/sync",
			"golang.org/x/sys",
			"golang.org/x/text",
			"golang.org/x/time",
			"google.golang.org/genproto/googleapis/api",
			"google.golang.org/genproto/googleapis/rpc",
			"google.golang.org/grpc",
			"google.golang.org/protobuf",
		},
	},
}

const regenerate = "regenerate the record with `go generate ./instrument/... ./exporter/...` from the module root, and review the diff"

// TestAPIRecord fails when the exported API of a library package differs
// from its checked-in record.
func TestAPIRecord(t *testing.T) {
	for _, lib := range libraries {
		t.Run(lib.name, func(t *testing.T) {
			got, err := Record(lib.dir)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(lib.dir, RecordName))
			if err != nil {
				t.Fatalf("%v; %s", err, regenerate)
			}
			if want := string(data); got != want {
				t.Errorf("the exported API differs from %s (- recorded, + now):\n%s\n%s",
					RecordName, lineDiff(want, got), regenerate)
			}
		})
	}
}

// TestDependencies fails when a library package depends on a module
// outside the standard library that is not in its allowed list.
func TestDependencies(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	for _, lib := range libraries {
		t.Run(lib.name, func(t *testing.T) {
			cmd := exec.Command("go", "list", "-deps", "-f",
				"{{if not .Standard}}{{with .Module}}{{.Path}}{{end}}{{end}}", ".")
			cmd.Dir = lib.dir
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			self := ""
			if mod, err := os.ReadFile(filepath.Join(lib.dir, "../go.mod")); err == nil {
				self = modfile(mod)
			}
			var got []string
			for _, m := range strings.Fields(string(out)) {
				if m != self && m != "github.com/otel-runway/runway" && !slices.Contains(got, m) {
					got = append(got, m)
				}
			}
			slices.Sort(got)
			for _, m := range got {
				if !slices.Contains(lib.modules, m) {
					t.Errorf("new dependency %s: if it is meant, add it to the allowed modules of %s in this test", m, lib.dir)
				}
			}
			for _, m := range lib.modules {
				if !slices.Contains(got, m) {
					t.Errorf("%s is allowed but no longer a dependency: remove it from the list", m)
				}
			}
		})
	}
}

// forbidden are packages that a library package must not compile in
// (directly or not), by the part of their import path that names them:
// an HTTP-only program compiles neither gRPC nor the RPC semantic
// conventions. go list -deps is checked package by package, since one
// module (go.opentelemetry.io/otel) holds both what package instrument
// needs and what it must not pull in.
var forbidden = map[string][]string{
	"instrument": {"/rpcconv", "google.golang.org/", "go.opentelemetry.io/otel/sdk"},
	"runwaygrpc": {"go.opentelemetry.io/otel/sdk"},
}

// TestForbiddenPackages fails when a library package depends on a
// package it must not compile in.
func TestForbiddenPackages(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	for _, lib := range libraries {
		bad := forbidden[lib.name]
		if len(bad) == 0 {
			continue
		}
		t.Run(lib.name, func(t *testing.T) {
			cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".")
			cmd.Dir = lib.dir
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			pkgs := strings.Fields(string(out))
			for _, p := range pkgs {
				for _, b := range bad {
					if strings.Contains(p, b) {
						t.Errorf("package %s depends on %s (matching %q), which it must not compile in", lib.name, p, b)
					}
				}
			}
			t.Logf("%d packages outside the standard library", len(pkgs))
		})
	}
}

// TestNoGRPCInInstrument states the reason package instrument exists
// apart from runwaygrpc: an HTTP-only program compiles no gRPC and no
// protobuf.
func TestNoGRPCInInstrument(t *testing.T) {
	for _, m := range libraries[0].modules {
		if strings.HasPrefix(m, "google.golang.org/") {
			t.Errorf("package instrument may not depend on %s", m)
		}
	}
}

// TestRecordFormat checks the record of a small package.
func TestRecordFormat(t *testing.T) {
	dir := t.TempDir()
	src := `package p

// C is a constant.
const C = 1

const hidden = 2

// T is a type.
type T struct {
	A int
	b int
}

// M is a method.
func (T) M(x int) error { return nil }

func (T) m() {}

// I is an interface.
type I interface {
	N() string
	hidden()
}

// F is a function.
func F(a ...string) (T, error) { return T{}, nil }

var V = []int{1}
`
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/p\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Record(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := `pkg example.com/p, const C = 1
pkg example.com/p, func F(a ...string) (T, error)
pkg example.com/p, method (T) M(x int) error
pkg example.com/p, type I interface
pkg example.com/p, type I interface, N() string
pkg example.com/p, type I interface, unexported methods
pkg example.com/p, type T struct
pkg example.com/p, type T struct, A int
pkg example.com/p, var V
`
	if got != want {
		t.Errorf("record:\n%s\nwant:\n%s", got, want)
	}
	if n := Names(got); n != 6 {
		t.Errorf("Names = %d, want 6 (C, F, M, I, T, V)", n)
	}
}

// lineDiff lists the lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for _, l := range w {
		if l != "" && !slices.Contains(g, l) {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range g {
		if l != "" && !slices.Contains(w, l) {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}
