// Package compose holds a docker compose set-up of the runway demo (app,
// collector, Prometheus). Docker cannot run in the tests, so they check what
// the file names: every path exists, every port and address matches what the
// listening side is configured with.
package compose

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// composeFile lists the compose-spec fields this set-up uses; strict
// decoding rejects any other (a misspelt key would be ignored by a lenient
// reader but breaks `docker compose up`).
type composeFile struct {
	Name     string               `json:"name"`
	Services map[string]service   `json:"services"`
	Volumes  map[string]*struct{} `json:"volumes"`
}

type service struct {
	Image       string            `json:"image"`
	Build       *build            `json:"build,omitempty"`
	WorkingDir  string            `json:"working_dir,omitempty"`
	Command     []string          `json:"command,omitempty"`
	Environment map[string]string `json:"environment,omitempty"`
	Volumes     []string          `json:"volumes,omitempty"`
	Ports       []string          `json:"ports,omitempty"`
	DependsOn   []string          `json:"depends_on,omitempty"`
}

// build is a service's image build: a context and a Dockerfile in it.
type build struct {
	Context    string `json:"context"`
	Dockerfile string `json:"dockerfile"`
}

// prometheusConfig is the part of Prometheus' configuration file used here.
type prometheusConfig struct {
	Global struct {
		ScrapeInterval     string `json:"scrape_interval"`
		EvaluationInterval string `json:"evaluation_interval"`
	} `json:"global"`
	ScrapeConfigs []struct {
		JobName       string `json:"job_name"`
		HonorLabels   bool   `json:"honor_labels"`
		StaticConfigs []struct {
			Targets []string `json:"targets"`
		} `json:"static_configs"`
	} `json:"scrape_configs"`
}

func strictUnmarshal(doc []byte, v any) error {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strictErrs, err := kjson.UnmarshalStrict(js, v)
	if err != nil {
		return err
	}
	return errors.Join(strictErrs...)
}

func load(t *testing.T) composeFile {
	t.Helper()
	data, err := os.ReadFile("docker-compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := strictUnmarshal(data, &f); err != nil {
		t.Fatalf("docker-compose.yaml: %v", err)
	}
	return f
}

// mount is one "source:target[:mode]" volume entry.
type mount struct{ source, target string }

func mounts(s service) []mount {
	var out []mount
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		out = append(out, mount{parts[0], parts[1]})
	}
	return out
}

// hostPath maps a path inside the container to the file it is mounted from.
func hostPath(t *testing.T, s service, inContainer string) string {
	t.Helper()
	for _, m := range mounts(s) {
		if inContainer == m.target {
			return m.source
		}
		if rel, ok := strings.CutPrefix(inContainer, m.target+"/"); ok {
			return filepath.Join(m.source, rel)
		}
	}
	t.Fatalf("%s is not mounted into the container", inContainer)
	return ""
}

