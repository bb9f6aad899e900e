// Package surface records the exported API of runway's library packages
// and checks what they import. Its tests fail when a package's exported
// API differs from the record checked in beside it (api.txt) or when a
// package gains a dependency outside the module and the standard library
// that is not listed as allowed.
//
// The record is regenerated with go generate in the package, which runs
// the command in ./cmd/apirecord.
package surface

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/build"
	"go/doc"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// RecordName is the file, in each package directory, that holds the
// package's exported API.
const RecordName = "api.txt"

// Record returns the exported API of the Go package in dir, one
// declaration a line, sorted: constants, variables, functions, types with
// their exported fields and methods. Files are those that build on the
// current platform, tests excluded.
func Record(dir string) (string, error) {
	bp, err := build.ImportDir(dir, 0)
	if err != nil {
		return "", err
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range bp.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			return "", err
		}
		files = append(files, f)
	}
	pkg, err := doc.NewFromFiles(fset, files, bp.ImportPath)
	if err != nil {
		return "", err
	}
	path, err := importPath(dir)
	if err != nil {
		return "", err
	}
	p := &recorder{fset: fset, prefix: "pkg " + path + ", "}
	for _, v := range pkg.Consts {
		p.values("const", v)
	}
	for _, v := range pkg.Vars {
		p.values("var", v)
	}
	for _, f := range pkg.Funcs {
		p.fn(f)
	}
	for _, t := range pkg.Types {
		p.typ(t)
		for _, v := range t.Consts {
			p.values("const", v)
		}
		for _, v := range t.Vars {
			p.values("var", v)
		}
		for _, f := range t.Funcs {
			p.fn(f)
		}
		for _, m := range t.Methods {
			p.fn(m)
		}
	}
	sort.Strings(p.lines)
	return strings.Join(p.lines, "\n") + "\n", nil
}

// importPath returns the import path of the package in dir, from the
// module line of the go.mod above it.
func importPath(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			mod := modfile(data)
			if mod == "" {
				return "", fmt.Errorf("%s: no module line", filepath.Join(d, "go.mod"))
			}
			rel, err := filepath.Rel(d, abs)
			if err != nil {
				return "", err
			}
			return strings.TrimSuffix(mod+"/"+filepath.ToSlash(rel), "/."), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%s: no go.mod above it", abs)
		}
	}
}

func modfile(data []byte) string {
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// Names counts the exported names of a record: constants, variables,
// functions, types and methods (struct fields and interface methods are
// not counted).
func Names(record string) int {
	n := 0
	for _, l := range strings.Split(record, "\n") {
		_, rest, ok := strings.Cut(l, ", ")
		member := strings.HasPrefix(rest, "type ") &&
			(strings.Contains(rest, " struct, ") || strings.Contains(rest, " interface, "))
		if ok && !member {
			n++
		}
	}
	return n
}

type recorder struct {
	fset   *token.FileSet
	prefix string
	lines  []string
}

func (p *recorder) add(s string) { p.lines = append(p.lines, p.prefix+s) }

func (p *recorder) node(n any) string {
	var b bytes.Buffer
	_ = (&printer.Config{Mode: printer.RawFormat}).Fprint(&b, p.fset, n)
	return strings.Join(strings.Fields(b.String()), " ")
}

func (p *recorder) values(kind string, v *doc.Value) {
	for _, spec := range v.Decl.Specs {
		vs := spec.(*ast.ValueSpec)
		for i, name := range vs.Names {
			if !name.IsExported() {
				continue
			}
			s := kind + " " + name.Name
			if vs.Type != nil {
				s += " " + p.node(vs.Type)
			}
			if kind == "const" && i < len(vs.Values) {
				s += " = " + p.node(vs.Values[i])
			}
			p.add(s)
		}
	}
}

func (p *recorder) fn(f *doc.Func) {
	d := *f.Decl
	d.Doc, d.Body = nil, nil
	s := p.node(&d)
	if d.Recv != nil {
		s = "method " + strings.TrimPrefix(s, "func ")
	}
	p.add(s)
}

func (p *recorder) typ(t *doc.Type) {
	for _, spec := range t.Decl.Specs {
		ts := spec.(*ast.TypeSpec)
		if !ts.Name.IsExported() {
			continue
		}
		head := "type " + ts.Name.Name
		if ts.TypeParams != nil {
			head += p.node(ts.TypeParams)
		}
		switch u := ts.Type.(type) {
		case *ast.StructType:
			p.add(head + " struct")
			for _, f := range u.Fields.List {
				for _, n := range f.Names {
					if n.IsExported() {
						p.add(fmt.Sprintf("%s struct, %s %s", head, n.Name, p.node(f.Type)))
					}
				}
				if len(f.Names) == 0 {
					p.add(fmt.Sprintf("%s struct, embedded %s", head, p.node(f.Type)))
				}
			}
		case *ast.InterfaceType:
			p.add(head + " interface")
			for _, m := range u.Methods.List {
				switch {
				case len(m.Names) == 0:
					p.add(fmt.Sprintf("%s interface, embedded %s", head, p.node(m.Type)))
				case m.Names[0].IsExported():
					p.add(fmt.Sprintf("%s interface, %s%s", head, m.Names[0].Name, strings.TrimPrefix(p.node(m.Type), "func")))
				}
			}
			if u.Incomplete {
				p.add(head + " interface, unexported methods")
			}
		default:
			eq := " "
			if ts.Assign.IsValid() {
				eq = " = "
			}
			p.add(head + eq + p.node(ts.Type))
		}
	}
}
