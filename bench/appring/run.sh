#!/usr/bin/env bash
# App rings across processes (bench/appring/nexnet-appring-bench all) with the DPDK SP/SC rte_ring it
# measures in the same invocation, and, with --report DIR, DIR/report.md with the figures plotted:
# ring 1 removals (Mobj/s) next to rte_ring, and re-injection through an rx-intercept ring (Mpps).
#
#   bench/appring/run.sh [--report DIR]          RUNS=7 SECONDS_RUN=1 by default
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build-release}
runs=${RUNS:-7}
report=
if [ "${1:-}" = --report ] && [ -n "${2:-}" ]; then report=$(mkdir -p "$2" && cd "$2" && pwd)
elif [ $# -gt 0 ]; then echo "usage: bench/appring/run.sh [--report DIR]" >&2; exit 2; fi
out=$(mktemp -d /tmp/nexnet-appring-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT

echo "[1/2] building nexnet-appring-bench (Release)" >&2
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNEXNET_TESTS=OFF -DNEXNET_DOCS=OFF >/dev/null
cmake --build "$build" -j2 --target nexnet-appring-bench >/dev/null
echo "[2/2] nexnet-appring-bench all --runs $runs" >&2
"$build/bench/appring/nexnet-appring-bench" all --runs "$runs" --seconds "${SECONDS_RUN:-1}" | tee "$out/figures"

if [ -n "$report" ]; then
  awk '$1 == "nexnet_appring_ring1_bulk32_cross_process"         { print "ring1 app-ring-receiveEntries - " $2, $3 }
       $1 == "nexnet_appring_ring1_packets_bulk32_cross_process" { print "ring1 app-ring-receive - " $2, $3 }
       $1 == "nexnet_appring_ring1_shared_bulk32_cross_process"  { print "ring1 app-ring-shared - " $2, $3 }
       $1 == "dpdk_ring_spsc_bulk32_cross_core"                  { print "ring1 dpdk-rte_ring-spsc - " $2, $3 }
       $1 == "nexnet_appring_rx_intercept_reinject_null"         { print "reinject across-processes - " $2, $3 }
       $1 == "nexnet_appring_rx_intercept_reinject_null_one_thread" { print "reinject one-thread - " $2, $3 }' \
      "$out/figures" >"$out/points"
  python3 "$root/bench/report.py" "$report" "$out/points" --title "app rings across processes vs DPDK rte_ring" \
    --note "$(date -u +%Y-%m-%d), bulk 32, medians of $runs runs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
fi
