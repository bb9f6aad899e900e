package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/otel-runway/runway/examples/loadtest/sweep"
	"github.com/otel-runway/runway/examples/scalequery"
)

// Exit codes.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// options are the parsed flags.
type options struct {
	mode       string
	url        string
	method     string
	headers    headerFlags
	body       string
	bodyFile   string
	workload   string
	durationMS int
	levels     []int
	stepDur    time.Duration
	warmup     time.Duration
	timeout    time.Duration
	metricsURL string
	noRecheck  bool
	quiet      bool

	jsonFile, csvFile, chartFile, kedaFile, hpaFile string
	deployment, namespace, promAddr, selector       string
	path                                            scalequery.Path
	form                                            scalequery.Form
	minReplicas, maxReplicas                        int
}

type headerFlags []string

func (h *headerFlags) String() string { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(v string) error {
	if k, _, ok := strings.Cut(v, ":"); !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("header %q: want \"Name: value\"", v)
	}
	*h = append(*h, v)
	return nil
}

// parseFlags parses and checks args; every error is a usage error found
// before any request is sent.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.mode, "mode", "sweep", "what to run: sweep")
	fs.StringVar(&o.url, "url", "", "URL to drive (default: the demo server started in-process)")
	fs.StringVar(&o.method, "method", http.MethodGet, "HTTP method (with -url)")
	fs.Var(&o.headers, "H", `request header "Name: value" (repeatable, with -url)`)
	fs.StringVar(&o.body, "body", "", "request body (with -url)")
	fs.StringVar(&o.bodyFile, "body-file", "", "file holding the request body (with -url)")
	fs.StringVar(&o.workload, "workload", "io", "demo workload: io or cpu (without -url)")
	fs.IntVar(&o.durationMS, "duration-ms", 100, "demo request duration in ms (without -url)")
	levels := fs.String("levels", "", "comma-separated concurrency levels, strictly increasing (default 1,2,4,…,64, stopping once saturation is confirmed)")
	fs.DurationVar(&o.stepDur, "step-duration", 5*time.Second, "measured time per level")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "warm-up per level, not measured")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "per-request timeout")
	fs.StringVar(&o.metricsURL, "metrics-url", "", "Prometheus endpoint to read runway_requests_in_flight from during each level (default: the demo's /metrics; none with -url)")
	fs.BoolVar(&o.noRecheck, "no-recheck", false, "do not measure the knee level and the next one a second time")
	fs.BoolVar(&o.quiet, "q", false, "no progress on stderr")
	fs.StringVar(&o.jsonFile, "json", "", "write the result as JSON to `FILE`")
	fs.StringVar(&o.csvFile, "csv", "", "write one CSV row per level to `FILE`")
	fs.StringVar(&o.chartFile, "chart", "", "write an SVG chart to `FILE.svg`")
	fs.StringVar(&o.kedaFile, "keda", "", "write a KEDA ScaledObject with the recommended threshold to `FILE.yaml`")
	fs.StringVar(&o.hpaFile, "hpa", "", "write an autoscaling/v2 HPA with the recommended threshold to `FILE.yaml`")
	fs.StringVar(&o.deployment, "deployment", "my-api", "Deployment the manifests scale; the KEDA query selects its pods")
	fs.StringVar(&o.namespace, "namespace", "default", "namespace of the Deployment and of the manifests")
	fs.StringVar(&o.promAddr, "prometheus-address", scalequery.DefaultServerAddress, "Prometheus URL in the KEDA trigger")
	pathName := fs.String("path", scalequery.Scrape.String(), "how the metrics reach Prometheus, for the KEDA query: scrape (PodMonitor or ServiceMonitor), sidecar (a collector in the pod) or otlp (pushed into Prometheus 3)")
	formName := fs.String("form", scalequery.TimeWeighted.String(), "what the KEDA query measures: time-weighted, gauge, rate, irate, avg-irate or rps")
	fs.StringVar(&o.selector, "selector", "", "removed: the KEDA query selects on namespace and pod; use -namespace and -deployment")
	fs.IntVar(&o.minReplicas, "min-replicas", 1, "minimum replicas in the manifests")
	fs.IntVar(&o.maxReplicas, "max-replicas", 10, "maximum replicas in the manifests")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["selector"] {
		return nil, errors.New("-selector is no longer supported: the KEDA query selects the Deployment's pods by namespace and pod name (a job or service selector misses the series on some paths); use -namespace and -deployment, and -path")
	}
	var err error
	if o.path, err = scalequery.ParsePath(*pathName); err != nil {
		return nil, fmt.Errorf("-path: %w", err)
	}
	if o.form, err = scalequery.ParseForm(*formName); err != nil {
		return nil, fmt.Errorf("-form: %w", err)
	}
	if _, err := (scalequery.Spec{Namespace: o.namespace, Deployment: o.deployment}).Selector(); err != nil {
		return nil, fmt.Errorf("-namespace/-deployment: %w", err)
	}

	if o.mode != "sweep" {
		return nil, fmt.Errorf("unknown -mode %q: the only mode is sweep", o.mode)
	}
	if *levels != "" {
		for _, f := range strings.Split(*levels, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return nil, fmt.Errorf("-levels: %q is not a number", f)
			}
			o.levels = append(o.levels, n)
		}
	}
	if o.stepDur <= 0 {
		return nil, fmt.Errorf("-step-duration must be positive, got %v", o.stepDur)
	}
	if o.warmup < 0 {
		return nil, fmt.Errorf("-warmup must not be negative, got %v", o.warmup)
	}
	if o.timeout <= 0 {
		return nil, fmt.Errorf("-timeout must be positive, got %v", o.timeout)
	}
	if o.url == "" {
		for _, name := range []string{"method", "H", "body", "body-file"} {
			if set[name] {
				return nil, fmt.Errorf("-%s needs -url (the demo is driven with GET /work)", name)
			}
		}
		if o.workload != "io" && o.workload != "cpu" {
			return nil, fmt.Errorf("unknown -workload %q: want io or cpu", o.workload)
		}
		if o.durationMS <= 0 {
			return nil, fmt.Errorf("-duration-ms must be positive, got %d", o.durationMS)
		}
	} else {
		for _, name := range []string{"workload", "duration-ms"} {
			if set[name] {
				return nil, fmt.Errorf("-%s applies to the demo only; it cannot be combined with -url", name)
			}
		}
		if o.body != "" && o.bodyFile != "" {
			return nil, errors.New("-body and -body-file are exclusive")
		}
	}
	if o.minReplicas < 1 || o.maxReplicas < o.minReplicas {
		return nil, fmt.Errorf("replicas: want 1 ≤ -min-replicas ≤ -max-replicas, got %d and %d", o.minReplicas, o.maxReplicas)
	}
	return o, nil
}

