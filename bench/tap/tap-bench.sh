#!/usr/bin/env bash
# Two network namespaces joined through nexnet-fwd on two taps, against the same topology with
# DPDK testpmd io-fwd on two net_tap ports and against the kernel alone (a veth pair, a Linux
# bridge), in the same run: iperf3 TCP (Gbit/s) and UDP with 64-byte payloads (kpps received).
# Each side runs RUNS times (default 3), alternating; prints median [min-max] and the ratios.
#
#   bench/tap/tap-bench.sh                       # nexnet-fwd tap:,vnet=1 in interrupt mode
#   MODE=poll VNET=0 RUNS=1 bench/tap/tap-bench.sh
#   bench/tap/tap-bench.sh --report DIR          # also DIR/report.md with the figures plotted
#   RX="readv uring" DPDK_ANCHORS=none bench/tap/tap-bench.sh   # both receive paths, no peers
#
# MODE: interrupt (default: nexnet-fwd sleeps in epoll on the tap descriptors when idle) or poll
# (it spins, as testpmd does). VNET: 1 (default: offloads, 64 KB super-packets) or 0.
# RX: the taps' receive paths to measure, each in every run (default: the driver's choice;
# "readv uring" compares a read per frame with the io_uring multishot read).
# The DPDK and kernel figures come from ../shared/bench/dpdk-anchors.sh (DPDK_ANCHORS=path) when
# it is there; otherwise they are reported as "peer not available". Needs root.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
report=
if [ "${1:-}" = --report ] && [ -n "${2:-}" ]; then report=$(mkdir -p "$2" && cd "$2" && pwd)
elif [ $# -gt 0 ]; then echo "usage: bench/tap/tap-bench.sh [--report DIR]" >&2; exit 2; fi
build=${BUILD_DIR:-$root/build-release}
runs=${RUNS:-3}
mode=${MODE:-interrupt}
vnet=${VNET:-1}
rx_paths=${RX:-auto}
seconds=${SECONDS_IPERF:-8}
anchors=${DPDK_ANCHORS:-$root/../shared/bench/dpdk-anchors.sh}
[ "$(id -u)" = 0 ] || { echo "tap-bench.sh: needs root (namespaces, taps)" >&2; exit 1; }
command -v iperf3 >/dev/null || { echo "tap-bench.sh: iperf3 is missing (apt-get install iperf3)" >&2; exit 1; }

out=$(mktemp -d /tmp/nexnet-tap-bench.XXXXXX)
namespaces=()
fwd=
cleanup() {
  if [ -n "$fwd" ]; then kill "$fwd" 2>/dev/null || true; wait "$fwd" 2>/dev/null || true; fi
  for n in "${namespaces[@]:-}"; do [ -n "$n" ] && ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$out"
}
trap cleanup EXIT
[ -z "$report" ] || command -v gnuplot >/dev/null || echo "# gnuplot missing (apt-get install gnuplot-nox): the report has tables only" >&2

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNEXNET_TESTS=OFF -DNEXNET_DOCS=OFF >/dev/null
cmake --build "$build" -j2 --target nexnet-fwd >/dev/null

# iperf_pair NAME A B: TCP then UDP 64 B from namespace A to 198.18.0.2 in B (as dpdk-anchors.sh).
iperf_pair() {
  local name=$1 a=$2 b=$3
  ip netns exec "$b" iperf3 -s -1 -D -p 5201; sleep 0.5
  ip netns exec "$a" timeout $((seconds + 12)) iperf3 -c 198.18.0.2 -p 5201 -t "$seconds" -J >"$out/tcp.json" 2>&1 || true
  ip netns exec "$b" iperf3 -s -1 -D -p 5202; sleep 0.5
  ip netns exec "$a" timeout $((seconds + 12)) iperf3 -c 198.18.0.2 -p 5202 -u -b 0 -l 64 -t "$seconds" -J >"$out/udp.json" 2>&1 || true
  python3 - "$name" "$out" <<'PY'
import json, sys
name, out = sys.argv[1], sys.argv[2]
try:
    t = json.load(open(out + "/tcp.json"))["end"]["sum_received"]["bits_per_second"] / 1e9
    print(f"{name}_tcp {t:.2f} Gbit/s")
except Exception as e: print(f"{name}_tcp nan Gbit/s  # {e}")
try:
    s = json.load(open(out + "/udp.json"))["end"]["sum"]
    print(f"{name}_udp64_received {s['packets'] * (1 - s['lost_percent'] / 100) / s['seconds'] / 1e3:.1f} kpps")
except Exception as e: print(f"{name}_udp64_received nan kpps  # {e}")
PY
}

run_nexnet() {
  local rx=$1 a=nxta$$ b=nxtb$$ fwdmode=() rxopt= name=nexnet_fwd_tap
  [ "$rx" != auto ] && rxopt=",rx=$rx" && name=nexnet_fwd_tap_$rx
  [ "$mode" = interrupt ] && fwdmode=(--interrupt)
  ip netns add "$a"; ip netns add "$b"; namespaces+=("$a" "$b")
  ip -n "$a" link set lo up; ip -n "$b" link set lo up
  "$build/samples/forward/nexnet-fwd" "tap:nxbta$$,vnet=$vnet$rxopt" "tap:nxbtb$$,vnet=$vnet$rxopt" "${fwdmode[@]}" \
    --duration $((4 * seconds + 30)) --stats >"$out/fwd.log" 2>&1 & fwd=$!
  for _ in $(seq 100); do grep -q " mode" "$out/fwd.log" && break; sleep 0.1; done
  ip link set "nxbta$$" netns "$a"; ip link set "nxbtb$$" netns "$b"
  ip -n "$a" addr add 198.18.0.1/24 dev "nxbta$$"; ip -n "$b" addr add 198.18.0.2/24 dev "nxbtb$$"
  ip -n "$a" link set "nxbta$$" up; ip -n "$b" link set "nxbtb$$" up; sleep 1
  iperf_pair "$name" "$a" "$b"
  kill "$fwd" 2>/dev/null || true; wait "$fwd" 2>/dev/null || true; fwd=
  ip netns del "$a"; ip netns del "$b"
}

peer=1
[ -f "$anchors" ] || peer=0
echo "# nexnet-fwd tap:NAME,vnet=$vnet, $mode mode, rx: $rx_paths; iperf3 ${seconds} s per figure; $runs runs"
echo "# load average before: $(cat /proc/loadavg)"
for i in $(seq "$runs"); do
  echo "# run $i/$runs" >&2
  for rx in $rx_paths; do run_nexnet "$rx" >>"$out/figures"; done
  if [ "$peer" = 1 ]; then
    bash "$anchors" tap 2>/dev/null | grep -E '^(dpdk|kernel)_' >>"$out/figures" || echo "# dpdk tap part failed" >&2
    bash "$anchors" kernel 2>/dev/null | grep -E '^(dpdk|kernel)_' >>"$out/figures" || echo "# kernel part failed" >&2
  fi
done

echo "# load average after: $(cat /proc/loadavg)"
python3 - "$out/figures" "$peer" "$rx_paths" <<'PY'
import sys, statistics
figures, peer = {}, sys.argv[2] == "1"
ours_sides = ["nexnet_fwd_tap" if rx == "auto" else f"nexnet_fwd_tap_{rx}" for rx in sys.argv[3].split()]
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) >= 3 and not parts[0].startswith("#"):
        try: figures.setdefault(parts[0], []).append((float(parts[1]), parts[2]))
        except ValueError: pass
