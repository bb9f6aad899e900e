package scalequery_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/otel-runway/runway/examples/scalequery"
)

// repoRoot is the repository's root, from this package's directory.
const repoRoot = "../.."

// notAutoscaling are the queries the docs and manifests show that are not
// autoscaling queries, so that no Spec gives them, each with the reason.
// Every other query must be a Spec's: see TestDocumentedQueries.
var notAutoscaling = map[string]string{
	// docs/autoscaling.md's table of the metricType trap: the rows that
	// show the wrong pairings (a per-pod figure with AverageValue divides
	// twice). Shown to be avoided.
	`sum(runway_requests_in_flight{…}) / count(up)`: "the metricType trap (wrong on purpose)",
	`avg(runway_requests_in_flight{…})`:             "the metricType trap (wrong on purpose)",
	// prometheus-adapter's rule templates: the adapter fills in the
	// namespace and pod matchers of the HPA's pods itself.
	`'runway_requests_in_flight{namespace!="",pod!=""}'`:       "prometheus-adapter seriesQuery (the adapter adds the pods' namespace/pod matchers)",
	`'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'`: "prometheus-adapter metricsQuery template",
	// What the adapter's template becomes for three pods: shown to explain
	// the adapter, not to be used as a KEDA query.
	`sum(runway_requests_in_flight{namespace="default",pod=~"runway-demo-7d9f8c6b5-pod00|runway-demo-7d9f8c6b5-pod01|runway-demo-7d9f8c6b5-pod02"}) by (pod)`: "the query prometheus-adapter builds from its template for three pods",
	// Per-pod breakdowns to look at, not to scale on.
	`sum by (k8s_pod_name) (runway_requests_in_flight{k8s_namespace_name="default",k8s_pod_name=~"runway-demo-[a-z0-9]+-[a-z0-9]{5}"})`: "per-pod breakdown on the OTLP path (what a prometheus-adapter rule groups)",
	// docs/conventions.md's table of everyday queries in each naming
	// convention: dashboards and alerts, not autoscaling.
	`sum(http_server_active_requests)`:                          "conventions.md: the total in the otel convention, prose",
	`sum by (pod) (runway_requests_in_flight)`:                  "conventions.md: dashboard query",
	`sum by (pod) (http_server_active_requests)`:                "conventions.md: dashboard query",
	`sum(rate(runway_requests_total[5m]))`:                      "conventions.md: dashboard query",
	`sum(rate(http_server_request_duration_seconds_count[5m]))`: "conventions.md: dashboard query",
	`sum(rate(runway_requests_total{http_response_status_code=~"5.."}[5m])) / sum(rate(runway_requests_total[5m]))`:                         "conventions.md: error ratio",
	`sum(rate(http_server_request_duration_seconds_count{error_type!=""}[5m])) / sum(rate(http_server_request_duration_seconds_count[5m]))`: "conventions.md: error ratio",
	// Recording rules' expressions, quoted where the rules are explained
	// (docs/operations.md, docs/conventions.md).
	`irate(runway_requests_in_flight_time_seconds_total[1m])`:                                   "recording rule pod:runway_requests_in_flight:time_weighted",
	`avg_over_time(pod:runway_requests_in_flight:time_weighted[1m]) and on (namespace, pod) up`: "recording rule pod:runway_requests_in_flight:time_weighted_avg1m",
	// docs/autoscaling-lab.md names the RPS signal in prose.
	`rate(runway_requests_total)`: "autoscaling-lab.md: the RPS signal named in prose",
	// The recording rule's definition over the raw irate, shown beside the
	// recorded KEDA query it feeds.
	`sum(avg_over_time(pod:runway_requests_in_flight:time_weighted{…}[1m]) and on(namespace, pod) up{…})`: "what the recorded series equals (a recording rule, explained)",
}

