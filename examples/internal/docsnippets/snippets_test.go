// Package docsnippets compiles the Go snippets of README.md and docs/*.md.
package docsnippets

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// repoRoot is the repository's root, from this package's directory.
const repoRoot = "../../.."

// snippet is one ```go block of a doc.
type snippet struct {
	file string // relative to the root
	line int    // of the block's first line of code
	code []string
}

func extractSnippets(t *testing.T) []snippet {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{filepath.Join(repoRoot, "README.md")}, files...)
	var out []snippet
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(repoRoot, path)
		sc := bufio.NewScanner(bytes.NewReader(data))
		var cur *snippet
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			switch trimmed := strings.TrimSpace(line); {
			case cur == nil && trimmed == "```go":
				cur = &snippet{file: filepath.ToSlash(rel), line: n + 1}
			case cur != nil && trimmed == "```":
				out = append(out, *cur)
				cur = nil
			case cur != nil:
				cur.code = append(cur.code, line)
			}
		}
	}
	return out
}

// knownImports are the packages a snippet may use without importing them:
// the standard library's that fragments leave out, and, for a snippet with
// no import line at all, runway's and its dependencies'.
var (
	stdImports = map[string]string{
		"context": "context", "http": "net/http", "log": "log", "net": "net",
		"os": "os", "signal": "os/signal", "syscall": "syscall", "time": "time", "fmt": "fmt",
	}
	otherImports = map[string]string{
		"instrument": "github.com/otel-runway/runway/instrument",
		"exporter":   "github.com/otel-runway/runway/exporter",
		"runwaygrpc": "github.com/otel-runway/runway/instrument/runwaygrpc",
		"limit":      "github.com/otel-runway/runway/instrument/limit",
		"sweep":      "github.com/otel-runway/runway/examples/loadtest/sweep",
		"scalequery": "github.com/otel-runway/runway/examples/scalequery",
		"grpc":       "google.golang.org/grpc",
		"metric":     "go.opentelemetry.io/otel/metric",
		"sdkmetric":  "go.opentelemetry.io/otel/sdk/metric",
		// Not runway's and not its dependencies: stubs (stubs.go below)
		// with the upstream signatures the docs use.
		"otelhttp": stubPath + "/otelhttp",
		"pb":       stubPath + "/pb",
	}
)

// The module path of the generated packages (they exist only in the
// build's overlay).
const (
	genPath  = "github.com/otel-runway/runway/examples/internal/docsnippets/gen"
	stubPath = genPath + "/stub"
)

// prelude declares what the fragments take as given: a context, a mux, a
// MeterProvider, application handlers, a server, a sweep result, the user's
// gRPC service. It is its own file, so its imports are not the
// snippet's.
const prelude = `package main

import (
	"context"
	"net/http"

	"github.com/otel-runway/runway/examples/loadtest/sweep"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

var (
	ctx               = context.Background()
	mux               = http.NewServeMux()
	provider metric.MeterProvider = noop.NewMeterProvider()
	app      http.Handler = mux
	api      http.Handler = mux
	sse      http.Handler = mux
	healthz               = func(http.ResponseWriter, *http.Request) {}
	srv               = &http.Server{}
	res               = &sweep.Result{}
	shop     any
)

func main() {}
`

var stubs = map[string]string{
	"otelhttp/otelhttp.go": `// Package otelhttp stubs go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp.
package otelhttp

import (
	"net/http"

	"go.opentelemetry.io/otel/metric"
)

type Option interface{}

func WithMeterProvider(metric.MeterProvider) Option { return nil }

func NewHandler(h http.Handler, operation string, opts ...Option) http.Handler { return h }
`,
	"pb/pb.go": `// Package pb stubs a user's generated gRPC code.
package pb

import "google.golang.org/grpc"

func RegisterShopServer(s *grpc.Server, srv any) {}
`,
}

var (
	importLine  = regexp.MustCompile(`^import\s+(?:(\w+)\s+)?"([^"]+)"\s*$`)
	qualifier   = regexp.MustCompile(`\b([a-z][a-z0-9]*)\.[A-Z]`)
	shortDecl   = regexp.MustCompile(`^\s*([\w, ]+?)\s*:=`)
	ellipsisArg = regexp.MustCompile(`\{ \.\.\. \}`)
)

