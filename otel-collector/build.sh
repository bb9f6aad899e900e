#!/usr/bin/env bash
# Builds the runway collector distribution from the committed sources.
#
#   otel-collector/build.sh [OUTPUT]
#
# OUTPUT defaults to otel-collector/_build/runway-otelcol. Only `go build` runs:
# modules come from the Go module proxy (or the local module cache).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/_build/runway-otelcol}"
case "$out" in
/*) ;;
*) out="$PWD/$out" ;;
esac

mkdir -p "$(dirname "$out")"
cd "$here"
go build -trimpath -ldflags='-s -w' -o "$out" .
echo "built $out"
