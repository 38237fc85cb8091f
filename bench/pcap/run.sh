#!/usr/bin/env bash
# Reads a 1M-frame, 64-byte pcap through nexnet's pcap driver and through DPDK's net_pcap
# (../shared/bench/dpdk-anchors.sh pcap FILE, when present) in the same run, alternating the two,
# RUNS times each (default 3), the file in the page cache for both. Prints median [min-max] and
# the ratio of medians (nexnet / DPDK; goal >= 1.0).
#
#   bench/pcap/run.sh            FRAMES=1000000 SIZE=64 RUNS=3 by default
#   bench/pcap/run.sh --report DIR   the same for each of SIZES (64 512 1500), plotted in DIR/report.md
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
report=
if [ "${1:-}" = --report ] && [ -n "${2:-}" ]; then report=$(mkdir -p "$2" && cd "$2" && pwd)
elif [ $# -gt 0 ]; then echo "usage: bench/pcap/run.sh [--report DIR]" >&2; exit 2; fi
build=${BUILD_DIR:-$root/build-release}
runs=${RUNS:-3}
frames=${FRAMES:-1000000}
size=${SIZE:-64}
anchors=${DPDK_ANCHORS:-$root/../shared/bench/dpdk-anchors.sh}
out=$(mktemp -d /tmp/nexnet-pcap-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNEXNET_TESTS=OFF -DNEXNET_DOCS=OFF >/dev/null
cmake --build "$build" -j2 --target nexnet-pcap-bench >/dev/null
bench="$build/bench/pcap/nexnet-pcap-bench"
peer=1
if [ ! -f "$anchors" ]; then peer=0; fi
if [ "$peer" = 1 ] && [ "$(id -u)" != 0 ]; then peer=0; fi
sizes=$size
[ -z "$report" ] || sizes=${SIZES:-64 512 1500}
step=0; total=$(( $(wc -w <<<"$sizes") * runs ))
for size in $sizes; do
  file="$out/frames-${frames}x${size}.pcap"
  "$bench" make "$file" --frames "$frames" --size "$size"
  cat "$file" >/dev/null  # into the page cache before either side reads it
  echo "# $frames frames of $size bytes, $(du -m "$file" | cut -f1) MiB"
  for i in $(seq "$runs"); do
    step=$((step + 1)); echo "[$step/$total] $size-byte frames, run $i" >&2
    "$bench" read "$file" | sed "s/\$/ size=$size/" >>"$out/nexnet"
    if [ "$peer" = 1 ]; then
      # One DPDK primary process at a time on this machine (EAL's lock): wait for another's to end.
      for _ in $(seq 90); do pgrep -f 'dpdk-testpmd|dpdk-anchors' >/dev/null || break; sleep 2; done
      bash "$anchors" pcap "$file" 2>>"$out/dpdk.err" | sed "s/\$/ size=$size/" >>"$out/dpdk" ||
        { echo "# DPDK run $i failed:" >&2; tail -2 "$out/dpdk.err" >&2; }
    fi
  done
  rm -f "$file"
done
[ -f "$out/dpdk" ] || : >"$out/dpdk"

python3 - "$out/nexnet" "$out/dpdk" <<'PY'
import statistics, sys
def values(path, key):
    return [float(l.split()[1]) for l in open(path) if l.startswith(key + " ")]
nx = values(sys.argv[1], "nexnet_pcap_read")
dp = values(sys.argv[2], "dpdk_net_pcap_read")
def show(v): return f"{statistics.median(v):.2f} Mpps [{min(v):.2f}-{max(v):.2f}]"
print(f"nexnet pcap:FILE read   {show(nx)}  ({len(nx)} runs)")
if dp:
    print(f"DPDK net_pcap rx_pcap   {show(dp)}  ({len(dp)} runs)")
    print(f"ratio nexnet/DPDK       {statistics.median(nx) / statistics.median(dp):.2f}x")
else:
    print("DPDK peer not available")
PY

if [ -n "$report" ]; then
  awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^size=/) sz = substr($i, 6) }
       $1 == "nexnet_pcap_read" { print "size nexnet-pcap", sz, $2, $3 }
       $1 == "dpdk_net_pcap_read" { print "size dpdk-net_pcap", sz, $2, $3 }' "$out/nexnet" "$out/dpdk" >"$out/points"
  python3 "$root/bench/report.py" "$report" "$out/points" --title "reading a pcap file: pcap:FILE vs DPDK net_pcap" \
    --note "$(date -u +%Y-%m-%d), $frames frames per file in the page cache, $runs run(s) per size, load average $(cut -d' ' -f1-3 /proc/loadavg)"
fi
