package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otel-runway/runway/examples/loadtest/sweep"
	"github.com/otel-runway/runway/examples/scalequery"
	"sigs.k8s.io/yaml"
)

func TestBadInputFailsBeforeLoad(t *testing.T) {
	var hits atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer ts.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + ln.Addr().String() + "/work"
	ln.Close()

	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown mode", []string{"-mode", "soak", "-url", ts.URL}, exitUsage, `unknown -mode "soak"`},
		{"levels not increasing", []string{"-url", ts.URL, "-levels", "1,4,2"}, exitUsage, "strictly increasing"},
		{"levels not numbers", []string{"-url", ts.URL, "-levels", "1,two"}, exitUsage, `"two" is not a number`},
		{"zero step duration", []string{"-url", ts.URL, "-step-duration", "0s"}, exitUsage, "-step-duration must be positive"},
		{"zero demo duration", []string{"-duration-ms", "0"}, exitUsage, "-duration-ms must be positive"},
		{"unknown workload", []string{"-workload", "gpu"}, exitUsage, `unknown -workload "gpu"`},
		{"workload with url", []string{"-url", ts.URL, "-workload", "cpu"}, exitUsage, "applies to the demo only"},
		{"body without url", []string{"-body", "x"}, exitUsage, "-body needs -url"},
		{"bad header", []string{"-url", ts.URL, "-H", "novalue"}, exitUsage, "Name: value"},
		{"bad url", []string{"-url", "localhost:8000"}, exitUsage, "scheme must be http"},
		{"unreachable url", []string{"-url", deadURL, "-q"}, exitError, "unreachable"},
		{"removed selector", []string{"-url", ts.URL, "-selector", `job="api"`}, exitUsage, "-selector is no longer supported"},
		{"unknown path", []string{"-url", ts.URL, "-path", "gateway"}, exitUsage, `-path: scalequery: path "gateway"`},
		{"unknown form", []string{"-url", ts.URL, "-form", "cpu"}, exitUsage, `-form: scalequery: form "cpu"`},
		{"bad deployment name", []string{"-url", ts.URL, "-deployment", "My_API"}, exitUsage, `-namespace/-deployment: scalequery: invalid spec: Deployment "My_API"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := hits.Load()
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr, nil)
			if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr.String(), tc.code, tc.want)
			}
			if n := hits.Load() - before; n > 0 {
				t.Errorf("%d requests reached the server", n)
			}
		})
	}
}

// TestRunWritesFiles drives a fixed-capacity server through the command and
// checks every output.
func TestRunWritesFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("sweeps a server for several seconds: full suite only")
	}
	slots := make(chan struct{}, 2)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slots <- struct{}{}
		defer func() { <-slots }()
		time.Sleep(10 * time.Millisecond)
	}))
	defer ts.Close()
	dir := t.TempDir()
	file := func(n string) string { return filepath.Join(dir, n) }
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{
		"-url", ts.URL, "-levels", "1,2,4,8", "-step-duration", "400ms", "-warmup", "100ms", "-no-recheck",
		"-json", file("r.json"), "-csv", file("r.csv"), "-chart", file("r.svg"),
		"-keda", file("keda.yaml"), "-hpa", file("hpa.yaml"), "-deployment", "api", "-namespace", "shop", "-path", "sidecar",
	}, &stdout, &stderr, nil)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	t.Logf("\n%s", stdout.String())
	raw, err := os.ReadFile(file("r.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res sweep.Result
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	// Two slots: the knee is at 2, or one grid level off without the recheck.
	rec := res.Recommendation
	if !rec.Saturated || (rec.Saturation != 2 && rec.Saturation != 4) {
		t.Errorf("recommendation %+v, want saturation at 2 (or 4)", rec)
	}
	threshold := strconv.Itoa(rec.Threshold)
	for _, want := range []string{"at most 2s", "Recommended autoscaling threshold : " + threshold} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if !strings.Contains(stderr.String(), "level 4/4") {
		t.Errorf("no progress on stderr: %q", stderr.String())
	}
	for _, n := range []string{"r.json", "r.csv", "r.svg", "keda.yaml", "hpa.yaml"} {
		if st, err := os.Stat(file(n)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", n, err)
		}
		if !strings.Contains(stdout.String(), "Wrote "+file(n)+": ") {
			t.Errorf("stdout does not say it wrote %s", n)
		}
	}
	keda, err := os.ReadFile(file("keda.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var so struct {
		Spec struct {
			Triggers []struct {
				MetricType string            `json:"metricType"`
				Metadata   map[string]string `json:"metadata"`
			} `json:"triggers"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(keda, &so); err != nil {
		t.Fatal(err)
	}
	want, err := scalequery.Spec{Namespace: "shop", Deployment: "api", Path: scalequery.Sidecar}.Query()
	if err != nil {
		t.Fatal(err)
	}
	if tr := so.Spec.Triggers[0]; tr.Metadata["threshold"] != threshold || tr.MetricType != "AverageValue" ||
		tr.Metadata["query"] != want || tr.Metadata["serverAddress"] != scalequery.DefaultServerAddress {
		t.Errorf("KEDA trigger %+v, want query %s", tr, want)
	}
}

func TestQuietKeepsStderrEmpty(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ts.Close()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-url", ts.URL, "-levels", "1,2", "-step-duration", "100ms", "-warmup", "0s", "-q"}, &stdout, &stderr, nil)
	if code != exitOK || stderr.Len() != 0 {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}

func TestInterruptPrintsWhatWasMeasured(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond)
	}))
	defer ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run(ctx, []string{"-url", ts.URL, "-levels", "1,2,4,8,16", "-step-duration", "200ms", "-warmup", "0s", "-q"}, &stdout, &stderr, nil)
	if code != exitInterrupted {
		t.Fatalf("exit %d, want %d; stderr %q", code, exitInterrupted, stderr.String())
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %v after the interrupt", el)
	}
	if !strings.Contains(stdout.String(), "Interrupted: ") || !strings.Contains(stdout.String(), "      1 ") {
		t.Errorf("no partial table:\n%s", stdout.String())
	}
}
