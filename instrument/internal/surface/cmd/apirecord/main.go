// Command apirecord writes the exported API of the Go package in the
// current directory to api.txt (see package surface). Run it through go
// generate in the package.
package main

import (
	"fmt"
	"os"

	"github.com/otel-runway/runway/instrument/internal/surface"
)

func main() {
	rec, err := surface.Record(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, "apirecord:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(surface.RecordName, []byte(rec), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "apirecord:", err)
		os.Exit(1)
	}
	fmt.Printf("apirecord: %s: %d exported names\n", surface.RecordName, surface.Names(rec))
}
