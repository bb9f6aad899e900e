#!/usr/bin/env bash
# Runs runway's performance comparisons and prints the tables of
# docs/performance.md: the middleware beside a bare handler, a bare atomic,
# promhttp and otelhttp; /metrics scrapes of 10, 100 and 1,000 series beside
# a bare client_golang registry; the parts of runway's per-request cost; and
# a real loopback server under wrk.
#
# Only ratios measured in the same run mean anything on a shared machine, so
# every round runs every case once, and rounds repeat COUNT times: the
# comparisons are interleaved, never one implementation's counts in a row.
# The tables show medians over the rounds.
#
# Environment (defaults in brackets):
#   COUNT [6]            rounds
#   BENCHTIME [1s]       -benchtime of each Go benchmark per round
#   WRK_DURATION [5s]    wrk run per implementation per round
#   WRK_CONNS [16]       wrk connections (one wrk thread)
#   SKIP_SERVER [0]      1: no wrk runs
#   OUT [a new temp dir] where the raw outputs are kept
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PATH:/usr/local/go/bin"

COUNT=${COUNT:-6}
BENCHTIME=${BENCHTIME:-1s}
WRK_DURATION=${WRK_DURATION:-5s}
WRK_CONNS=${WRK_CONNS:-16}
SKIP_SERVER=${SKIP_SERVER:-0}
OUT=${OUT:-$(mktemp -d)}
BENCHSTAT=golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
mkdir -p "$OUT"
: >"$OUT/bench.txt" >"$OUT/cost.txt" >"$OUT/server.txt"

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(go version | cut -d' ' -f3-)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "raw outputs: $OUT"

go test -c -o "$OUT/bench.test" .
(cd ../../instrument && go test -c -o "$OUT/instrument.test" .)
go build -o "$OUT/helloserver" ./cmd/helloserver
go build -o "$OUT/perftable" ./cmd/perftable

impls=(bare runway promhttp otelhttp)

# cpu_ticks prints the user+system CPU time of process $1 in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
declare -A url
if [[ $SKIP_SERVER != 1 ]]; then
  if ! command -v wrk >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q && apt-get install -y -q --no-install-recommends wrk
  fi
  # The server stops when its standard input (our end of the coprocess)
  # closes, so it cannot outlive this script.
  coproc SERVER { exec "$OUT/helloserver" -impls "$(IFS=,; echo "${impls[*]}")" -timeout 2h; }
  server_pid=$SERVER_PID
  trap 'exec {SERVER[1]}>&-; wait "$server_pid" 2>/dev/null || true' EXIT
  for _ in "${impls[@]}"; do
    read -r -t 30 name u <&"${SERVER[0]}"
    url[$name]=$u
  done
  for impl in "${impls[@]}"; do # warm-up, not recorded
    wrk -t1 -c"$WRK_CONNS" -d1s "${url[$impl]}" >/dev/null
  done
fi

for round in $(seq 1 "$COUNT"); do
  echo "round $round/$COUNT"
  "$OUT/bench.test" -test.run '^$' -test.bench . -test.benchtime "$BENCHTIME" -test.count 1 >>"$OUT/bench.txt"
  "$OUT/instrument.test" -test.run '^$' -test.bench '^BenchmarkCost$' -test.benchtime "$BENCHTIME" -test.count 1 >>"$OUT/cost.txt"
  if [[ $SKIP_SERVER != 1 ]]; then
    # Rotate the order every round, so no implementation always runs first.
    n=${#impls[@]}
    for i in $(seq 0 $((n - 1))); do
      impl=${impls[$(((i + round) % n))]}
      # The server's CPU time over the run (only the listener under load
      # works), per request: less sensitive to neighbours than req/s.
      cpu0=$(cpu_ticks "$server_pid")
      res=$(wrk -t1 -c"$WRK_CONNS" -d"$WRK_DURATION" "${url[$impl]}")
      cpu1=$(cpu_ticks "$server_pid")
      rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$res")
      reqs=$(awk '/requests in/ {print $1}' <<<"$res")
      cpu_us=$(awk -v t=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" -v n="$reqs" 'BEGIN {printf "%.3f", t / hz * 1e6 / n}')
      echo "BenchmarkServer/impl=$impl 1 $rps req/s $cpu_us server-cpu-µs/req" >>"$OUT/server.txt"
    done
  fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

"$OUT/perftable" "$OUT/bench.txt" "$OUT/cost.txt" "$OUT/server.txt"

echo
echo "## benchstat -col /impl (the same runs)"
cat "$OUT/bench.txt" "$OUT/server.txt" >"$OUT/all.txt"
for name in Middleware Scrape Server; do
  go run "$BENCHSTAT" -col /impl -filter ".name:$name" "$OUT/all.txt" || echo "(benchstat unavailable)"
done
