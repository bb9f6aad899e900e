package scalequery_test

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/otel-runway/runway/examples/scalequery"
)

func TestQuery(t *testing.T) {
	const sel = `namespace="shop",pod=~"api-[a-z0-9]+-[a-z0-9]{5}"`
	const otlpSel = `k8s_namespace_name="shop",k8s_pod_name=~"api-[a-z0-9]+-[a-z0-9]{5}"`
	tests := []struct {
		name string
		spec scalequery.Spec
		want string
	}{
		{"recommended", scalequery.Spec{},
			`sum(avg_over_time(irate(runway_requests_in_flight_time_seconds_total{` + sel + `}[1m])[1m:1s]) and on(namespace, pod) up{` + sel + `})`},
		{"sidecar is the scrape query", scalequery.Spec{Path: scalequery.Sidecar},
			`sum(avg_over_time(irate(runway_requests_in_flight_time_seconds_total{` + sel + `}[1m])[1m:1s]) and on(namespace, pod) up{` + sel + `})`},
		{"otlp has no up", scalequery.Spec{Path: scalequery.OTLP},
			`sum(avg_over_time(irate(runway_requests_in_flight_time_seconds_total{` + otlpSel + `}[1m])[1m:1s]))`},
		{"per pod", scalequery.Spec{PerPod: true},
			`avg(sum by (namespace, pod) (avg_over_time(irate(runway_requests_in_flight_time_seconds_total{` + sel + `}[1m])[1m:1s]) and on(namespace, pod) up{` + sel + `}))`},
		{"gauge", scalequery.Spec{Form: scalequery.Gauge}, `sum(runway_requests_in_flight{` + sel + `})`},
		{"gauge otel", scalequery.Spec{Form: scalequery.Gauge, Conventions: scalequery.OTel}, `sum(http_server_active_requests{` + sel + `})`},
		{"rate 30s", scalequery.Spec{Form: scalequery.Rate, Window: 30 * time.Second}, `sum(rate(runway_requests_in_flight_time_seconds_total{` + sel + `}[30s]))`},
		{"irate", scalequery.Spec{Form: scalequery.IRate}, `sum(irate(runway_requests_in_flight_time_seconds_total{` + sel + `}[1m]))`},
		{"avg irate 2m", scalequery.Spec{Form: scalequery.AvgIRate, Window: 2 * time.Minute}, `sum(avg_over_time(irate(runway_requests_in_flight_time_seconds_total{` + sel + `}[1m])[2m:1s]))`},
		{"rps", scalequery.Spec{Form: scalequery.RPS}, `sum(rate(runway_requests_total{` + sel + `}[1m]))`},
		{"recorded", scalequery.Spec{Recorded: true}, `sum(namespace_deployment:runway_requests_in_flight_time_weighted:sum{namespace="shop",deployment="api"})`},
		{"recorded gauge per pod", scalequery.Spec{Recorded: true, Form: scalequery.Gauge, PerPod: true}, `avg(namespace_deployment:runway_requests_in_flight:avg{namespace="shop",deployment="api"})`},
		{"recorded gauge otel", scalequery.Spec{Recorded: true, Form: scalequery.Gauge, Conventions: scalequery.OTel}, `sum(namespace_deployment:http_server_active_requests:sum{namespace="shop",deployment="api"})`},
		{"rps otel otlp", scalequery.Spec{Form: scalequery.RPS, Conventions: scalequery.OTel, Path: scalequery.OTLP}, `sum(rate(http_server_request_duration_seconds_count{` + otlpSel + `}[1m]))`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Namespace, tc.spec.Deployment = "shop", "api"
			got, err := tc.spec.Query()
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Query() =\n%s\nwant\n%s", got, tc.want)
			}
			for _, bad := range []string{"job=", "service="} {
				if strings.Contains(got, bad) {
					t.Errorf("Query() selects on %s: %s", bad, got)
				}
			}
		})
	}
}

