package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// The selector of the documented queries; the test replaces it by one pod's.
const docSelector = `{namespace="default",pod=~"runway-demo-[a-z0-9]+-[a-z0-9]{5}"}`

// promForm is one way to turn runway's metrics into the number KEDA hands
// the HPA; expr holds SEL where the label matchers go.
type promForm struct {
	name, expr string
}

// timeWeightedForms are the forms compared.
var timeWeightedForms = []promForm{
	{"gauge", `sum(runway_requests_in_flight{SEL})`},
	{"rate 20s", `sum(rate(runway_requests_in_flight_time_seconds_total{SEL}[20s]))`},
	{"rate 1m", `sum(rate(runway_requests_in_flight_time_seconds_total{SEL}[1m]))`},
	{"increase 1m / 60", `sum(increase(runway_requests_in_flight_time_seconds_total{SEL}[1m])) / 60`},
	{"deriv 1m", `sum(deriv(runway_requests_in_flight_time_seconds_total{SEL}[1m]))`},
	{"irate", `sum(irate(runway_requests_in_flight_time_seconds_total{SEL}[1m]))`},
	{"avg_over_time(irate) 1m", `sum(avg_over_time(irate(runway_requests_in_flight_time_seconds_total{SEL}[1m])[1m:1s]))`},
	// The same, kept only for pods whose own series is still present: a
	// failed scrape marks it stale too, so a frozen pod drops out.
	{"avg_over_time(irate) 1m and self", `sum(avg_over_time(irate(runway_requests_in_flight_time_seconds_total{SEL}[1m])[1m:1s]) and runway_requests_in_flight_time_seconds_total{SEL})`},
	// The same, kept only for pods that are still scrape targets: up goes
	// stale when a target leaves discovery but stays (0) when a scrape
	// fails, so a removed pod drops out and a frozen pod stays.
	{"avg_over_time(irate) 1m and up", `sum(avg_over_time(irate(runway_requests_in_flight_time_seconds_total{SEL}[1m])[1m:1s]) and on(namespace, pod) up{SEL})`},
}

// promAt evaluates q at the instant at (what KEDA does at each poll, at
// "now"), and says whether the result was empty: KEDA then hands the HPA 0
// (ignoreNullValues, its default) or an error.
func (p *prometheus) promAt(t *testing.T, q string, at time.Time) (float64, bool) {
	t.Helper()
	res, err := p.queryAt(q, at)
	if err != nil {
		t.Fatal(err)
	}
	switch len(res) {
	case 0:
		return 0, false
	case 1:
		return res[0].float(t), true
	}
	t.Fatalf("query %q returned %d series, want 1: %+v", q, len(res), res)
	return 0, false
}

// queryAt runs an instant PromQL query evaluated at the instant at.
func (p *prometheus) queryAt(q string, at time.Time) ([]promSample, error) {
	return p.instantQuery(url.Values{"query": {q}, "time": {strconv.FormatFloat(float64(at.UnixNano())/1e9, 'f', 3, 64)}})
}

// scrapeSample is one stored sample: its timestamp and value.
type scrapeSample struct {
	at    time.Time
	value float64
}

