package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

var update = flag.Bool("update", false, "rewrite the generated dashboards")

// TestGeneratedDashboardsAreCurrent fails when a checked-in dashboard
// differs from what the generator writes (go run . or go test -update).
func TestGeneratedDashboardsAreCurrent(t *testing.T) {
	for _, n := range Namings {
		want, err := Render(n)
		if err != nil {
			t.Fatal(err)
		}
		if *update {
			if err := os.WriteFile(FileName(n), want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(FileName(n))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from its source: run `go run .` in examples/dashboard and commit the result", FileName(n))
		}
	}
}

// dashboardFile is the part of a dashboard's JSON read by the tests.
type dashboardFile struct {
	UID        string `json:"uid"`
	Templating struct {
		List []struct {
			Type     string `json:"type"`
			Name     string `json:"name"`
			Query    any    `json:"query"`
			Regex    string `json:"regex"`
			AllValue string `json:"allValue"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID          int    `json:"id"`
		Type        string `json:"type"`
		Title       string `json:"title"`
		Description string `json:"description"`
		Targets     []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// load reads a checked-in dashboard: the tests check the files users
// import, not only the generator's output.
func load(t *testing.T, n Naming) dashboardFile {
	t.Helper()
	data, err := os.ReadFile(FileName(n))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboardFile
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", FileName(n), err)
	}
	return d
}

// variableRef matches Grafana's variable syntaxes $name and ${name}.
var variableRef = regexp.MustCompile(`\$(\w+)|\$\{(\w+)\}`)

// substitute replaces the dashboard variables in expr as Grafana does;
// references to names that are not variables (such as ${1} in
// label_replace) are left as they are.
func substitute(expr string, vars map[string]string) string {
	return variableRef.ReplaceAllStringFunc(expr, func(m string) string {
		name := strings.Trim(m, "${}")
		if v, ok := vars[name]; ok {
			return v
		}
		return m
	})
}

// exampleVars are the values the tests give the variables: the namespace
// and deployment of the demo pods, all pods, the default threshold.
func exampleVars(rateInterval string) map[string]string {
	return map[string]string{
		"datasource":      "prometheus",
		"namespace":       "default",
		"deployment":      "runway-demo",
		"pod":             ".+",
		"threshold":       "5",
		"__rate_interval": rateInterval,
	}
}

// labelValuesQuery matches Grafana's label_values(selector, label).
var labelValuesQuery = regexp.MustCompile(`^label_values\((.+), (\w+)\)$`)

// TestPanelQueriesParse parses every panel query and variable query of both
// dashboards, after substituting the variables, with Prometheus' own PromQL
// parser, and checks that each reads only the metrics of its naming mode.
// The otel dashboard is tested this way only; the runway one is also
// evaluated against real data (TestDashboardQueriesReturnData).
func TestPanelQueriesParse(t *testing.T) {
	p := parser.NewParser(parser.Options{})
	for _, n := range Namings {
		t.Run(n.Name, func(t *testing.T) {
			d := load(t, n)
			vars := exampleVars("1m")
			own := []string{n.InFlight, n.Requests, n.DurationBucket}
			var other []string
			for _, m := range Namings {
				if m.Name != n.Name {
					other = append(other, m.InFlight, m.Requests, m.DurationBucket)
				}
			}
			used := map[string]bool{}
			panels := 0
			ids := map[int]bool{}
			for _, panel := range d.Panels {
				if ids[panel.ID] {
					t.Errorf("panel %q: id %d used twice", panel.Title, panel.ID)
				}
				ids[panel.ID] = true
				if panel.Type == "row" {
					continue
				}
				panels++
				if panel.Description == "" || len(panel.Targets) == 0 {
					t.Errorf("panel %q: no description or no query", panel.Title)
				}
				for _, tg := range panel.Targets {
					q := substitute(tg.Expr, vars)
					if strings.Contains(q, "$") && !strings.Contains(q, "${1}") {
						t.Errorf("panel %q %s: variable left after substitution: %s", panel.Title, tg.RefID, q)
					}
					expr, err := p.ParseExpr(q)
					if err != nil {
						t.Errorf("panel %q %s: %v\n%s", panel.Title, tg.RefID, err, q)
						continue
					}
					for _, ms := range parser.ExtractSelectors(expr) {
						for _, m := range ms {
							if m.Name == labels.MetricName {
								used[m.Value] = true
							}
						}
					}
				}
			}
			if panels < 10 {
				t.Errorf("%d panels, want the 10 of the design at least", panels)
			}
			for _, m := range own {
				if !used[m] {
					t.Errorf("no panel reads %s", m)
				}
			}
			for _, m := range other {
				if used[m] {
					t.Errorf("a panel reads %s, a metric of another naming mode", m)
				}
			}
			for _, rule := range []string{TimeWeighted, TimeWeightedAvg} {
				if !used[rule] {
					t.Errorf("no panel reads the recording rule %s", rule)
				}
			}
			for _, v := range d.Templating.List {
				if v.Type != "query" {
					continue
				}
				q, _ := v.Query.(string)
				m := labelValuesQuery.FindStringSubmatch(q)
				if m == nil {
					t.Errorf("variable %s: query %q is not label_values(selector, label)", v.Name, q)
					continue
				}
				if _, err := p.ParseMetricSelector(substitute(m[1], vars)); err != nil {
					t.Errorf("variable %s: %v", v.Name, err)
				}
				if v.Regex != "" {
					if _, err := regexp.Compile(strings.Trim(v.Regex, "/")); err != nil {
						t.Errorf("variable %s: regex: %v", v.Name, err)
					}
				}
			}
		})
	}
}

// TestTimeWeightedRuleExists checks that the recording rules the dashboards
// read are defined in the rules file users load.
func TestTimeWeightedRuleExists(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "prometheus", "rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for _, rule := range []string{TimeWeighted, TimeWeightedAvg} {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.TrimSpace(l) == "- record: "+rule }) {
			t.Errorf("examples/prometheus/rules.yml defines no recording rule %s", rule)
		}
	}
}
