package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Instruction is one Dockerfile instruction: its keyword (upper case),
// flags, arguments, and whether it was written in exec (JSON) form.
type Instruction struct {
	Cmd   string
	Flags []string
	Args  []string
	Exec  bool
}

// Stage is one FROM and the instructions under it.
type Stage struct {
	Base, Name   string
	Instructions []Instruction
}

// Find returns the stage's instructions with keyword cmd.
func (s Stage) Find(cmd string) []Instruction {
	var out []Instruction
	for _, in := range s.Instructions {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// Last returns the stage's last instruction with keyword cmd.
func (s Stage) Last(cmd string) (Instruction, bool) {
	all := s.Find(cmd)
	if len(all) == 0 {
		return Instruction{}, false
	}
	return all[len(all)-1], true
}

// CopyFrom returns the stage a COPY copies from ("" for the build context).
func (in Instruction) CopyFrom() string {
	for _, f := range in.Flags {
		if v, ok := strings.CutPrefix(f, "--from="); ok {
			return v
		}
	}
	return ""
}

// ParseDockerfile parses a Dockerfile with BuildKit's parser into stages.
// Parser warnings are errors.
func ParseDockerfile(file string) ([]Stage, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var errs []error
	for _, w := range res.Warnings {
		errs = append(errs, fmt.Errorf("%s: line %d: %s", file, w.Location.Start.Line, w.Short))
	}
	var stages []Stage
	for _, node := range res.AST.Children {
		in := Instruction{Cmd: strings.ToUpper(node.Value), Flags: node.Flags, Exec: node.Attributes["json"]}
		for n := node.Next; n != nil; n = n.Next {
			in.Args = append(in.Args, n.Value)
		}
		if in.Cmd == "FROM" {
			s := Stage{Base: in.Args[0]}
			if len(in.Args) == 3 && strings.EqualFold(in.Args[1], "AS") {
				s.Name = in.Args[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			return nil, fmt.Errorf("%s: %s before the first FROM", file, in.Cmd)
		}
		stages[len(stages)-1].Instructions = append(stages[len(stages)-1].Instructions, in)
	}
	if len(stages) < 2 {
		errs = append(errs, fmt.Errorf("%s: %d stages, want a build stage and a final stage", file, len(stages)))
	}
	return stages, errors.Join(errs...)
}

// RunBuildStage does what a container engine does for a build stage, with
// no engine: root stands for the stage's file system, its WORKDIR lines
// create directories in it, its COPY lines fill it from the build context,
// and its RUN lines (shell form) run in it exactly as written, with this
// process's environment (Go toolchain and module cache) and GOOS=linux, as
// in the stage's Linux image. ENV and ARG are not supported.
//
// ignore, when not nil, holds the build context's .dockerignore patterns
// (ContextIgnore): what they exclude is not in the context, as a container
// engine does not send it.
func RunBuildStage(s Stage, contextDir string, ignore *patternmatcher.PatternMatcher, root string, logf func(format string, args ...any)) error {
	workdir := "/"
	local := func(p string) string { return filepath.Join(root, filepath.FromSlash(p)) }
	for _, in := range s.Instructions {
		switch in.Cmd {
		case "WORKDIR":
			workdir = path.Join(workdir, in.Args[0])
			if err := os.MkdirAll(local(workdir), 0o755); err != nil {
				return err
			}
		case "COPY":
			if in.CopyFrom() != "" {
				return fmt.Errorf("COPY %v: copies from another stage", in.Args)
			}
			dest := in.Args[len(in.Args)-1]
			if !path.IsAbs(dest) {
				dest = path.Join(workdir, dest)
			}
			for _, src := range in.Args[:len(in.Args)-1] {
				target := local(dest)
				info, err := os.Stat(filepath.Join(contextDir, src))
				if err == nil && ignored(ignore, src) {
					err = fmt.Errorf("excluded from the build context by the .dockerignore")
				}
				if err != nil {
					return fmt.Errorf("COPY %s: %w", src, err)
				}
				if !info.IsDir() {
					target = filepath.Join(target, filepath.Base(src))
				}
				if err := copyTree(contextDir, src, target, ignore); err != nil {
					return fmt.Errorf("COPY %s %s: %w", src, dest, err)
				}
			}
		case "RUN":
			if in.Exec {
				return fmt.Errorf("RUN %q: exec form is not supported", in.Args)
			}
			cmd := exec.Command("sh", "-c", in.Args[0])
			cmd.Dir = local(workdir)
			cmd.Env = append(os.Environ(), "GOOS=linux")
			start := time.Now()
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("RUN %s: %w\n%s", in.Args[0], err, out)
			}
			logf("RUN %s: %v", in.Args[0], time.Since(start).Round(time.Millisecond))
		case "ENV", "ARG", "ADD":
			return fmt.Errorf("%s in the build stage: not supported", in.Cmd)
		}
	}
	return nil
}

// ContextIgnore reads the .dockerignore that a container engine applies to
// the build context of dockerfile: <dockerfile>.dockerignore beside it if
// there is one, else .dockerignore at the context's root; nil if neither.
// The patterns are read and matched by Docker's own packages.
func ContextIgnore(dockerfile, contextDir string) (*patternmatcher.PatternMatcher, error) {
	for _, name := range []string{dockerfile + ".dockerignore", filepath.Join(contextDir, ".dockerignore")} {
		f, err := os.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		defer f.Close()
		patterns, err := ignorefile.ReadAll(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return patternmatcher.New(patterns)
	}
	return nil, nil
}

// ignored says whether ignore excludes rel (a slash-separated path in the
// build context).
func ignored(ignore *patternmatcher.PatternMatcher, rel string) bool {
	if ignore == nil {
		return false
	}
	ok, err := ignore.MatchesOrParentMatches(path.Clean(filepath.ToSlash(rel)))
	return err == nil && ok
}

// copyTree copies src (a file or a directory of the build context
// contextDir) to dst, without what ignore excludes.
func copyTree(contextDir, src, dst string, ignore *patternmatcher.PatternMatcher) error {
	root := filepath.Join(contextDir, src)
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if ignored(ignore, path.Join(filepath.ToSlash(src), filepath.ToSlash(rel))) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

// ImageConfig is the container configuration the final stage declares:
// USER, EXPOSE, ENTRYPOINT, CMD (exec form), HEALTHCHECK (exec form, with
// its flags) and WORKDIR.
func ImageConfig(final Stage) (v1.Config, error) {
	cfg := v1.Config{WorkingDir: "/"}
	for _, in := range final.Instructions {
		switch in.Cmd {
		case "USER":
			cfg.User = in.Args[0]
		case "WORKDIR":
			cfg.WorkingDir = path.Join(cfg.WorkingDir, in.Args[0])
		case "EXPOSE":
			if cfg.ExposedPorts == nil {
				cfg.ExposedPorts = map[string]struct{}{}
			}
			for _, p := range in.Args {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				cfg.ExposedPorts[p] = struct{}{}
			}
		case "ENTRYPOINT", "CMD":
			if !in.Exec {
				return cfg, fmt.Errorf("%s %v: want the exec form (the image has no shell)", in.Cmd, in.Args)
			}
			if in.Cmd == "ENTRYPOINT" {
				cfg.Entrypoint = in.Args
			} else {
				cfg.Cmd = in.Args
			}
		case "HEALTHCHECK":
			if !in.Exec || len(in.Args) < 2 || in.Args[0] != "CMD" {
				return cfg, fmt.Errorf("HEALTHCHECK %v: want CMD in exec form", in.Args)
			}
			hc := &v1.HealthConfig{Test: in.Args}
			for _, f := range in.Flags {
				name, value, _ := strings.Cut(strings.TrimPrefix(f, "--"), "=")
				var err error
				switch name {
				case "interval":
					hc.Interval, err = time.ParseDuration(value)
				case "timeout":
					hc.Timeout, err = time.ParseDuration(value)
				case "start-period":
					hc.StartPeriod, err = time.ParseDuration(value)
				case "retries":
					hc.Retries, err = strconv.Atoi(value)
				default:
					err = errors.New("unknown flag")
				}
				if err != nil {
					return cfg, fmt.Errorf("HEALTHCHECK %s: %w", f, err)
				}
			}
			cfg.Healthcheck = hc
		case "COPY":
		default:
			return cfg, fmt.Errorf("%s in the final stage: not supported", in.Cmd)
		}
	}
	return cfg, nil
}