// stored returns the samples Prometheus stored for the one series of
// selector q (a range selector, e.g. x{pod="a"}[5m]) at the instant at.
func (p *prometheus) stored(t *testing.T, q string, at time.Time) []scrapeSample {
	t.Helper()
	v := url.Values{"query": {q}, "time": {strconv.FormatFloat(float64(at.UnixNano())/1e9, 'f', 3, 64)}}
	resp, err := http.Get(p.URL + "/api/v1/query?" + v.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Values [][2]any `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Status != "success" || len(body.Data.Result) != 1 {
		t.Fatalf("query %q: %s, %d series", q, body.Error, len(body.Data.Result))
	}
	var out []scrapeSample
	for _, v := range body.Data.Result[0].Values {
		ts, _ := v[0].(float64)
		s, _ := v[1].(string)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("sample %v: %v", v, err)
		}
		out = append(out, scrapeSample{time.Unix(0, int64(ts*1e9)), f})
	}
	return out
}

// fileSD is a Prometheus file_sd target list that the test edits while
// Prometheus runs; a pod appears to Prometheus when it is written.
type fileSD struct {
	t     *testing.T
	path  string
	mu    sync.Mutex
	items []map[string]any
}

func (f *fileSD) add(addr, pod string) {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items = append(f.items, map[string]any{
		"targets": []string{addr},
		"labels":  map[string]string{"namespace": "default", "pod": pod},
	})
	f.write()
}

// remove drops the target addr from the list: the pod leaves discovery, as
// a deleted pod does.
func (f *fileSD) remove(addr string) {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items = slices.DeleteFunc(f.items, func(it map[string]any) bool {
		return slices.Equal(it["targets"].([]string), []string{addr})
	})
	f.write()
}

func (f *fileSD) write() {
	f.t.Helper()
	data, err := json.Marshal(f.items)
	if err != nil {
		f.t.Fatal(err)
	}
	tmp := f.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Rename(tmp, f.path); err != nil { // atomic: never a half-written file
		f.t.Fatal(err)
	}
}

// scrapeInterval is the interval of startPrometheusFileSD, the one of the
// monitors in examples/kubernetes.
const scrapeInterval = 5 * time.Second

// startPrometheusFileSD runs Prometheus scraping every scrapeInterval
// (timeout 4 s) the targets of a file_sd list that starts empty.
func startPrometheusFileSD(t *testing.T) (*prometheus, *fileSD) {
	t.Helper()
	bin := prometheusBin(t)
	dir := t.TempDir()
	sd := &fileSD{t: t, path: filepath.Join(dir, "targets.json")}
	if err := os.WriteFile(sd.path, []byte("[]"), 0o644); err != nil {
		t.Fatal(err)
	}
	config := map[string]any{
		"global": map[string]any{"scrape_interval": scrapeInterval.String(), "scrape_timeout": "4s", "evaluation_interval": "1s"},
		"scrape_configs": []map[string]any{{
			"job_name":        "runway-demo",
			"honor_labels":    true,
			"file_sd_configs": []map[string]any{{"files": []string{sd.path}, "refresh_interval": "1s"}},
			"metric_relabel_configs": []map[string]any{{
				// Keep only what the queries read: less work on a shared CPU.
				"source_labels": []string{"__name__"},
				"regex":         "runway_requests_in_flight|runway_requests_in_flight_time_seconds_total",
				"action":        "keep",
			}},
		}},
	}
	data, err := yaml.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	proc := startProcess(t, "prometheus", environ(), bin,
		"--config.file="+cfgFile,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--web.console.templates="+dir, "--web.console.libraries="+dir,
	)
	p := &prometheus{URL: "http://" + addr}
	waitFor(t, 30*time.Second, "prometheus ready", func() (bool, string) {
		if proc.exited() {
			t.Fatalf("prometheus exited: %s", tail(proc.log.String(), 3000))
		}
		resp, err := http.Get(p.URL + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return p, sd
}

// requestLog records when each request of a load was in flight, as the
// client saw it: the true concurrency at any instant and over any window.
type requestLog struct {
	mu    sync.Mutex
	spans [][2]time.Time
}

func (l *requestLog) record(start, end time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.spans = append(l.spans, [2]time.Time{start, end})
}

// average is the mean number of requests in flight over (from, to].
func (l *requestLog) average(from, to time.Time) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var busy time.Duration
	for _, s := range l.spans {
		a, b := s[0], s[1]
		if a.Before(from) {
			a = from
		}
		if b.After(to) {
			b = to
		}
		if b.After(a) {
			busy += b.Sub(a)
		}
	}
	return busy.Seconds() / to.Sub(from).Seconds()
}

// bursts sends n requests of d at once every period, count times, starting
// now, and records them in l. It returns when the last burst has ended.
func bursts(t *testing.T, baseURL string, n int, d, period time.Duration, count int, l *requestLog) {
	t.Helper()
	client := &http.Client{Timeout: d + 10*time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	defer client.CloseIdleConnections()
	target := fmt.Sprintf("%s/work?ms=%d&mode=io", baseURL, d.Milliseconds())
	start := time.Now()
	var wg sync.WaitGroup
	var failed sync.Once
	for i := range count {
		time.Sleep(time.Until(start.Add(time.Duration(i) * period))) // the load's schedule
		for range n {
			wg.Go(func() {
				begin := time.Now()
				resp, err := client.Get(target)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = errStatus(resp.Status)
					}
				}
				l.record(begin, time.Now())
				if err != nil {
					failed.Do(func() { t.Errorf("burst request: %v", err) })
				}
			})
		}
	}
	wg.Wait()
}

// holdSteady keeps n requests in flight at baseURL until the test ends or
// the server goes away: each of n clients sends a one-minute request (the
// demo's longest) again as soon as the previous one ends, on the same
// connection, so the load stays n for longer than a minute.
func holdSteady(t *testing.T, baseURL string, n int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/work?ms=60000&mode=io", nil)
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone, or the test ends
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return
				}
			}
		})
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		client.CloseIdleConnections()
	})
}

// checkpoint is one instant at which every form is evaluated, with the true
// concurrency of the pod then.
type checkpoint struct {
	scenario, when string
	at             time.Time
	truth          float64
	// checked: the recommended form must be within tolerance here.
	checked bool
}

// kedaQueryForm reads the query of examples/kubernetes/keda-scaledobject.yaml
// and puts SEL where its selector was.
func kedaQueryForm(t *testing.T) string {
	t.Helper()
	var so struct {
		Spec struct {
			Triggers []struct {
				Metadata map[string]string `json:"metadata"`
			} `json:"triggers"`
		} `json:"spec"`
	}
	manifest(t, "keda-scaledobject.yaml", &so)
	q := so.Spec.Triggers[0].Metadata["query"]
	if !strings.Contains(q, docSelector) {
		t.Fatalf("keda-scaledobject.yaml query %q does not use the selector %s", q, docSelector)
	}
	return strings.ReplaceAll(q, docSelector, "{SEL}")
}

func hostPort(u string) string { return strings.TrimPrefix(u, "http://") }

// TestPrometheusTimeWeightedQueries: a real Prometheus scrapes demo
// processes every 5 s (the monitors' interval), and each way of reading
// runway's metrics is evaluated through its HTTP API at chosen instants, as
// KEDA evaluates its query at each poll, against the concurrency the test
// knows is true:
//
//   - new: a pod that starts holding 6 requests (Prometheus discovers it
//     with its load), at its first and second scrape and up to 50 s later;
//   - restart: a pod that has held 6 for over a minute is killed, is down
//     for 5.5 s, comes back on the same address (the same series, its
//     counter reset) and holds 6 again;
//   - paused: a pod that has held 6 for over a minute is frozen (SIGSTOP)
//     for 9.5 s, so a scrape times out, then resumes;
//   - burst: the pattern of docs/metrics.md, 40 requests of 2 s every 10 s
//     (mean 8), after a minute of it;
//   - removed: a pod that has held 6 for 40 s leaves discovery and is
//     killed (a scale-down): from three scrape intervals later it holds
//     nothing, while its last irate points stay in the range and subquery
//     windows of the plain averaged irate for up to two minutes.
//
// The query of examples/kubernetes/keda-scaledobject.yaml, which the docs
// recommend, must be within 10 % of the truth from the second scrape of a
// new pod, before a restart and from the second scrape after it, across the
// missed scrapes, and at every instant of the burst pattern (truth: the mean
// over the last minute of the requests as the client saw them), and must
// no longer count the removed pod three intervals after it left discovery
// (while the plain averaged irate still does, so the check discriminates).
// 10 % is the HPA's own tolerance. The table of every form is logged.
func TestPrometheusTimeWeightedQueries(t *testing.T) {
	if testing.Short() {
		t.Skip("real Prometheus and demo processes for about 95 s")
	}
	prometheusBin(t)
	const held = 6
	const tolerance = 0.10
	recommended := kedaQueryForm(t)
	forms := timeWeightedForms
	recName := "keda-scaledobject.yaml"
	for _, f := range forms {
		if f.expr == recommended {
			recName = f.name
		}
	}
	if recName == "keda-scaledobject.yaml" {
		forms = append(forms, promForm{recName, recommended})
	}
	pod := func(name string) string { return "runway-demo-" + name }
	sel := func(name string) string { return `namespace="default",pod="` + pod(name) + `"` }

	// The docs recommend the same query as the KEDA example.
	for file, selector := range map[string]string{
		"docs/metrics.md":     docSelector,
		"docs/autoscaling.md": docSelector,
		"README.md":           `{namespace="default",pod=~"my-api-[a-z0-9]+-[a-z0-9]{5}"}`,
	} {
		doc, err := os.ReadFile(filepath.Join(repoRoot, file))
		if err != nil {
			t.Fatal(err)
		}
		if q := strings.ReplaceAll(recommended, "{SEL}", selector); !strings.Contains(string(doc), q) {
			t.Errorf("%s does not show the query of keda-scaledobject.yaml, %s", file, q)
		}
	}

	prom, sd := startPrometheusFileSD(t)

	// Pods that run from the start: two holding 6, one for the bursts.
	restartAddr := freeAddr(t)
	restart := startDemo(t, pod("restart"), nil, "-addr", restartAddr)
	paused := startDemo(t, pod("paused"), nil)
	burst := startDemo(t, pod("burst"), nil)
	removed := startDemo(t, pod("removed"), nil)
	for _, d := range []*demo{restart, paused, removed} {
		holdSteady(t, d.URL, held)
		valueAt(t, 10*time.Second, d.MetricsURL, "runway_requests_in_flight", nil, held)
	}
	for _, d := range []*demo{restart, paused, burst, removed} {
		sd.add(hostPort(d.URL), d.Instance)
	}
	// Prometheus applies discovered targets every 5 s and scrapes a new one
	// within an interval: wait for the first samples, so that these series
	// are more than a minute old when the checks below read them.
	waitFor(t, 20*time.Second, "prometheus scrapes the first pods", func() (bool, string) {
		res, err := prom.query(`count(runway_requests_in_flight{namespace="default"})`)
		if err != nil || len(res) != 1 {
			return false, fmt.Sprint(res, err)
		}
		return res[0].float(t) == 4, fmt.Sprint(res[0].Value)
	})
	var burstLog requestLog
	burstStart := time.Now()
	burstDone := make(chan struct{})
	go func() {
		defer close(burstDone)
		bursts(t, burst.URL, 40, 2*time.Second, 10*time.Second, 8, &burstLog)
	}()

	// A new pod: it starts, takes its load, and then Prometheus discovers it
	// (a pod added during a scale-up).
	fresh := startDemo(t, pod("new"), nil)
	holdSteady(t, fresh.URL, held)
	valueAt(t, 10*time.Second, fresh.MetricsURL, "runway_requests_in_flight", nil, held)
	sd.add(hostPort(fresh.URL), fresh.Instance)

	// A scale-down: one pod leaves discovery and stops.
	time.Sleep(time.Until(burstStart.Add(40 * time.Second)))
	removeAt := time.Now()
	sd.remove(hostPort(removed.URL))
	removed.proc.stop(syscall.SIGKILL)

	// Once their series are more than a minute old: one pod frozen for
	// 9.5 s, so that at least one scrape times out (4 s), and one killed,
	// down for 5.5 s and back on the same address.
	time.Sleep(time.Until(burstStart.Add(62 * time.Second)))
	const frozen = 9500 * time.Millisecond
	pauseAt := time.Now()
	paused.proc.cmd.Process.Signal(syscall.SIGSTOP)
	killAt := time.Now()
	restart.proc.stop(syscall.SIGKILL)
	time.Sleep(5500 * time.Millisecond)
	restarted := startDemo(t, pod("restart"), nil, "-addr", restartAddr)
	holdSteady(t, restarted.URL, held)
	valueAt(t, 10*time.Second, restarted.MetricsURL, "runway_requests_in_flight", nil, held)
	restartLoaded := time.Now()
	time.Sleep(time.Until(pauseAt.Add(frozen)))
	paused.proc.cmd.Process.Signal(syscall.SIGCONT)
	resumeAt := time.Now()

	<-burstDone
	// Wait for the last checkpoints: the restarted pod's second scrape with
	// its load and the paused pod's second after it resumed, each at most
	// one interval after the one before, plus half an interval.
	end := time.Now()
	for _, at := range []time.Time{
		restartLoaded.Add(2*scrapeInterval + 3*time.Second),
		resumeAt.Add(2*scrapeInterval + 3*time.Second),
		burstStart.Add(77 * time.Second), // the last burst checkpoint
		removeAt.Add(6 * scrapeInterval), // the last removed checkpoint
	} {
		if at.After(end) {
			end = at
		}
	}
	time.Sleep(time.Until(end))
	t.Logf("load phase: %v", time.Since(burstStart).Round(time.Second))

	gaugeSamples := func(name string) []scrapeSample {
		return prom.stored(t, `runway_requests_in_flight{`+sel(name)+`}[5m]`, end)
	}
	half := scrapeInterval / 2
	after := func(at time.Time, sec float64) time.Time {
		return at.Add(time.Duration(sec * float64(time.Second)))
	}
	var points []checkpoint

	// new: the series appears with the load in place.
	s := gaugeSamples("new")
	if len(s) < 12 || s[0].value != held {
		t.Fatalf("new pod: %d samples, want its load at its first scrape: %v", len(s), s)
	}
	points = append(points,
		checkpoint{"new", "first scrape + 2.5 s", s[0].at.Add(half), held, false},
		checkpoint{"new", "second scrape + 2.5 s", s[1].at.Add(half), held, true},
	)
	for _, sec := range []float64{10, 20, 30, 50} {
		points = append(points, checkpoint{"new", fmt.Sprintf("first scrape + %g s", sec), after(s[0].at, sec), held, true})
	}

	// restart: the first and second scrape at which the restarted process
	// holds its load.
	s = gaugeSamples("restart")
	first := -1
	for i, x := range s {
		if x.at.After(killAt) && x.value == held {
			first = i
			break
		}
	}
	if first < 0 || first+1 >= len(s) {
		t.Fatalf("restart: not two samples with the load after the restart: %v", s)
	}
	points = append(points,
		checkpoint{"restart", "1 s before the kill", killAt.Add(-time.Second), held, true},
		checkpoint{"restart", "down, 5 s after the kill", after(killAt, 5), 0, false},
		checkpoint{"restart", "first scrape after the restart + 2.5 s", s[first].at.Add(half), held, false},
		checkpoint{"restart", "second scrape after the restart + 2.5 s", s[first+1].at.Add(half), held, true},
	)

	// paused: samples stop during the freeze (the scrapes fail) and resume.
	s = gaugeSamples("paused")
	resumed := -1
	for i := 1; i < len(s); i++ {
		if s[i].at.After(pauseAt) && s[i].at.Sub(s[i-1].at) > scrapeInterval*3/2 {
			resumed = i
			break
		}
	}
	if resumed < 0 || resumed+1 >= len(s) {
		t.Fatalf("paused: no gap of missed scrapes after %v: %v", pauseAt, s)
	}
	t.Logf("paused: no sample for %v (scrapes missed)", s[resumed].at.Sub(s[resumed-1].at).Round(time.Millisecond))
	points = append(points,
		checkpoint{"paused", "1 s before the freeze", pauseAt.Add(-time.Second), held, true},
		// The failed scrape starts one interval after the last sample and
		// gives up after its 4 s timeout.
		checkpoint{"paused", "frozen, a scrape missed", s[resumed-1].at.Add(scrapeInterval + 4500*time.Millisecond), held, true},
		checkpoint{"paused", "first scrape after it resumed + 2.5 s", s[resumed].at.Add(half), held, true},
		checkpoint{"paused", "second scrape after it resumed + 2.5 s", s[resumed+1].at.Add(half), held, true},
	)

	// removed: before it left discovery, and after.
	points = append(points,
		checkpoint{"removed", "1 s before it left discovery", removeAt.Add(-time.Second), held, true},
		checkpoint{"removed", "5 s after", after(removeAt, 5), 0, false},
		checkpoint{"removed", "15 s after (3 intervals)", after(removeAt, 15), 0, true},
		checkpoint{"removed", "30 s after", after(removeAt, 30), 0, true},
	)

	// burst: 20 instants over one period, once the window of every form
	// holds a minute of bursts and of the pod's samples (the subquery's
	// first points need the series' second sample, up to an interval after
	// its first). The bursts, 8 of them, end 72 s after the first; until
	// 76 s the last minute still holds 6 of them.
	for at := burstStart.Add(66 * time.Second); at.Before(burstStart.Add(76 * time.Second)); at = at.Add(500 * time.Millisecond) {
		points = append(points, checkpoint{"burst", "", at, burstLog.average(at.Add(-time.Minute), at), true})
	}
	// Evaluate every form at every checkpoint.
	type result struct {
		value float64
		ok    bool
	}
	values := map[string][]result{}
	for _, f := range forms {
		for _, p := range points {
			q := strings.ReplaceAll(f.expr, "SEL", sel(p.scenario))
			v, ok := prom.promAt(t, q, p.at)
			values[f.name] = append(values[f.name], result{v, ok})
		}
	}
	show := func(r result) string {
		if !r.ok {
			return "none (KEDA: 0)"
		}
		return strconv.FormatFloat(r.value, 'f', 3, 64)
	}

	// The table: one row per form and checkpoint; the burst as a range.
	var b strings.Builder
	b.WriteString("\n| scenario | when | query | value | truth |\n|---|---|---|---|---|\n")
	for _, f := range forms {
		lo, hi, tlo, thi := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
		empty := ""
		for i, p := range points {
			r := values[f.name][i]
			if p.scenario == "burst" {
				if !r.ok {
					empty = " (some empty)"
				}
				lo, hi = math.Min(lo, r.value), math.Max(hi, r.value)
				tlo, thi = math.Min(tlo, p.truth), math.Max(thi, p.truth)
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | `%s` | %s | %g |\n", p.scenario, p.when, f.name, show(r), p.truth)
		}
		fmt.Fprintf(&b, "| burst | 66–76 s after the first burst (20 instants) | `%s` | %.3f – %.3f%s | %.3f – %.3f (mean of the last minute) |\n",
			f.name, lo, hi, empty, tlo, thi)
	}
	b.WriteString("\nforms:\n")
	for _, f := range forms {
		fmt.Fprintf(&b, "  %-26s %s\n", f.name, f.expr)
	}
	t.Log(b.String())
	for _, name := range []string{"burst", "paused", "restart", "new"} {
		if v, ok := prom.promAt(t, `max_over_time(scrape_duration_seconds{`+sel(name)+`}[2m])`, end); ok {
			t.Logf("%s: longest scrape %.3f s", name, v)
		}
	}
	var burstValues []string
	for i, p := range points {
		if p.scenario == "burst" {
			burstValues = append(burstValues, fmt.Sprintf("%v:%.2f", p.at.Sub(burstStart).Round(100*time.Millisecond), values[recName][i].value))
		}
	}
	t.Logf("burst, %s at each instant: %s", recName, strings.Join(burstValues, " "))

	// The recommended form against the truth.
	for i, p := range points {
		if !p.checked {
			continue
		}
		r := values[recName][i]
		if p.truth == 0 && (!r.ok || r.value == 0) {
			continue // nothing to count: an empty result or 0
		}
		if !r.ok || math.Abs(r.value-p.truth) > tolerance*p.truth {
			t.Errorf("%s, %s: keda-scaledobject.yaml query = %s, truth %.3f (tolerance %g %%)",
				p.scenario, p.when, show(r), p.truth, tolerance*100)
		}
	}
	// The warm-up this test is about: rate over a minute reads a new pod far
	// below its load at its second scrape, so the check above discriminates.
	for i, p := range points {
		if p.scenario == "new" && strings.HasPrefix(p.when, "second scrape") {
			if r := values["rate 1m"][i]; r.value > 0.5*held {
				t.Errorf("rate over 1m at the second scrape of a new pod = %.3f: expected far below %d", r.value, held)
			}
		}
	}
	// The lag this test is about: the plain averaged irate still counts the
	// removed pod at its old load, so the check above discriminates.
	for i, p := range points {
		if p.scenario == "removed" && p.truth == 0 && p.checked {
			if r := values["avg_over_time(irate) 1m"][i]; !r.ok || r.value < 0.5*held {
				t.Errorf("plain averaged irate, removed pod, %s = %s: expected its old load (%d) still counted", p.when, show(r), held)
			}
		}
	}
	// When each form stops counting the removed pod, to the half second.
	for _, f := range forms {
		q := strings.ReplaceAll(f.expr, "SEL", sel("removed"))
		gone := "still counted at +30 s"
		for d := 0.0; d <= 30; d += 0.5 {
			if v, ok := prom.promAt(t, q, after(removeAt, d)); !ok || v == 0 {
				gone = fmt.Sprintf("no longer counted from +%.1f s", d)
				break
			}
		}
		t.Logf("removed, %-34s %s", f.name+":", gone)
	}
}
