package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"sigs.k8s.io/yaml"
)

var (
	dockerfilePath = filepath.Join("..", "server", "Dockerfile")
	buildContext   = filepath.Join("..", "..")
)

func stages(t *testing.T) (build, final Stage) {
	t.Helper()
	all, err := ParseDockerfile(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	return all[0], all[len(all)-1]
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

// TestDockerfile checks what can be checked of the Dockerfile itself: it
// parses with BuildKit's parser without warnings, every COPY source exists
// in the build context, the build is static and trimmed, and the final
// stage runs as a non-root user with the port, healthcheck and tag that
// examples/kubernetes and examples/compose use.
func TestDockerfile(t *testing.T) {
	all, err := ParseDockerfile(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	build, final := all[0], all[len(all)-1]

	t.Run("COPY sources exist in the build context", func(t *testing.T) {
		for _, s := range all {
			for _, in := range s.Find("COPY") {
				if in.CopyFrom() != "" {
					continue
				}
				for _, src := range in.Args[:len(in.Args)-1] {
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
	t.Run("the .dockerignore sends only what the build copies", func(t *testing.T) {
		ignore, err := ContextIgnore(dockerfilePath, buildContext)
		if err != nil {
			t.Fatal(err)
		}
		if ignore == nil {
			t.Fatal("no .dockerignore for the Dockerfile: the whole repository is sent as the build context")
		}
		// Everything the build copies, except tests and their data, is sent.
		for _, s := range all {
			for _, in := range s.Find("COPY") {
				if in.CopyFrom() != "" {
					continue
				}
				for _, src := range in.Args[:len(in.Args)-1] {
					err := filepath.WalkDir(filepath.Join(buildContext, src), func(p string, d fs.DirEntry, err error) error {
						if err != nil || d.IsDir() {
							return err
						}
						rel, _ := filepath.Rel(buildContext, p)
						if got, want := ignored(ignore, rel), strings.HasSuffix(p, "_test.go") || strings.Contains(filepath.ToSlash(rel), "/testdata/"); got != want {
							t.Errorf("%s: excluded %v, want %v", rel, got, want)
						}
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		// What the build does not need is not sent.
		for _, rel := range []string{".git/config", ".env", "README.md", "docs/metrics.md", "otel-collector/_build/runway-otelcol",
			"examples/loadtest/run.go", "examples/kubernetes/deployment.yaml", "sweep.svg", "instrument/testdata/x.golden"} {
			if !ignored(ignore, rel) {
				t.Errorf("%s is sent with the build context", rel)
			}
		}
	})
	t.Run("static trimmed build", func(t *testing.T) {
		run, ok := build.Last("RUN")
		if !ok {
			t.Fatal("the build stage runs nothing")
		}
		cmd := strings.Join(run.Args, " ")
		for _, want := range []string{"CGO_ENABLED=0", "go build", "-trimpath", "./examples/server"} {
			if !strings.Contains(cmd, want) {
				t.Errorf("build command %q lacks %q", cmd, want)
			}
		}
	})
	t.Run("final stage runs as a non-root user", func(t *testing.T) {
		user, ok := final.Last("USER")
		if !ok {
			t.Fatal("the final stage sets no USER: the image would run as root")
		}
		uid, _, _ := strings.Cut(user.Args[0], ":")
		if n, err := strconv.Atoi(uid); err != nil || n == 0 {
			t.Errorf("USER %s: want a numeric non-zero uid (Kubernetes' runAsNonRoot cannot check a name)", user.Args[0])
		}
	})
	t.Run("ports, healthcheck and manifests agree", func(t *testing.T) {
		cfg, err := ImageConfig(final)
		if err != nil {
			t.Fatal(err)
		}
		addr, ok := argValue(cfg.Cmd, "addr")
		if !ok {
			t.Fatalf("CMD %v sets no -addr", cfg.Cmd)
		}
		port := portOf(t, addr)
		if _, ok := cfg.ExposedPorts[port+"/tcp"]; !ok {
			t.Errorf("CMD listens on %q, EXPOSE %v", addr, cfg.ExposedPorts)
		}
		if cfg.Healthcheck == nil {
			t.Fatal("no HEALTHCHECK")
		}
		// A path: the server binary asks it at its running server's
		// own -addr (TestImageBinaryRuns runs it on another port).
		if u, _ := argValue(cfg.Healthcheck.Test, "healthcheck"); u != "/healthz" {
			t.Errorf("HEALTHCHECK asks %q, want the path /healthz, which follows -addr", u)
		}

		var dep struct {
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							Name  string   `json:"name"`
							Image string   `json:"image"`
							Args  []string `json:"args"`
							Ports []struct {
								ContainerPort int `json:"containerPort"`
							} `json:"ports"`
						} `json:"containers"`
					} `json:"spec"`
				} `json:"template"`
			} `json:"spec"`
		}
		data, err := os.ReadFile(filepath.Join("..", "kubernetes", "deployment.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(data, &dep); err != nil {
			t.Fatal(err)
		}
		app := dep.Spec.Template.Spec.Containers[0]
		if app.Image != "runway-demo:dev" {
			t.Errorf("examples/kubernetes runs %q, want runway-demo:dev", app.Image)
		}
		appAddr, _ := argValue(app.Args, "addr")
		for _, p := range app.Ports {
			cp := strconv.Itoa(p.ContainerPort)
			if _, ok := cfg.ExposedPorts[cp+"/tcp"]; !ok || portOf(t, appAddr) != cp {
				t.Errorf("examples/kubernetes: container port %s, app listens on %q, image exposes %v", cp, appAddr, cfg.ExposedPorts)
			}
		}
		compose, err := os.ReadFile(filepath.Join("..", "compose", "docker-compose.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(compose, []byte("image: runway-demo:dev")) || !bytes.Contains(compose, []byte("dockerfile: examples/server/Dockerfile")) {
			t.Error("examples/compose does not build and run runway-demo:dev from examples/server/Dockerfile")
		}
	})
}

// The image is built once per test run.
var built struct {
	once sync.Once
	dir  string
	file string
	img  v1.Image
	err  error
}

func buildImage(t *testing.T) (string, v1.Image) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the demo server from scratch")
	}
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "runway-image-")
		if built.err != nil {
			return
		}
		built.file = filepath.Join(built.dir, "runway-demo.tar")
		built.img, built.err = Build(dockerfilePath, buildContext, built.file, "runway-demo:dev", t.Logf)
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.file, built.img
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// eachFile calls f with every file of the image's layers, in order.
func eachFile(t *testing.T, img v1.Image, f func(hdr *tar.Header, content io.Reader)) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			f(hdr, tr)
		}
		rc.Close()
	}
}

// TestImageTarball: the tarball written by Build loads back as the image
// tagged runway-demo:dev, whose configuration is the final stage's
// (entrypoint, command, non-root user, ports, healthcheck) and whose only
// file is the executable the entrypoint names.
func TestImageTarball(t *testing.T) {
	file, _ := buildImage(t)
	tag, err := name.NewTag("runway-demo:dev")
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(file, &tag)
	if err != nil {
		t.Fatalf("reading back %s: %v", file, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	_, final := stages(t)
	want, err := ImageConfig(final)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cf.Config, want) {
		t.Errorf("image config %+v, want the final stage's %+v", cf.Config, want)
	}
	if cf.OS != "linux" {
		t.Errorf("image OS %q, want linux", cf.OS)
	}
	for field, got := range map[string]any{
		"Entrypoint": cf.Config.Entrypoint, "User": cf.Config.User, "ExposedPorts": cf.Config.ExposedPorts,
	} {
		t.Logf("%s: %v", field, got)
	}
	if cf.Config.User != "65532:65532" || !slices.Equal(cf.Config.Entrypoint, []string{"/runway-demo"}) {
		t.Errorf("user %q, entrypoint %v", cf.Config.User, cf.Config.Entrypoint)
	}
	if _, ok := cf.Config.ExposedPorts["8000/tcp"]; !ok {
		t.Errorf("ports %v lack 8000/tcp", cf.Config.ExposedPorts)
	}
	files := map[string]*tar.Header{}
	eachFile(t, img, func(hdr *tar.Header, _ io.Reader) { files[hdr.Name] = hdr })
	entry := strings.TrimPrefix(cf.Config.Entrypoint[0], "/")
	hdr, ok := files[entry]
	if !ok || len(files) != 1 {
		t.Fatalf("layer files %v, want only %s", files, entry)
	}
	if hdr.Mode&0o111 == 0 {
		t.Errorf("%s mode %o: not executable", entry, hdr.Mode)
	}
}

// worldReadableDir makes a directory another user can enter (t.TempDir is
// private to the test's user).
func worldReadableDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "runway-image-run-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestImageBinaryRuns takes the binary that the build stage's command
// built out of the image, checks that it is static, and starts it with
// the image's entrypoint and command (plus a loopback address) as the
// image's user, in an empty directory. It must serve, pass the image's
// healthcheck, and stop cleanly on SIGTERM, after which the healthcheck
// fails.
func TestImageBinaryRuns(t *testing.T) {
	_, img := buildImage(t)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg := cf.Config

	// The image's file system, as a directory.
	root := worldReadableDir(t)
	eachFile(t, img, func(hdr *tar.Header, content io.Reader) {
		data, err := io.ReadAll(content)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(hdr.Name)), data, os.FileMode(hdr.Mode)&0o777); err != nil {
			t.Fatal(err)
		}
	})
	bin := filepath.Join(root, filepath.FromSlash(cfg.Entrypoint[0]))
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("%s: %v", cfg.Entrypoint[0], err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s is dynamically linked: it cannot run on an image without libc", cfg.Entrypoint[0])
		}
	}
	f.Close()

	// As the image's user (when the test may switch users), in an empty
	// directory.
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		uidStr, gidStr, _ := strings.Cut(cfg.User, ":")
		uid, _ := strconv.Atoi(uidStr)
		gid, _ := strconv.Atoi(gidStr)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	empty := worldReadableDir(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	args := append(slices.Clone(cfg.Entrypoint[1:]), cfg.Cmd...)
	args = append(args, "-addr="+addr) // the last -addr wins: loopback only, a free port
	server := exec.Command(bin, args...)
	server.Dir = empty
	server.Env = []string{"OTEL_SERVICE_NAME=runway-demo"}
	server.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var log bytes.Buffer
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
			t.Fatalf("the image's binary does not serve /healthz within 20 s: %v", err)
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

	// The image's healthcheck, as it is: it finds the server's port (the
	// test's, not the image's 8000) from the server's -addr.
	healthcheck := func() error {
		test := slices.Clone(cfg.Healthcheck.Test[1:]) // after "CMD"
		cmd := exec.Command(filepath.Join(root, filepath.FromSlash(test[0])), test[1:]...)
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