// run is the whole command; stop, when not nil, is called once the sweep has
// ended so that a second Ctrl-C kills the process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, stop func()) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadtest: %v\n", err)
		return exitUsage
	}
	cfg := sweep.Config{
		Levels:            o.levels,
		StepDuration:      o.stepDur,
		Warmup:            o.warmup,
		Timeout:           o.timeout,
		MetricsURL:        o.metricsURL,
		NoRecheck:         o.noRecheck,
		StopWhenSaturated: len(o.levels) == 0,
	}
	if o.warmup == 0 {
		cfg.Warmup = -1
	}
	if o.url != "" {
		cfg.Target = sweep.Target{URL: o.url, Method: o.method, Header: http.Header{}}
		for _, h := range o.headers {
			k, v, _ := strings.Cut(h, ":")
			cfg.Target.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
		cfg.Target.Body = []byte(o.body)
		if o.bodyFile != "" {
			if cfg.Target.Body, err = os.ReadFile(o.bodyFile); err != nil {
				fmt.Fprintf(stderr, "loadtest: %v\n", err)
				return exitUsage
			}
		}
	}
	// Everything that does not need the target is checked before the demo
	// starts.
	probe := cfg
	if probe.Target.URL == "" {
		probe.Target.URL = "http://127.0.0.1/"
	}
	if err := probe.Validate(); err != nil {
		fmt.Fprintf(stderr, "loadtest: %v\n", err)
		return exitUsage
	}

	if o.url == "" {
		demo, err := startEmbedded(ctx, o.workload, o.durationMS)
		if err != nil {
			fmt.Fprintf(stderr, "loadtest: start the demo server: %v\n", err)
			return exitError
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = demo.shutdown(sctx)
		}()
		cfg.Target = sweep.Target{URL: demo.target}
		if cfg.MetricsURL == "" {
			cfg.MetricsURL = demo.metricsURL
		}
	}
	if !o.quiet {
		cfg.Progress = newProgress(stderr)
	}

	levels := cfg.Levels
	if len(levels) == 0 {
		levels = sweep.DefaultLevels
	}
	fmt.Fprintf(stdout, "Sweep of %s %s\n", methodOr(cfg.Target.Method), cfg.Target.URL)
	fmt.Fprintf(stdout, "  levels %s, %v warm-up + %v measured each: at most %v (Ctrl-C stops and prints what was measured)\n",
		joinInts(levels), o.warmup, o.stepDur, cfg.EstimatedDuration().Round(time.Second))
	if cfg.MetricsURL != "" {
		fmt.Fprintf(stdout, "  server in-flight read from %s\n", cfg.MetricsURL)
	}
	fmt.Fprintln(stdout)

	res, err := sweep.Run(ctx, cfg)
	if stop != nil {
		stop()
	}
	if cfg.Progress != nil {
		clearProgress(stderr)
	}
	if res == nil {
		fmt.Fprintf(stderr, "loadtest: %v\n", err)
		return exitError
	}
	code := exitOK
	if err != nil {
		fmt.Fprintf(stderr, "loadtest: %v\n", err)
		code = exitInterrupted
	}
	if err := sweep.WriteTable(stdout, res); err != nil {
		fmt.Fprintf(stderr, "loadtest: %v\n", err)
		return exitError
	}
	if err := writeFiles(o, res, stdout); err != nil {
		fmt.Fprintf(stderr, "loadtest: %v\n", err)
		return exitError
	}
	return code
}