// flag returns the value of -name=value or --name=value in a command.
func flag(cmd []string, name string) (string, bool) {
	for _, a := range cmd {
		a = strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func containerPorts(s service) []string {
	var out []string
	for _, p := range s.Ports {
		parts := strings.Split(p, ":")
		out = append(out, parts[len(parts)-1])
	}
	return out
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return p
}

func TestComposeFileDecodesStrictly(t *testing.T) {
	data, err := os.ReadFile("docker-compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		doc  string
		ok   bool
	}{
		{"as committed", string(data), true},
		{"misspelt key", strings.Replace(string(data), "depends_on:", "depend_on:", 1), false},
		{"wrong case", strings.Replace(string(data), "dockerfile:", "Dockerfile:", 1), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var f composeFile
			err := strictUnmarshal([]byte(tc.doc), &f)
			if (err == nil) != tc.ok {
				t.Errorf("decode error %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestComposeWiring(t *testing.T) {
	f := load(t)
	for _, name := range []string{"app", "otelcol", "prometheus"} {
		if _, ok := f.Services[name]; !ok {
			t.Fatalf("no service %q", name)
		}
	}
	app, otelcol, prom := f.Services["app"], f.Services["otelcol"], f.Services["prometheus"]

	t.Run("mounted paths exist", func(t *testing.T) {
		for name, s := range f.Services {
			for _, m := range mounts(s) {
				if !strings.HasPrefix(m.source, ".") && !strings.HasPrefix(m.source, "/") {
					if _, ok := f.Volumes[m.source]; !ok {
						t.Errorf("%s: named volume %q is not declared", name, m.source)
					}
					continue
				}
				if _, err := os.Stat(m.source); err != nil {
					t.Errorf("%s: mount source: %v", name, err)
				}
			}
		}
	})
	t.Run("depends_on names services", func(t *testing.T) {
		for name, s := range f.Services {
			for _, d := range s.DependsOn {
				if _, ok := f.Services[d]; !ok {
					t.Errorf("%s depends on unknown service %q", name, d)
				}
			}
		}
	})
	t.Run("app builds the demo server's image and publishes its port", func(t *testing.T) {
		if app.Build == nil {
			t.Fatal("app has no build: nothing makes its image")
		}
		dockerfile, err := os.ReadFile(filepath.Join(app.Build.Context, app.Build.Dockerfile))
		if err != nil {
			t.Fatalf("app's Dockerfile: %v", err)
		}
		if !strings.Contains(string(dockerfile), "./examples/server") {
			t.Errorf("%s does not build ./examples/server", app.Build.Dockerfile)
		}
		if !strings.Contains(string(dockerfile), app.Image) {
			t.Errorf("%s does not document the tag %s", app.Build.Dockerfile, app.Image)
		}
		addr, ok := flag(app.Command, "addr")
		if !ok || !slices.Contains(containerPorts(app), port(t, addr)) {
			t.Errorf("app listens on %q, publishes %v", addr, app.Ports)
		}
	})

	// The collector reads its addresses from RUNWAY_* variables.
	configPath, ok := flag(otelcol.Command, "config")
	if !ok {
		t.Fatal("collector command has no --config")
	}
	config, err := os.ReadFile(hostPath(t, otelcol, configPath))
	if err != nil {
		t.Fatalf("collector config: %v", err)
	}
	t.Run("collector environment is read by its config", func(t *testing.T) {
		for k := range otelcol.Environment {
			if !strings.Contains(string(config), "${env:"+k+":-") {
				t.Errorf("%s is not used by %s", k, configPath)
			}
		}
	})
	grpcAddr := otelcol.Environment["RUNWAY_OTLP_GRPC_ENDPOINT"]
	promAddr := otelcol.Environment["RUNWAY_PROMETHEUS_ENDPOINT"]
	t.Run("collector listens on all interfaces and publishes its ports", func(t *testing.T) {
		for _, addr := range []string{grpcAddr, promAddr} {
			host, p, err := net.SplitHostPort(addr)
			if err != nil {
				t.Fatalf("address %q: %v", addr, err)
			}
			if host != "0.0.0.0" {
				t.Errorf("%s: other containers cannot reach %s", addr, host)
			}
			if !slices.Contains(containerPorts(otelcol), p) {
				t.Errorf("port %s is not published (%v)", p, otelcol.Ports)
			}
		}
	})
	t.Run("app pushes to the collector", func(t *testing.T) {
		endpoint, ok := flag(app.Command, "otlp-endpoint")
		if !ok {
			t.Fatal("app has no -otlp-endpoint")
		}
		host, p, err := net.SplitHostPort(endpoint)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := f.Services[host]; !ok || p != port(t, grpcAddr) {
			t.Errorf("app pushes to %s, the collector receives on otelcol:%s", endpoint, port(t, grpcAddr))
		}
	})
	t.Run("prometheus scrapes the collector", func(t *testing.T) {
		promFile, ok := flag(prom.Command, "config.file")
		if !ok {
			t.Fatal("prometheus command has no --config.file")
		}
		data, err := os.ReadFile(hostPath(t, prom, promFile))
		if err != nil {
			t.Fatal(err)
		}
		var pc prometheusConfig
		if err := strictUnmarshal(data, &pc); err != nil {
			t.Fatalf("%s: %v", promFile, err)
		}
		var targets []string
		for _, sc := range pc.ScrapeConfigs {
			if !sc.HonorLabels {
				t.Errorf("job %s: honor_labels is false: job and instance would become exported_*", sc.JobName)
			}
			for _, st := range sc.StaticConfigs {
				targets = append(targets, st.Targets...)
			}
		}
		if want := "otelcol:" + port(t, promAddr); !slices.Contains(targets, want) {
			t.Errorf("prometheus scrapes %v, want %s", targets, want)
		}
		if !slices.Contains(containerPorts(prom), "9090") {
			t.Errorf("prometheus UI port 9090 not published: %v", prom.Ports)
		}
	})
}
