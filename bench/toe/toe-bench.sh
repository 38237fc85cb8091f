#!/usr/bin/env bash
# The TCP offload engine's benchmark (issue 15 item 7): nexnet-toe-bench in each wire
# configuration, every row in the same run of the program (a: offloaded into posted buffers,
# b: the kernel's recv() on the same bridged path, c: the kernel's recv() on a plain veth pair).
#
#   bench/toe/toe-bench.sh                                  # both configurations, 3 runs each
#   RUNS=5 MEGABYTES=512 bench/toe/toe-bench.sh
#   CONFIGS="vnet=1,rx=readv vnet=0,rx=uring" bench/toe/toe-bench.sh
#
# CONFIGS: the wire tap's settings to measure, each "vnet=0|1,rx=readv|uring" (default: 64 KB
# super-packets with readv, and MTU-sized frames with readv). Build: BUILD_DIR (default
# build-release, configured Release here). Needs root.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build-release}
runs=${RUNS:-3}
megabytes=${MEGABYTES:-256}
configs=${CONFIGS:-"vnet=1,rx=readv vnet=0,rx=readv"}
[ "$(id -u)" = 0 ] || { echo "toe-bench.sh: needs root (namespaces, taps, veth)" >&2; exit 1; }
if [ ! -x "$build/bench/toe/nexnet-toe-bench" ] || [ -z "${BUILD_DIR:-}" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNEXNET_TESTS=OFF -DNEXNET_DOCS=OFF >/dev/null
  cmake --build "$build" -j2 --target nexnet-toe-bench >/dev/null
fi
for config in $configs; do
  vnet=$(sed -n 's/.*vnet=\([01]\).*/\1/p' <<<"$config")
  rx=$(sed -n 's/.*rx=\([a-z]*\).*/\1/p' <<<"$config")
  echo "## wire tap vnet=${vnet:-0} rx=${rx:-readv}"
  "$build/bench/toe/nexnet-toe-bench" --megabytes "$megabytes" --runs "$runs" --vnet "${vnet:-0}" --rx "${rx:-readv}"
  echo
done
