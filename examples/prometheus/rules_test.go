// Package prometheus holds runway's Prometheus recording and alerting rules
// (rules.yml, and rules-otel.yml for the OpenTelemetry conventions) and
// their unit tests for promtool (rules_test.yml, rules-otel_test.yml). Its
// Go tests run promtool on them and check that every alert has a firing
// and a non-firing case and a runbook paragraph in docs/operations.md.
package prometheus

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// promtool finds Debian's promtool (package prometheus). Without it the
// test is skipped, except in CI (CI set), where it fails.
func promtool(t *testing.T) string {
	t.Helper()
	if bin, err := exec.LookPath("promtool"); err == nil {
		return bin
	}
	msg := "promtool is not installed (Debian: apt-get install -y --no-install-recommends prometheus)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func run(t *testing.T, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out.String())
	}
	t.Logf("%s %s:\n%s", filepath.Base(bin), strings.Join(args, " "), out.String())
}

// ruleFiles pairs each rule file with its promtool unit tests.
var ruleFiles = []struct{ rules, tests string }{
	{"rules.yml", "rules_test.yml"},
	{"rules-otel.yml", "rules-otel_test.yml"},
}

func TestPromtoolCheckRules(t *testing.T) {
	for _, f := range ruleFiles {
		run(t, promtool(t), "check", "rules", f.rules)
	}
}

func TestPromtoolTestRules(t *testing.T) {
	for _, f := range ruleFiles {
		run(t, promtool(t), "test", "rules", f.tests)
	}
}

// ruleFile is the part of a Prometheus rule file read here.
type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Record string `json:"record"`
			Alert  string `json:"alert"`
			Expr   string `json:"expr"`
		} `json:"rules"`
	} `json:"groups"`
}

// unitTests is the part of a promtool unit-test file read here.
type unitTests struct {
	RuleFiles []string `json:"rule_files"`
	Tests     []struct {
		AlertRuleTest []struct {
			Alertname string `json:"alertname"`
			ExpAlerts []any  `json:"exp_alerts"`
		} `json:"alert_rule_test"`
		PromQLExprTest []struct {
			Expr string `json:"expr"`
		} `json:"promql_expr_test"`
	} `json:"tests"`
}

func readYAML(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// TestEveryRuleIsCovered checks what promtool does not: each alert has a
// case where it fires and one where it does not, each recording rule is
// evaluated by a test, and each alert has its runbook section in
// docs/operations.md, which its runbook_url points to.
func TestEveryRuleIsCovered(t *testing.T) {
	for _, f := range ruleFiles {
		t.Run(f.rules, func(t *testing.T) { everyRuleIsCovered(t, f.rules, f.tests) })
	}
}

func everyRuleIsCovered(t *testing.T, rulesFile, testsFile string) {
	var rules ruleFile
	readYAML(t, rulesFile, &rules)
	var tests unitTests
	readYAML(t, testsFile, &tests)
	ops, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}

	firing, quiet, evaluated := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				firing[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
		for _, e := range tc.PromQLExprTest {
			evaluated[e.Expr] = true
		}
	}
	var errs []error
	alerts := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			switch {
			case r.Alert != "":
				alerts++
				if !firing[r.Alert] {
					errs = append(errs, errors.New(r.Alert+": no test case where it fires"))
				}
				if !quiet[r.Alert] {
					errs = append(errs, errors.New(r.Alert+": no test case where it stays silent"))
				}
				if !bytes.Contains(ops, []byte("\n### "+r.Alert+"\n")) {
					errs = append(errs, errors.New(r.Alert+": no \"### "+r.Alert+"\" section in docs/operations.md"))
				}
			case !evaluated[r.Record]:
				errs = append(errs, errors.New(r.Record+": no promql_expr_test evaluates it"))
			}
		}
	}
	if alerts < 3 {
		errs = append(errs, errors.New("fewer than the three alerts expected"))
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// TestOTelRulesMirrorRunwayRules: every rule of rules.yml that reads a
// series named by the convention (the in-flight gauge, the duration
// histogram) has its counterpart in rules-otel.yml: an alert of the same
// name, or a recording rule named after the OpenTelemetry series; and
// rules-otel.yml reads no runway-named series of those.
func TestOTelRulesMirrorRunwayRules(t *testing.T) {
	var runway, otel ruleFile
	readYAML(t, "rules.yml", &runway)
	readYAML(t, "rules-otel.yml", &otel)
	byConvention := regexp.MustCompile(`(?:^|[^:\w])(?:runway_requests_in_flight|runway_request_duration_seconds_\w+)(?:[^:\w]|$)`)
	rename := strings.NewReplacer("runway_requests_in_flight", "http_server_active_requests",
		"runway_request_duration_seconds", "http_server_request_duration_seconds")
	have := map[string]bool{}
	for _, g := range otel.Groups {
		for _, r := range g.Rules {
			have[r.Alert+r.Record] = true
			if byConvention.MatchString(r.Expr) {
				t.Errorf("rules-otel.yml: %s%s reads a runway-named series:\n%s", r.Alert, r.Record, r.Expr)
			}
		}
	}
	mirrored := 0
	for _, g := range runway.Groups {
		for _, r := range g.Rules {
			if !byConvention.MatchString(r.Expr) {
				continue
			}
			want := r.Alert
			if r.Record != "" {
				want = rename.Replace(r.Record)
			}
			if !have[want] {
				t.Errorf("rules.yml's %s%s reads a series named by the convention; rules-otel.yml has no %s", r.Alert, r.Record, want)
			}
			mirrored++
		}
	}
	if mirrored < 5 {
		t.Errorf("only %d rules of rules.yml read convention-named series", mirrored)
	}
}
