package kubernetes

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	appsv1 "k8s.io/api/apps/v1"
)

// The demo's Dockerfile, and its build context (the repository root).
var (
	dockerfilePath = filepath.Join("..", "server", "Dockerfile")
	buildContext   = filepath.Join("..", "..")
)

// instruction is one Dockerfile instruction: its keyword (upper case),
// flags, arguments, and whether it was written in exec (JSON) form.
type instruction struct {
	cmd   string
	flags []string
	args  []string
	exec  bool
}

// stage is one FROM and the instructions under it.
type stage struct {
	base, name   string
	instructions []instruction
}

// find returns the stage's instructions with keyword cmd.
func (s stage) find(cmd string) []instruction {
	var out []instruction
	for _, in := range s.instructions {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// parseDockerfile parses the Dockerfile with BuildKit's own parser.
func parseDockerfile(t *testing.T) []stage {
	t.Helper()
	f, err := os.Open(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("%s: %v", dockerfilePath, err)
	}
	for _, w := range res.Warnings {
		t.Errorf("%s: line %d: %s", dockerfilePath, w.Location.Start.Line, w.Short)
	}
	var stages []stage
	for _, node := range res.AST.Children {
		in := instruction{cmd: strings.ToUpper(node.Value), flags: node.Flags, exec: node.Attributes["json"]}
		for n := node.Next; n != nil; n = n.Next {
			in.args = append(in.args, n.Value)
		}
		if in.cmd == "FROM" {
			s := stage{base: in.args[0]}
			if len(in.args) == 3 && strings.EqualFold(in.args[1], "AS") {
				s.name = in.args[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("%s: %s before the first FROM", dockerfilePath, in.cmd)
		}
		stages[len(stages)-1].instructions = append(stages[len(stages)-1].instructions, in)
	}
	if len(stages) < 2 {
		t.Fatalf("%s: %d stages, want a build stage and a final stage", dockerfilePath, len(stages))
	}
	return stages
}

// copyFrom returns the stage a COPY copies from ("" for the build context).
func copyFrom(in instruction) string {
	for _, f := range in.flags {
		if v, ok := strings.CutPrefix(f, "--from="); ok {
			return v
		}
	}
	return ""
}

// TestDockerfile checks what can be checked of the demo's image without a
// container engine: the Dockerfile parses, every COPY source exists in the
// build context, the build is static and trimmed, and the final stage
// runs as a non-root user with the ports and healthcheck the manifests use.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t)
	build, final := stages[0], stages[len(stages)-1]

	t.Run("COPY sources exist in the build context", func(t *testing.T) {
		for _, s := range stages {
			for _, in := range s.find("COPY") {
				if copyFrom(in) != "" {
					continue
				}
				for _, src := range in.args[:len(in.args)-1] {
					if strings.ContainsAny(src, "*?[") {
						t.Errorf("COPY %s: a pattern; name the files", src)
					}
					if _, err := os.Stat(filepath.Join(buildContext, src)); err != nil {
						t.Errorf("COPY %s: %v", src, err)
					}
				}
			}
		}
	})
	t.Run("static trimmed build", func(t *testing.T) {
		runs := build.find("RUN")
		if len(runs) == 0 {
			t.Fatal("the build stage runs nothing")
		}
		cmd := strings.Join(runs[len(runs)-1].args, " ")
		for _, want := range []string{"CGO_ENABLED=0", "go build", "-trimpath", "./examples/server"} {
			if !strings.Contains(cmd, want) {
				t.Errorf("build command %q lacks %q", cmd, want)
			}
		}
	})
	t.Run("final stage runs as a non-root user", func(t *testing.T) {
		users := final.find("USER")
		if len(users) == 0 {
			t.Fatal("the final stage sets no USER: the image would run as root")
		}
		user := users[len(users)-1].args[0]
		uid, _, _ := strings.Cut(user, ":")
		if n, err := strconv.Atoi(uid); err != nil || n == 0 {
			t.Errorf("USER %s: want a numeric non-zero uid (Kubernetes' runAsNonRoot cannot check a name)", user)
		}
	})
	t.Run("ports, healthcheck and manifests agree", func(t *testing.T) {
		var exposed []string
		for _, in := range final.find("EXPOSE") {
			exposed = append(exposed, in.args...)
		}
		cmd := final.find("CMD")
		if len(cmd) != 1 || !cmd[0].exec {
			t.Fatal("want one CMD in exec form")
		}
		addr, ok := argValue(cmd[0].args, "addr")
		if !ok || !slices.Contains(exposed, portOf(t, addr)) {
			t.Errorf("CMD listens on %q, EXPOSE %v", addr, exposed)
		}
		hc := final.find("HEALTHCHECK")
		if len(hc) != 1 || !hc[0].exec || hc[0].args[0] != "CMD" {
			t.Fatal("want one HEALTHCHECK CMD in exec form (the image has no shell)")
		}
		u, _ := argValue(hc[0].args, "healthcheck")
		if !strings.HasSuffix(u, ":"+portOf(t, addr)+"/healthz") {
			t.Errorf("HEALTHCHECK asks %q, the server listens on %q", u, addr)
		}

		data, err := os.ReadFile("deployment.yaml")
		if err != nil {
			t.Fatal(err)
		}
		var dep appsv1.Deployment
		if err := strictUnmarshal(data, &dep); err != nil {
			t.Fatal(err)
		}
		app := dep.Spec.Template.Spec.Containers[0]
		if app.Image != "runway-demo:dev" {
			t.Errorf("deployment runs %q, the Dockerfile's documented tag is runway-demo:dev", app.Image)
		}
		appAddr, _ := argValue(app.Args, "addr")
		for _, p := range app.Ports {
			if !slices.Contains(exposed, strconv.Itoa(int(p.ContainerPort))) || portOf(t, appAddr) != strconv.Itoa(int(p.ContainerPort)) {
				t.Errorf("deployment: container port %d, app listens on %q, image exposes %v", p.ContainerPort, appAddr, exposed)
			}
		}
	})
}

// argValue returns the value of -name=value (or --name=value, or -name
// value) in args.
func argValue(args []string, name string) (string, bool) {
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
		if a == name && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return p
}

// copyTree copies src (a file or a directory) to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
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

// worldReadableDir makes a directory that another user can enter (t.TempDir
// is private to the test's user).
func worldReadableDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "runway-image-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestDockerfileBuildAndRun does what the build stage does, with no
// container engine: a directory stands for its WORKDIR, the COPY
// instructions fill it from the build context, and its RUN commands run
// there, exactly as written. The binary is then put where the final
// stage's COPY --from puts it, checked to be static, and started with the
// image's ENTRYPOINT and CMD (plus a loopback address) in an empty
// directory as the image's USER. It must serve, pass the image's
// HEALTHCHECK, and stop cleanly on SIGTERM.
func TestDockerfileBuildAndRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo server from scratch")
	}
	stages := parseDockerfile(t)
	build, final := stages[0], stages[len(stages)-1]

	// The build stage.
	root := worldReadableDir(t)
	workdir := "/"
	local := func(p string) string { return filepath.Join(root, filepath.FromSlash(p)) }
	for _, in := range build.instructions {
		switch in.cmd {
		case "WORKDIR":
			workdir = path.Join(workdir, in.args[0])
			if err := os.MkdirAll(local(workdir), 0o755); err != nil {
				t.Fatal(err)
			}
		case "COPY":
			dest := in.args[len(in.args)-1]
			if !path.IsAbs(dest) {
				dest = path.Join(workdir, dest)
			}
			for _, src := range in.args[:len(in.args)-1] {
				target := local(dest)
				if info, err := os.Stat(filepath.Join(buildContext, src)); err == nil && !info.IsDir() {
					target = filepath.Join(target, filepath.Base(src))
				}
				if err := copyTree(filepath.Join(buildContext, src), target); err != nil {
					t.Fatalf("COPY %s %s: %v", src, dest, err)
				}
			}
		case "RUN":
			if in.exec {
				t.Fatalf("RUN %q: exec form is not emulated", in.args)
			}
			cmd := exec.Command("sh", "-c", in.args[0])
			cmd.Dir = local(workdir)
			start := time.Now()
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("RUN %s: %v\n%s", in.args[0], err, out)
			}
			t.Logf("RUN %s: %v", in.args[0], time.Since(start).Round(time.Millisecond))
		case "ENV", "ARG":
			t.Fatalf("%s in the build stage: not emulated by this test", in.cmd)
		}
	}

	// The final stage: its files come from the build stage only.
	image := worldReadableDir(t)
	for _, in := range final.find("COPY") {
		if copyFrom(in) != build.name {
			t.Fatalf("COPY %v: the final stage copies from %q, want the build stage %q", in.args, copyFrom(in), build.name)
		}
		if err := copyTree(local(in.args[0]), filepath.Join(image, in.args[1])); err != nil {
			t.Fatalf("COPY --from=%s %s %s: %v", build.name, in.args[0], in.args[1], err)
		}
		if err := os.Chmod(filepath.Join(image, in.args[1]), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	entrypoint := final.find("ENTRYPOINT")[0].args
	bin := filepath.Join(image, entrypoint[0])
	if f, err := elf.Open(bin); err != nil {
		t.Fatalf("%s: %v", entrypoint[0], err)
	} else {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("%s is dynamically linked: it cannot run on a distroless static image", entrypoint[0])
			}
		}
		f.Close()
	}

	// As the image's user, in an empty directory.
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		user := final.find("USER")[0].args[0]
		uidStr, gidStr, _ := strings.Cut(user, ":")
		uid, _ := strconv.Atoi(uidStr)
		gid, _ := strconv.Atoi(gidStr)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	empty := worldReadableDir(t)
	addr := freeLoopback(t)
	args := append(slices.Clone(entrypoint[1:]), final.find("CMD")[0].args...)
	args = append(args, "-addr="+addr) // the last -addr wins: loopback only, a free port
	server := exec.Command(bin, args...)
	server.Dir = empty
	server.Env = []string{"OTEL_SERVICE_NAME=runway-demo"}
	server.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var log strings.Builder
	server.Stdout, server.Stderr = &log, &log
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- server.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			server.Process.Kill()
			<-done
		}
	})

	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the image's binary does not serve /healthz within 20 s: %v\n%s", err, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if cred != nil {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", server.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("Uid:\t%d\t", cred.Uid); !strings.Contains(string(status), want) {
			t.Errorf("server does not run as uid %d:\n%s", cred.Uid, status)
		}
	}
	for _, p := range []string{"/work?ms=1", "/metrics"} {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", p, resp.Status)
		}
		if p == "/metrics" && !strings.Contains(string(body), "runway_requests_in_flight") {
			t.Errorf("/metrics does not report runway_requests_in_flight")
		}
	}

	// The image's HEALTHCHECK, aimed at the test's port.
	hc := final.find("HEALTHCHECK")[0].args[1:]
	healthcheck := func() error {
		args := slices.Clone(hc[1:])
		for i, a := range args {
			args[i] = strings.Replace(a, "127.0.0.1:8000", addr, 1)
		}
		cmd := exec.Command(filepath.Join(image, hc[0]), args...)
		cmd.Dir = empty
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	}
	if err := healthcheck(); err != nil {
		t.Errorf("HEALTHCHECK on a serving server: %v", err)
	}

	if err := server.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		stopped = true
		if err != nil {
			t.Errorf("server after SIGTERM: %v\n%s", err, log.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server did not stop within 20 s of SIGTERM")
	}
	var exitErr *exec.ExitError
	if err := healthcheck(); !errors.As(err, &exitErr) {
		t.Errorf("HEALTHCHECK on a stopped server: %v, want a non-zero exit", err)
	}
}

func freeLoopback(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