// The pod pattern matches a Deployment's pods and nothing else: not the pods
// of a Deployment whose name starts with this one's.
func TestPodPattern(t *testing.T) {
	spec := scalequery.Spec{Namespace: "default", Deployment: "runway-demo"}
	re := regexp.MustCompile("^(?:" + spec.PodPattern() + ")$") // Prometheus anchors regexes
	for pod, want := range map[string]bool{
		"runway-demo-7d9f8c6b5-x2k4q":        true,
		"runway-demo-5c8b7-abcde":            true,
		"runway-demo-canary-7d9f8c6b5-x2k4q": false,
		"runway-demo-0":                      false,
		"runway-demo":                        false,
		"other-7d9f8c6b5-x2k4q":              false,
	} {
		if got := re.MatchString(pod); got != want {
			t.Errorf("%s matches %v, want %v", pod, got, want)
		}
	}
	dotted := scalequery.Spec{Namespace: "default", Deployment: "api.v2"}
	re = regexp.MustCompile("^(?:" + dotted.PodPattern() + ")$")
	if re.MatchString("apixv2-7d9f8c6b5-x2k4q") || !re.MatchString("api.v2-7d9f8c6b5-x2k4q") {
		t.Errorf("a dot in the name is not literal: %s", dotted.PodPattern())
	}
}

func TestInvalidSpec(t *testing.T) {
	for name, spec := range map[string]scalequery.Spec{
		"no namespace":   {Deployment: "api"},
		"no deployment":  {Namespace: "default"},
		"upper case":     {Namespace: "default", Deployment: "API"},
		"quote":          {Namespace: `de"fault`, Deployment: "api"},
		"bad path":       {Namespace: "default", Deployment: "api", Path: 7},
		"bad form":       {Namespace: "default", Deployment: "api", Form: 42},
		"sub-second":     {Namespace: "default", Deployment: "api", Window: 1500 * time.Millisecond},
		"bad convention": {Namespace: "default", Deployment: "api", Conventions: "both"},
		"recorded otlp":  {Namespace: "default", Deployment: "api", Recorded: true, Path: scalequery.OTLP},
		"recorded rps":   {Namespace: "default", Deployment: "api", Recorded: true, Form: scalequery.RPS},
	} {
		if q, err := spec.Query(); !errors.Is(err, scalequery.ErrSpec) {
			t.Errorf("%s: Query() = %q, %v; want ErrSpec", name, q, err)
		}
	}
}

func TestParse(t *testing.T) {
	for _, f := range []scalequery.Form{scalequery.TimeWeighted, scalequery.Gauge, scalequery.Rate, scalequery.IRate, scalequery.AvgIRate, scalequery.RPS} {
		if got, err := scalequery.ParseForm(strings.ToUpper(f.String())); err != nil || got != f {
			t.Errorf("ParseForm(%q) = %v, %v", f, got, err)
		}
	}
	for _, p := range []scalequery.Path{scalequery.Scrape, scalequery.Sidecar, scalequery.OTLP} {
		if got, err := scalequery.ParsePath(p.String()); err != nil || got != p {
			t.Errorf("ParsePath(%q) = %v, %v", p, got, err)
		}
	}
	if _, err := scalequery.ParseForm("cpu"); err == nil {
		t.Error("ParseForm(cpu) succeeded")
	}
	if _, err := scalequery.ParsePath("gateway"); err == nil {
		t.Error("ParsePath(gateway) succeeded")
	}
}

func ExampleSpec_Query() {
	spec := scalequery.Spec{Namespace: "default", Deployment: "my-api"}
	q, err := spec.Query()
	if err != nil {
		panic(err)
	}
	fmt.Println(spec.MetricType())
	fmt.Println(q)
	// Output:
	// AverageValue
	// sum(avg_over_time(irate(runway_requests_in_flight_time_seconds_total{namespace="default",pod=~"my-api-[a-z0-9]+-[a-z0-9]{5}"}[1m])[1m:1s]) and on(namespace, pod) up{namespace="default",pod=~"my-api-[a-z0-9]+-[a-z0-9]{5}"})
}
