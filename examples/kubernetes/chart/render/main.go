// Command render renders the runway-autoscaling chart to standard output as
// `helm template` does, with Helm's own engine, for those without a helm
// binary:
//
//	go run ./render --set deployment=checkout,namespace=shop,path=sidecar
//
// Flags: --set (repeatable, Helm's syntax), -f (a values file, repeatable),
// --release (default runway), --namespace (default "default").
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/otel-runway/runway/examples/kubernetes/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/strvals"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var sets, files list
	flag.Var(&sets, "set", "values, e.g. deployment=checkout,threshold=8 (repeatable)")
	flag.Var(&files, "f", "a values file (repeatable)")
	dir := flag.String("chart", chart.Dir, "the chart's directory")
	release := flag.String("release", "runway", "the release's name")
	namespace := flag.String("namespace", "default", "the release's namespace")
	flag.Parse()
	// Helm's loader logs each symbolic link it follows (the chart's files/
	// link to the repository's rules and dashboard).
	log.SetOutput(io.Discard)
	if err := run(*dir, *release, *namespace, files, sets); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run(dir, release, namespace string, files, sets []string) error {
	values := map[string]any{}
	for _, f := range files {
		v, err := chartutil.ReadValuesFile(f)
		if err != nil {
			return err
		}
		values = chartutil.CoalesceTables(v.AsMap(), values)
	}
	for _, s := range sets {
		if err := strvals.ParseInto(s, values); err != nil {
			return fmt.Errorf("--set %s: %w", s, err)
		}
	}
	out, err := chart.Render(dir, release, namespace, values)
	if err != nil {
		return err
	}
	_, err = fmt.Print(out)
	return err
}
