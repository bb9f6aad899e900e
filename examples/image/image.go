package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Build builds the image the Dockerfile describes without a container
// engine and writes it to out as a tarball (`docker load` / `podman load`
// format) tagged tag. The build stage runs as RunBuildStage describes; the
// final stage's files (its COPY --from lines) go into one layer on an empty
// base, owned by root and executable, and its configuration comes from
// ImageConfig. The base is empty, not the Dockerfile's distroless one,
// which would need a registry: the binary is static and needs nothing
// else.
func Build(dockerfile, contextDir, out, tag string, logf func(format string, args ...any)) (v1.Image, error) {
	stages, err := ParseDockerfile(dockerfile)
	if err != nil {
		return nil, err
	}
	build, final := stages[0], stages[len(stages)-1]
	root, err := os.MkdirTemp("", "runway-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(root)
	ignore, err := ContextIgnore(dockerfile, contextDir)
	if err != nil {
		return nil, err
	}
	if err := RunBuildStage(build, contextDir, ignore, root, logf); err != nil {
		return nil, err
	}

	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	for _, in := range final.Find("COPY") {
		if in.CopyFrom() != build.Name || len(in.Args) != 2 {
			return nil, fmt.Errorf("final stage: COPY %v: want one file from the build stage %q", in.Args, build.Name)
		}
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(in.Args[0])))
		if err != nil {
			return nil, fmt.Errorf("COPY --from=%s %s: %w", build.Name, in.Args[0], err)
		}
		hdr := &tar.Header{
			Name:     strings.TrimPrefix(path.Clean(in.Args[1]), "/"),
			Mode:     0o755,
			Size:     int64(len(data)),
			Typeflag: tar.TypeReg,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	// Compressed once (the digest and the tarball read the same bytes),
	// at gzip's fastest level: a static binary compresses little more
	// at higher levels.
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layer.Bytes())), nil
	}, tarball.WithCompressedCaching, tarball.WithCompressionLevel(gzip.BestSpeed))
	if err != nil {
		return nil, err
	}
	cfg, err := ImageConfig(final)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Config = "linux", runtime.GOARCH, cfg
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, err
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		return nil, err
	}
	if err := tarball.WriteToFile(out, ref, img); err != nil {
		return nil, err
	}
	return img, nil
}