def median(name):
    values = [v for v, _ in figures.get(name, []) if v == v]
    return statistics.median(values) if values else None
def show(name):
    values = [v for v, _ in figures.get(name, []) if v == v]
    if not values: return f"{name:34s} {'peer not available' if not name.startswith('nexnet') else 'failed'}"
    unit = figures[name][0][1]
    return f"{name:34s} {statistics.median(values):9.2f} {unit:7s} [{min(values):.2f}-{max(values):.2f}] n={len(values)}"
for metric in ("tcp", "udp64_received"):
    print(f"== {metric}")
    for side in ours_sides + ["dpdk_net_tap_iofwd", "kernel_bridge", "kernel_veth"]:
        print(show(f"{side}_{metric}"))
    if len(ours_sides) > 1:
        first, last = median(f"{ours_sides[0]}_{metric}"), median(f"{ours_sides[-1]}_{metric}")
        if first and last: print(f"ratio {ours_sides[-1]}/{ours_sides[0]} {last / first:6.2f}x")
    ours = median(f"{ours_sides[-1]}_{metric}")
    for side in ("dpdk_net_tap_iofwd", "kernel_bridge", "kernel_veth"):
        theirs = median(f"{side}_{metric}")
        if ours and theirs: print(f"ratio {ours_sides[-1]}/{side:22s} {ours / theirs:6.2f}x")
        elif not peer: print(f"ratio {ours_sides[-1]}/{side:22s} peer not available")
PY

if [ -n "$report" ]; then
  # NAME_METRIC value unit -> METRIC SIDE - value unit, for bench/report.py (one bar group per metric).
  awk '!/^#/ && NF >= 3 { n = $1; m = (n ~ /_tcp$/) ? "tcp" : (n ~ /_udp64_received$/ ? "udp64_received" : "");
       if (m == "") next; side = substr(n, 1, length(n) - length(m) - 1); gsub("_", "-", side);
       print m, side, "-", $2, $3 }' "$out/figures" >"$out/points"
  python3 "$root/bench/report.py" "$report" "$out/points" --title "two namespaces through nexnet-fwd on taps vs testpmd net_tap vs the kernel" \
    --note "$(date -u +%Y-%m-%d), nexnet-fwd tap:NAME,vnet=$vnet in $mode mode, iperf3 ${seconds} s per figure, $runs run(s), load average $(cut -d' ' -f1-3 /proc/loadavg)"
fi
