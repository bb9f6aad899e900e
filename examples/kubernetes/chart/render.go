package chart

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
)

// Dir is the chart's directory, relative to this package.
const Dir = "runway-autoscaling"

// Render renders the chart in dir with values (as --set or a values file
// gives them, over the chart's values.yaml) for a release named release in
// namespace, as `helm template` does, and returns the manifest: every
// non-empty template's output, by file name, each after a "---" line and a
// "# Source:" comment.
func Render(dir, release, namespace string, values map[string]any) (string, error) {
	ch, err := loader.Load(dir)
	if err != nil {
		return "", err
	}
	opts := chartutil.ReleaseOptions{Name: release, Namespace: namespace, Revision: 1, IsInstall: true}
	vals, err := chartutil.ToRenderValues(ch, values, opts, chartutil.DefaultCapabilities)
	if err != nil {
		return "", err
	}
	files, err := engine.Engine{Strict: true}.Render(ch, vals)
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(files))
	for name, out := range files {
		base := path.Base(name)
		if strings.HasPrefix(base, "_") || base == "NOTES.txt" || strings.TrimSpace(out) == "" {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", name, strings.TrimSpace(files[name]))
	}
	return b.String(), nil
}
