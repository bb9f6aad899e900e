// Package e2e drives real processes on loopback: the runway collector built
// from ../, the demo server built from ../../examples/server, and a real
// Prometheus server. Every process listens on 127.0.0.1 on a free port, every
// wait polls with a deadline, and every load is bounded in time and count.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Binaries built once per test run by TestMain.
var (
	collectorBin string
	demoBin      string
	repoRoot     string
)

// TestMain builds the binaries and runs the tests. Every test here runs a
// real collector, demo server or Prometheus for seconds, so under -short the
// package builds nothing and runs nothing.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: real collector and Prometheus runs: full suite only")
		os.Exit(0)
	}
	if err := build(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// build compiles the collector (with build.sh) and the demo server into
// otel-collector/_build; go build's cache makes a rebuild without changes
// take well under a second.
func build() error {
	here, err := os.Getwd()
	if err != nil {
		return err
	}
	collectorDir := filepath.Dir(here)
	repoRoot = filepath.Dir(collectorDir)
	out := filepath.Join(collectorDir, "_build")
	collectorBin = filepath.Join(out, "runway-otelcol")
	demoBin = filepath.Join(out, "runway-demo")

	steps := []*exec.Cmd{
		exec.Command(filepath.Join(collectorDir, "build.sh"), collectorBin),
		exec.Command("go", "build", "-o", demoBin, "./examples/server"),
	}
	steps[1].Dir = repoRoot
	for _, c := range steps {
		start := time.Now()
		if b, err := c.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(c.Args, " "), err, b)
		}
		fmt.Fprintf(os.Stderr, "e2e: %s (%v)\n", filepath.Base(c.Args[len(c.Args)-1]), time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// handedOut holds the ports freeAddr has returned in this run.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// freeAddr returns a loopback address with a port that was free a moment
// ago, for processes that cannot report the port they bound. The port lies
// below the kernel's ephemeral range, where a bind to port 0 never lands:
// a process started meanwhile on port 0 (the demo server, a test server)
// cannot take it before the collector or Prometheus binds it, even when
// that happens seconds later. No port is returned twice in one run.
func freeAddr(t *testing.T) string {
	t.Helper()
	const lowest = 10000
	top := ephemeralLow()
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 1000 {
		if top <= lowest {
			break
		}
		port := lowest + rand.IntN(top-lowest)
		if handedOut.ports[port] {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		ln.Close()
		handedOut.ports[port] = true
		return ln.Addr().String()
	}
	t.Fatalf("no free port between %d and the ephemeral range at %d", lowest, top)
	return ""
}

// ephemeralLow returns the first port of the range the kernel picks from
// for a bind to port 0 (Linux's ip_local_port_range; its default 32768
// elsewhere).
func ephemeralLow() int {
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if low, err := strconv.Atoi(f[0]); err == nil {
				return low
			}
		}
	}
	return 32768
}

// waitFor polls cond every 25 ms until it reports true or timeout passes,
// and returns how long it took. On timeout the test fails with the last
// state cond described.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	var state string
	for {
		var ok bool
		ok, state = cond()
		if ok {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; last: %s", what, timeout, state)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// logBuffer collects a process's output safely for concurrent reads.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is a child process whose output is kept and shown if the test
// fails.
type process struct {
	name string
	cmd  *exec.Cmd
	log  *logBuffer
	done chan struct{}
}

// environ is the test's environment without OTEL_* variables, so that the
// children are configured only by what the test gives them.
func environ(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OTEL_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func startProcess(t *testing.T, name string, env []string, bin string, args ...string) *process {
	t.Helper()
	p := &process{name: name, cmd: exec.Command(bin, args...), log: &logBuffer{}, done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout = p.log
	p.cmd.Stderr = p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(syscall.SIGKILL)
		if t.Failed() {
			t.Logf("--- %s output ---\n%s", p.name, tail(p.log.String(), 4000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// stop sends sig and waits up to 20 s for the process to exit, then kills it.
func (p *process) stop(sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// collector is the runway collector with one of the configs of ../ on free
// loopback ports. The ports stay the same across restarts.
type collector struct {
	t       *testing.T
	config  string
	env     []string
	GRPC    string // OTLP/gRPC receiver
	HTTP    string // OTLP/HTTP receiver
	PromURL string // Prometheus exporter endpoint
	proc    *process
}

func newCollector(t *testing.T, config string, env ...string) *collector {
	c := &collector{
		t:      t,
		config: filepath.Join(repoRoot, "otel-collector", config),
		GRPC:   freeAddr(t),
		HTTP:   freeAddr(t),
	}
	prom := freeAddr(t)
	c.PromURL = "http://" + prom + "/metrics"
	c.env = environ(append([]string{
		"RUNWAY_OTLP_GRPC_ENDPOINT=" + c.GRPC,
		"RUNWAY_OTLP_HTTP_ENDPOINT=" + c.HTTP,
		"RUNWAY_PROMETHEUS_ENDPOINT=" + prom,
		"RUNWAY_TELEMETRY_HOST=127.0.0.1",
		"RUNWAY_TELEMETRY_PORT=" + portOf(freeAddr(t)),
	}, env...)...)
	return c
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// start runs the collector and waits until its receiver accepts
// connections and its Prometheus endpoint answers.
func (c *collector) start() {
	c.t.Helper()
	c.proc = startProcess(c.t, "collector "+filepath.Base(c.config), c.env, collectorBin, "--config", c.config)
	waitFor(c.t, 30*time.Second, "collector ready", func() (bool, string) {
		if c.proc.exited() {
			c.t.Fatalf("collector exited: %s", tail(c.proc.log.String(), 3000))
		}
		conn, err := net.DialTimeout("tcp", c.GRPC, time.Second)
		if err != nil {
			return false, err.Error()
		}
		conn.Close()
		_, err = scrape(c.PromURL)
		return err == nil, fmt.Sprint(err)
	})
}

// demo is the demo server binary.
type demo struct {
	URL        string
	MetricsURL string
	Instance   string
	proc       *process
}

var servingRE = regexp.MustCompile(`serving (http://\S+) .*metrics at (http://\S+)`)

// startDemo runs the demo server on a free port with the given extra flags
// and environment, and waits until it serves.
func startDemo(t *testing.T, instance string, env []string, args ...string) *demo {
	t.Helper()
	args = append([]string{"-addr", "127.0.0.1:0", "-service-name", "runway-demo", "-instance-id", instance}, args...)
	d := &demo{Instance: instance}
	d.proc = startProcess(t, "demo "+instance, environ(env...), demoBin, args...)
	waitFor(t, 30*time.Second, "demo "+instance+" serving", func() (bool, string) {
		if d.proc.exited() {
			t.Fatalf("demo %s exited: %s", instance, d.proc.log.String())
		}
		m := servingRE.FindStringSubmatch(d.proc.log.String())
		if m == nil {
			return false, "no serving line yet"
		}
		d.URL, d.MetricsURL = m[1], m[2]
		resp, err := http.Get(d.URL + "/healthz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return d
}

// held is a set of requests kept open at a server until released.
type held struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// hold opens n requests to /work that would take a minute each; they stay in
// flight until release.
func hold(t *testing.T, baseURL string, n int) *held {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	h := &held{cancel: cancel}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for range n {
		h.wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/work?ms=60000", nil)
			if resp, err := client.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	t.Cleanup(h.release)
	return h
}

// release ends the held requests (the clients go away) and waits for them.
func (h *held) release() {
	h.cancel()
	h.wg.Wait()
}

// get sends one request and fails the test if it does not succeed.
func get(t *testing.T, url string) time.Duration {
	t.Helper()
	start := time.Now()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return time.Since(start)
}

// scrape reads a Prometheus endpoint the way Prometheus does, parsed with
// expfmt.
func scrape(url string) (map[string]*dto.MetricFamily, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New(resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(resp.Body)
}

// sample is one series of a family: its labels and value.
type sample struct {
	labels map[string]string
	value  float64
}

func samples(fams map[string]*dto.MetricFamily, name string) []sample {
	f, ok := fams[name]
	if !ok {
		return nil
	}
	var out []sample
	for _, m := range f.GetMetric() {
		s := sample{labels: map[string]string{}}
		for _, l := range m.GetLabel() {
			s.labels[l.GetName()] = l.GetValue()
		}
		switch {
		case m.Gauge != nil:
			s.value = m.GetGauge().GetValue()
		case m.Counter != nil:
			s.value = m.GetCounter().GetValue()
		case m.Untyped != nil:
			s.value = m.GetUntyped().GetValue()
		case m.Histogram != nil:
			s.value = float64(m.GetHistogram().GetSampleCount())
		}
		out = append(out, s)
	}
	return out
}

// sumWhere adds up the series of name whose labels include match, and says
// how many there were.
func sumWhere(fams map[string]*dto.MetricFamily, name string, match map[string]string) (float64, int) {
	var sum float64
	var n int
	for _, s := range samples(fams, name) {
		ok := true
		for k, v := range match {
			if s.labels[k] != v {
				ok = false
			}
		}
		if ok {
			sum += s.value
			n++
		}
	}
	return sum, n
}

// valueAt polls until the sum of name{match} at url equals want.
func valueAt(t *testing.T, timeout time.Duration, url, name string, match map[string]string, want float64) time.Duration {
	t.Helper()
	return waitFor(t, timeout, fmt.Sprintf("%s%v == %v at %s", name, match, want, url), func() (bool, string) {
		fams, err := scrape(url)
		if err != nil {
			return false, err.Error()
		}
		got, n := sumWhere(fams, name, match)
		return n > 0 && got == want, fmt.Sprintf("%v over %d series", got, n)
	})
}

// exposition renders the named families as Prometheus text, for logs and
// docs.
func exposition(fams map[string]*dto.MetricFamily, names ...string) string {
	var b strings.Builder
	sort.Strings(names)
	for _, n := range names {
		if f, ok := fams[n]; ok {
			expfmt.MetricFamilyToText(&b, f)
		}
	}
	return b.String()
}

// httpClient is for load: keep-alive connections, a bounded wait.
var httpClient = &http.Client{Timeout: 10 * time.Second}

type errStatus string

func (e errStatus) Error() string { return "status " + string(e) }

// percentile returns the q-quantile (0..1) of ds, nearest rank.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)].Round(100 * time.Microsecond)
}