// docFiles lists the files whose queries are checked, relative to the root.
func docFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"README.md", "docs/*.md", "examples/kubernetes/*.yaml", "examples/prometheus/*.yml"} {
		m, err := filepath.Glob(filepath.Join(repoRoot, pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	err := filepath.WalkDir(filepath.Join(repoRoot, "examples"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "README.md" {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// documentedQuery is one query found in a file.
type documentedQuery struct {
	file  string // relative to the root
	line  int
	query string
}

var (
	// A KEDA trigger's or a prometheus-adapter rule's query, in YAML or in
	// a comment.
	queryLine = regexp.MustCompile(`^\s*(?:#\s*)?(?:-\s*)?(?:query|seriesQuery|metricsQuery):\s*(.+?)\s*$`)
	// A code span in Markdown or in a comment.
	codeSpan = regexp.MustCompile("`([^`]+)`")
	// The series an autoscaling query reads.
	signal = regexp.MustCompile(`runway_requests_in_flight|http_server_active_requests|runway_requests_total|http_server_request_duration_seconds_count|namespace_deployment:`)
)

// extractQueries finds the autoscaling queries of one file: the value of
// every query:/seriesQuery:/metricsQuery: line, every line of a ```promql
// block, and every code span that applies a function to a signal series.
func extractQueries(rel string, data []byte) []documentedQuery {
	var out []documentedQuery
	add := func(line int, q string) { out = append(out, documentedQuery{rel, line, strings.TrimSpace(q)}) }
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	inPromQL, inFence := false, false
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			inFence = !inFence
			inPromQL = inFence && strings.TrimPrefix(trimmed, "```") == "promql"
			continue
		}
		if inPromQL {
			if trimmed != "" && !strings.HasPrefix(trimmed, "#") {
				add(n, trimmed)
			}
			continue
		}
		if m := queryLine.FindStringSubmatch(line); m != nil && signal.MatchString(m[1]) || m != nil && strings.Contains(m[1], "<<") {
			add(n, m[1])
			continue
		}
		if strings.HasSuffix(rel, ".md") && inFence {
			continue
		}
		for _, m := range codeSpan.FindAllStringSubmatch(line, -1) {
			if signal.MatchString(m[1]) && strings.Contains(m[1], "(") && !strings.Contains(m[1], "label_replace") {
				add(n, m[1])
			}
		}
	}
	return out
}

var (
	namespaces  = regexp.MustCompile(`(?:namespace|k8s_namespace_name)="([^"]+)"`)
	deployments = regexp.MustCompile(`(?:pod|k8s_pod_name)=~"([a-z0-9.-]+)-\[a-z0-9\]\+-\[a-z0-9\]\{5\}"|deployment="([^"]+)"`)
	windows     = regexp.MustCompile(`\[(\d+[sm])(?::1s)?\]`)
)

// specsFor returns every Spec whose query could be q: the namespaces,
// deployments and windows that q names, each path, form, convention, and
// with and without PerPod and Recorded.
func specsFor(q string) []scalequery.Spec {
	nss := map[string]bool{"default": true}
	for _, m := range namespaces.FindAllStringSubmatch(q, -1) {
		nss[m[1]] = true
	}
	deps := map[string]bool{"runway-demo": true}
	for _, m := range deployments.FindAllStringSubmatch(q, -1) {
		deps[m[1]+m[2]] = true
	}
	wins := map[time.Duration]bool{0: true}
	for _, m := range windows.FindAllStringSubmatch(q, -1) {
		if d, err := time.ParseDuration(m[1]); err == nil {
			wins[d] = true
		}
	}
	var specs []scalequery.Spec
	for ns := range nss {
		for dep := range deps {
			for w := range wins {
				for _, path := range []scalequery.Path{scalequery.Scrape, scalequery.Sidecar, scalequery.OTLP} {
					for _, form := range []scalequery.Form{scalequery.TimeWeighted, scalequery.Gauge, scalequery.Rate, scalequery.IRate, scalequery.AvgIRate, scalequery.RPS} {
						for _, conv := range []scalequery.Conventions{scalequery.Runway, scalequery.OTel} {
							for _, perPod := range []bool{false, true} {
								for _, rec := range []bool{false, true} {
									specs = append(specs, scalequery.Spec{Namespace: ns, Deployment: dep, Window: w, Path: path,
										Form: form, Conventions: conv, PerPod: perPod, Recorded: rec})
								}
							}
						}
					}
				}
			}
		}
	}
	return specs
}

// placeholderWindow stands for a window written as "w" in a doc.
const placeholderWindow = 7 * time.Second

// generated says whether q is the query of a Spec, either whole or in the
// shapes prose shows: the label matchers elided as {…} or {...} or left out
// (a shape with no selector at all), the window written w.
func generated(q string) (scalequery.Spec, bool) {
	specs := specsFor(q)
	if strings.Contains(q, "[w") {
		for i := range specs {
			specs[i].Window = placeholderWindow
		}
	}
	for _, s := range specs {
		want, err := s.Query()
		if err != nil {
			continue
		}
		if s.Window == placeholderWindow {
			want = strings.ReplaceAll(want, "[7s", "[w")
		}
		if want == q {
			return s, true
		}
		sel, _ := s.Selector()
		if s.Recorded {
			sel = `namespace="` + s.Namespace + `",deployment="` + s.Deployment + `"`
		}
		for _, elided := range []string{"{…}", "{...}", ""} {
			if strings.ReplaceAll(want, "{"+sel+"}", elided) == q {
				return s, true
			}
		}
	}
	return scalequery.Spec{}, false
}

// badSelector matches the label matchers that must never select a
// workload's series: job and service differ between the series and up, or
// do not exist, on some paths.
var badSelector = regexp.MustCompile(`\b(?:job|service)\s*(?:=|!=|=~|!~)\s*"`)

// TestDocumentedQueries: every autoscaling query in the README, docs/,
// examples/**/README.md, the Kubernetes manifests (comments included) and
// the rule files is a scalequery Spec's query, or on the commented list of
// queries that are not autoscaling queries; and none selects on job or
// service.
func TestDocumentedQueries(t *testing.T) {
	found := 0
	for _, path := range docFiles(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(repoRoot, path)
		for _, q := range extractQueries(rel, data) {
			found++
			if badSelector.MatchString(q.query) {
				t.Errorf("%s:%d: the query selects on job or service; select on namespace and pod with scalequery:\n  %s", q.file, q.line, q.query)
				continue
			}
			if _, ok := notAutoscaling[q.query]; ok {
				continue
			}
			if s, ok := generated(q.query); ok {
				t.Logf("%s:%d: %+v", q.file, q.line, s)
				continue
			}
			t.Errorf("%s:%d: the query is no scalequery.Spec's and not on the notAutoscaling list:\n  %s\nrecommended form, for comparison:\n  %s",
				q.file, q.line, q.query, must(scalequery.Spec{Namespace: "default", Deployment: "runway-demo"}.Query()))
		}
	}
	if found < 10 {
		t.Errorf("found only %d queries: the extraction is broken", found)
	}
}

// A job selector written back into a doc fails the test, in each of the
// places queries are found.
func TestDocumentedQueriesRejectJob(t *testing.T) {
	good := must(scalequery.Spec{Namespace: "default", Deployment: "my-api"}.Query())
	bad := strings.ReplaceAll(good, `pod=~"my-api-[a-z0-9]+-[a-z0-9]{5}"`, `job="my-api"`)
	for name, doc := range map[string]string{
		"x.yaml":       "triggers:\n  - metadata:\n      query: " + bad + "\n",
		"comment.yaml": "# the per-pod form:\n#   query: " + bad + "\n",
		"block.md":     "```promql\n" + bad + "\n```\n",
		"span.md":      "Use `" + bad + "` in KEDA.\n",
	} {
		qs := extractQueries(name, []byte(doc))
		if len(qs) != 1 || qs[0].query != bad || !badSelector.MatchString(qs[0].query) {
			t.Errorf("%s: extracted %+v, want the job query", name, qs)
		}
		if _, ok := generated(bad); ok {
			t.Errorf("%s: a job query passes as generated", name)
		}
	}
	if _, ok := generated(good); !ok {
		t.Errorf("the recommended query is not recognised: %s", good)
	}
}

// TestRulesDerivePodsLikeScalequery: the recording and alerting rules give a
// series the deployment label with the pod-name rule of Spec.PodPattern, so
// the recorded queries select the same pods as the raw ones.
func TestRulesDerivePodsLikeScalequery(t *testing.T) {
	want := `"deployment", "$1", "pod", "` + strings.Replace(scalequery.Spec{Deployment: "x"}.PodPattern(), "x", "(.+)", 1) + `"`
	files, err := filepath.Glob(filepath.Join(repoRoot, "examples", "prometheus", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(repoRoot, "examples", "kubernetes", "prometheusrule.yaml"))
	replace := regexp.MustCompile(`label_replace\([^"]*("deployment".*?"\))`)
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.yml") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			for _, m := range replace.FindAllStringSubmatch(line, -1) {
				checked++
				if got := strings.TrimSuffix(m[1], ")"); got != want {
					t.Errorf("%s:%d: label_replace(..., %s), want %s", f, i+1, got, want)
				}
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d label_replace calls found", checked)
	}
}

func must(q string, err error) string {
	if err != nil {
		panic(err)
	}
	return q
}
