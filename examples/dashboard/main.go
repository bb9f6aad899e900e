// Command dashboard generates runway's Grafana dashboards with Grafana's
// foundation SDK: runway-runway.json for runway's metric names and
// runway-otel.json for the OpenTelemetry semantic-convention names. Both
// are checked in beside it; a test fails when they differ from what this
// program writes.
//
//	cd examples/dashboard && go run .
//
// Import a file in Grafana (Dashboards → New → Import), choose the
// Prometheus data source, then the namespace, deployment and pods. The
// time-weighted panel reads the recording rule of
// examples/prometheus/rules.yml, which must be loaded.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	dir := flag.String("dir", ".", "directory to write the dashboards to")
	flag.Parse()
	for _, n := range Namings {
		data, err := Render(n)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		path := filepath.Join(*dir, FileName(n))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("wrote", path)
	}
}
