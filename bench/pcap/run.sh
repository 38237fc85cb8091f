#!/usr/bin/env bash
# Reads a 1M-frame, 64-byte pcap through nexnet's pcap driver and through DPDK's net_pcap
# (../shared/bench/dpdk-anchors.sh pcap FILE, when present) in the same run, alternating the two,
# RUNS times each (default 3), the file in the page cache for both. Prints median [min-max] and
# the ratio of medians (nexnet / DPDK; goal >= 1.0).
#
#   bench/pcap/run.sh            FRAMES=1000000 SIZE=64 RUNS=3 by default
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
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
file="$out/frames-${frames}x${size}.pcap"
"$bench" make "$file" --frames "$frames" --size "$size"
cat "$file" >/dev/null  # into the page cache before either side reads it
echo "# $frames frames of $size bytes, $(du -m "$file" | cut -f1) MiB"

peer=1
if [ ! -f "$anchors" ]; then peer=0; fi
if [ "$peer" = 1 ] && [ "$(id -u)" != 0 ]; then peer=0; fi
for i in $(seq "$runs"); do
  "$bench" read "$file" >>"$out/nexnet"
  if [ "$peer" = 1 ]; then
    # One DPDK primary process at a time on this machine (EAL's lock): wait for another's to end.
    for _ in $(seq 90); do pgrep -f 'dpdk-testpmd|dpdk-anchors' >/dev/null || break; sleep 2; done
    bash "$anchors" pcap "$file" >>"$out/dpdk" 2>>"$out/dpdk.err" || { echo "# DPDK run $i failed:" >&2; tail -2 "$out/dpdk.err" >&2; }
  fi
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