// writeFiles writes every output file asked for, and says on stdout which
// it wrote.
func writeFiles(o *options, res *sweep.Result, stdout io.Writer) error {
	wrote := false
	write := func(name, what string, f func(io.Writer) error) error {
		if name == "" {
			return nil
		}
		var b strings.Builder
		if err := f(&b); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
			return err
		}
		if !wrote {
			fmt.Fprintln(stdout)
			wrote = true
		}
		fmt.Fprintf(stdout, "Wrote %s: %s\n", name, what)
		return nil
	}
	manifest := func(build func() ([]byte, error)) func(io.Writer) error {
		return func(w io.Writer) error {
			out, err := build()
			if err != nil {
				return err
			}
			_, err = w.Write(out)
			return err
		}
	}
	rec := res.Recommendation
	kedaWhat := fmt.Sprintf("KEDA ScaledObject for %s/%s, threshold %d, %s query on the %s path",
		o.namespace, o.deployment, rec.Threshold, o.form, o.path)
	hpaWhat := fmt.Sprintf("HorizontalPodAutoscaler for %s/%s, threshold %d (needs prometheus-adapter)",
		o.namespace, o.deployment, rec.Threshold)
	for _, f := range []struct {
		name, what string
		fn         func(io.Writer) error
	}{
		{o.jsonFile, "the sweep as JSON", func(w io.Writer) error { return sweep.WriteJSON(w, res) }},
		{o.csvFile, "one CSV row per level", func(w io.Writer) error { return sweep.WriteCSV(w, res) }},
		{o.chartFile, "SVG chart", func(w io.Writer) error { return sweep.WriteSVG(w, res) }},
		{o.kedaFile, kedaWhat, manifest(func() ([]byte, error) {
			return sweep.KEDAManifest(rec, sweep.KEDAOptions{
				Deployment: o.deployment, Namespace: o.namespace, MinReplicas: o.minReplicas, MaxReplicas: o.maxReplicas,
				ServerAddress: o.promAddr, Path: o.path, Form: o.form,
			})
		})},
		{o.hpaFile, hpaWhat, manifest(func() ([]byte, error) {
			return sweep.HPAManifest(rec, sweep.HPAOptions{
				Deployment: o.deployment, Namespace: o.namespace, MinReplicas: o.minReplicas, MaxReplicas: o.maxReplicas,
			})
		})},
	} {
		if err := write(f.name, f.what, f.fn); err != nil {
			return err
		}
	}
	return nil
}

func methodOr(m string) string {
	if m == "" {
		return http.MethodGet
	}
	return m
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// newProgress returns a progress printer: one rewritten line on a terminal,
// one line per finished level otherwise.
func newProgress(w io.Writer) func(sweep.Progress) {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return func(p sweep.Progress) {
		line := fmt.Sprintf("level %d/%d  c=%-3d %-8s %5.1fs  elapsed %5.1fs  requests %d",
			p.Level, p.Levels, p.Concurrency, p.Phase, p.LevelElapsed.Seconds(),
			math.Round(p.Elapsed.Seconds()*10)/10, p.Requests)
		switch {
		case tty:
			fmt.Fprintf(w, "\r\033[K%s", line)
		case p.Phase == "done":
			fmt.Fprintln(w, line)
		}
	}
}

func clearProgress(w io.Writer) {
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(w, "\r\033[K")
		}
	}
}
