// Command image builds the runway demo's container image without a
// container engine: it parses examples/server/Dockerfile with BuildKit's
// parser, runs the build stage's commands in a directory laid out as the
// stage would be, and writes the final stage's binary and configuration
// (entrypoint, user, ports, healthcheck) as an image tarball with
// go-containerregistry, on an empty base instead of the distroless one.
//
//	cd examples/image && go run . -o runway-demo.tar
//	docker load -i runway-demo.tar    # or podman load, or crane push runway-demo.tar <registry>/runway-demo:dev
package main

import (
	"flag"
	"fmt"
	"log"
	"path/filepath"
)

func main() {
	dockerfile := flag.String("dockerfile", filepath.Join("..", "server", "Dockerfile"), "the Dockerfile")
	contextDir := flag.String("context", filepath.Join("..", ".."), "the build context (the repository root)")
	out := flag.String("o", "runway-demo.tar", "image tarball to write")
	tag := flag.String("tag", "runway-demo:dev", "the image's tag in the tarball")
	flag.Parse()
	if _, err := Build(*dockerfile, *contextDir, *out, *tag, log.Printf); err != nil {
		log.Fatalf("image: %v", err)
	}
	fmt.Printf("wrote %s (%s)\n", *out, *tag)
}