// program turns a snippet into a Go file of package main: its imports (with
// the standard library's it leaves out), its code in a function, with a
// //line directive so that errors name the doc and its line.
func program(s snippet) string {
	imports := map[string]string{} // name -> path
	ownImports := false
	var body []string
	inImportBlock := false
	for i, line := range s.code {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "import (":
			inImportBlock, ownImports = true, true
		case inImportBlock && trimmed == ")":
			inImportBlock = false
		case inImportBlock:
			if m := regexp.MustCompile(`^(?:(\w+)\s+)?"([^"]+)"$`).FindStringSubmatch(trimmed); m != nil {
				imports[importName(m[1], m[2])] = m[2]
			}
		case importLine.MatchString(trimmed):
			m := importLine.FindStringSubmatch(trimmed)
			imports[importName(m[1], m[2])] = m[2]
			ownImports = true
		default:
			body = append(body, fmt.Sprintf("//line %s:%d\n%s", s.file, s.line+i, ellipsisArg.ReplaceAllString(line, "{ panic(err) }")))
		}
	}
	for _, line := range body {
		for _, m := range qualifier.FindAllStringSubmatch(line, -1) {
			if _, ok := imports[m[1]]; ok {
				continue
			}
			if p, ok := stdImports[m[1]]; ok {
				imports[m[1]] = p
			} else if p, ok := otherImports[m[1]]; ok && !ownImports {
				imports[m[1]] = p
			}
		}
	}
	var declared []string
	for _, line := range s.code {
		if m := shortDecl.FindStringSubmatch(line); m != nil {
			for _, name := range strings.Split(m[1], ",") {
				if name = strings.TrimSpace(name); name != "_" {
					declared = append(declared, name)
				}
			}
		}
	}
	var b strings.Builder
	b.WriteString("package main\n\nimport (\n")
	names := make([]string, 0, len(imports))
	for n := range imports {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "\t%s %q\n", n, imports[n])
	}
	b.WriteString(")\n\nfunc snippet() {\n")
	for _, line := range body {
		b.WriteString(line + "\n")
	}
	b.WriteString("//line generated:1\n")
	for _, name := range declared {
		fmt.Fprintf(&b, "\t_ = %s\n", name)
	}
	b.WriteString("}\n")
	return b.String()
}

func importName(alias, path string) string {
	if alias != "" {
		return alias
	}
	return path[strings.LastIndex(path, "/")+1:]
}

// TestDocSnippetsCompile: every ```go block of README.md and docs/*.md
// compiles, as a fragment of a main function (what it takes as given is
// declared in prelude). A block that imports packages must import every
// non-standard package it uses, so the README's Quick start builds as
// written. The programs exist only in the build's overlay, inside this
// module, and are built with the go command from PATH in one invocation
// (about 15 s of CPU with a warm build cache; minutes of wall time on a
// loaded machine). A failure names the doc and line.
func TestDocSnippetsCompile(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	snippets := extractSnippets(t)
	if len(snippets) < 8 {
		t.Fatalf("found %d Go snippets: the extraction is broken", len(snippets))
	}
	abs, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	overlay := map[string]string{}
	add := func(rel, content string) {
		src := filepath.Join(tmp, strings.ReplaceAll(rel, "/", "_"))
		if err := os.WriteFile(src, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		overlay[filepath.Join(abs, "gen", filepath.FromSlash(rel))] = src
	}
	for name, content := range stubs {
		add("stub/"+name, content)
	}
	var pkgs []string
	for i, s := range snippets {
		dir := fmt.Sprintf("s%02d", i)
		add(dir+"/prelude.go", prelude)
		add(dir+"/snippet.go", program(s))
		pkgs = append(pkgs, "./gen/"+dir)
		t.Logf("%s:%d: %d lines -> %s", s.file, s.line, len(s.code), dir)
	}
	ov, err := json.Marshal(map[string]any{"Replace": overlay})
	if err != nil {
		t.Fatal(err)
	}
	ovFile := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(ovFile, ov, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goBin, append([]string{"build", "-overlay", ovFile, "-o", os.DevNull}, pkgs...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("doc snippets do not compile (file:line are the doc's):\n%s", out)
	}
}

// TestSnippetProgram: the wrapping keeps a snippet's own imports strict and
// maps its lines to the doc's.
func TestSnippetProgram(t *testing.T) {
	p := program(snippet{file: "README.md", line: 61, code: []string{
		`import "github.com/otel-runway/runway/exporter"`,
		``,
		`handler, err := exporter.New(instrument.WithRouteGroups())`,
		`if err != nil { ... }`,
		`log.Print(handler)`,
	}})
	for _, want := range []string{
		"\texporter \"github.com/otel-runway/runway/exporter\"\n",
		"\tlog \"log\"\n",
		"//line README.md:63\nhandler, err :=",
		"if err != nil { panic(err) }",
		"\t_ = handler\n\t_ = err\n",
	} {
		if !strings.Contains(p, want) {
			t.Errorf("program lacks %q:\n%s", want, p)
		}
	}
	if strings.Contains(p, "runway/instrument\"") {
		t.Errorf("a snippet with its own imports got instrument imported for it:\n%s", p)
	}
}
