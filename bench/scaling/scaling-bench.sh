#!/usr/bin/env bash
# Scaling across cores, side by side in one run (issue 16):
#   null  nexnet-fwd null: null: with 1 and 2 threads (a queue pair each), Mpps both ways: the
#         scaling ratio.
#   tap   two namespaces joined through a forwarder on two taps, iperf3 TCP with 1 and 4 streams
#         (Gbit/s) and UDP 64-byte payloads with 8 flows (kpps received), through:
#           nexnet-fwd tap:,vnet=1,queues=N --threads N (N = 1, 2; interrupt mode by default),
#           DPDK testpmd io-fwd on two net_tap ports with 1 and 2 forwarding cores (--rxq=--txq=N),
#           the kernel's own bridge (two veth pairs on a Linux bridge).
# Each side runs RUNS times (default 3), alternating; prints median [min-max] and the ratios, and
# the load average before and after: on a shared machine figures taken under load are noise.
#
#   bench/scaling/scaling-bench.sh               # everything (about 10 minutes with RUNS=3)
#   PARTS=null RUNS=5 bench/scaling/scaling-bench.sh
#   MODE=poll PARTS=tap bench/scaling/scaling-bench.sh
#
# Needs root (namespaces, taps, hugepages), iperf3 and Debian's dpdk (else "peer not available").
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build-release}
runs=${RUNS:-3}
parts=${PARTS:-null tap}
mode=${MODE:-interrupt}
seconds=${SECONDS_IPERF:-8}
null_seconds=${SECONDS_NULL:-5}
cpus=${CPUS:-0-1}                 # nexnet-fwd --cpus for two threads; one thread uses the first
[ "$(id -u)" = 0 ] || { echo "scaling-bench.sh: needs root (namespaces, taps, hugepages)" >&2; exit 1; }

out=$(mktemp -d /tmp/nexnet-scaling-bench.XXXXXX)
namespaces=()
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && { kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; }; done
  for n in "${namespaces[@]:-}"; do [ -n "$n" ] && ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$out"
}
trap cleanup EXIT

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNEXNET_TESTS=OFF -DNEXNET_DOCS=OFF >/dev/null
cmake --build "$build" -j2 --target nexnet-fwd >/dev/null
fwd=$build/samples/forward/nexnet-fwd
first_cpu=${cpus%%[-,]*}

load() { cut -d' ' -f1 /proc/loadavg; }
echo "# load average before: $(load) (figures are provisional when it is 2 or more: 2 cores, shared)"

# ---- null: the scaling ratio -------------------------------------------------------------------
run_null() { # run_null THREADS
  local t=$1 cpu=$cpus
  [ "$t" = 1 ] && cpu=$first_cpu
  timeout $((null_seconds + 20)) "$fwd" "null:,queues=$t" "null:,queues=$t" --threads "$t" --cpus "$cpu" \
    --duration "$null_seconds" | awk -v t="$t" '/total both/{print "nexnet_null_" t "t", $(NF-1), "Mpps"}'
}

# ---- tap: three forwarders between two namespaces ------------------------------------------------
two_ns() { ip netns add "$1"; ip netns add "$2"; namespaces+=("$1" "$2"); ip -n "$1" link set lo up; ip -n "$2" link set lo up; }
del_ns() { ip netns del "$1" 2>/dev/null || true; ip netns del "$2" 2>/dev/null || true; }

iperf_all() { # iperf_all NAME A B: TCP 1 and 4 streams, UDP 64 B 8 flows, from A to 198.18.0.2 in B
  local name=$1 a=$2 b=$3
  ip netns exec "$b" iperf3 -s -1 -D -p 5201; sleep 0.5
  ip netns exec "$a" timeout $((seconds + 15)) iperf3 -c 198.18.0.2 -p 5201 -t "$seconds" -J >"$out/tcp1.json" 2>&1 || true
  ip netns exec "$b" iperf3 -s -1 -D -p 5202; sleep 0.5
  ip netns exec "$a" timeout $((seconds + 15)) iperf3 -c 198.18.0.2 -p 5202 -P 4 -t "$seconds" -J >"$out/tcp4.json" 2>&1 || true
  ip netns exec "$b" iperf3 -s -1 -D -p 5203; sleep 0.5
  ip netns exec "$a" timeout $((seconds + 15)) iperf3 -c 198.18.0.2 -p 5203 -u -b 0 -l 64 -P 8 -t "$seconds" -J >"$out/udp.json" 2>&1 || true
  python3 - "$name" "$out" <<'PY'
import json, sys
name, out = sys.argv[1], sys.argv[2]
for streams in ("1", "4"):
    try:
        t = json.load(open(f"{out}/tcp{streams}.json"))["end"]["sum_received"]["bits_per_second"] / 1e9
        print(f"{name}_tcp{streams} {t:.2f} Gbit/s")
    except Exception as e: print(f"{name}_tcp{streams} nan Gbit/s  # {e}")
try:
    s = json.load(open(out + "/udp.json"))["end"]["sum"]
    print(f"{name}_udp64x8 {s['packets'] * (1 - s['lost_percent'] / 100) / s['seconds'] / 1e3:.1f} kpps")
except Exception as e: print(f"{name}_udp64x8 nan kpps  # {e}")
PY
}

# Moves taps $3 and $4 into namespaces $1 and $2 as 198.18.0.1 and .2.
wire_up() {
  ip link set "$3" netns "$1"; ip link set "$4" netns "$2"
  ip -n "$1" addr add 198.18.0.1/24 dev "$3"; ip -n "$2" addr add 198.18.0.2/24 dev "$4"
  ip -n "$1" link set "$3" up; ip -n "$2" link set "$4" up; sleep 1
}

run_nexnet_tap() { # run_nexnet_tap THREADS
  local t=$1 a=nsa$$ b=nsb$$ ta=nxsa$$ tb=nxsb$$ cpu=$cpus extra=() p
  [ "$t" = 1 ] && cpu=$first_cpu
  [ "$mode" = interrupt ] && extra=(--interrupt)
  two_ns "$a" "$b"
  "$fwd" "tap:$ta,vnet=1,queues=$t" "tap:$tb,vnet=1,queues=$t" --threads "$t" --cpus "$cpu" "${extra[@]}" \
    --duration $((3 * seconds + 60)) >"$out/fwd.log" 2>&1 & p=$!; pids+=("$p")
  for _ in $(seq 100); do grep -q " mode" "$out/fwd.log" && break; sleep 0.1; done
  wire_up "$a" "$b" "$ta" "$tb"
  iperf_all "nexnet_fwd_${t}t" "$a" "$b"
  kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true
  del_ns "$a" "$b"
}

hugepages() { # EAL memory options: hugepages when the kernel grants them
  [ "$(cat /proc/sys/vm/nr_hugepages)" -ge 256 ] || echo 256 >/proc/sys/vm/nr_hugepages 2>/dev/null || true
  mkdir -p /dev/hugepages; mountpoint -q /dev/hugepages || mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || true
  if [ "$(awk '/HugePages_Free/{print $2}' /proc/meminfo)" -lt 128 ]; then echo "--no-huge -m 512"; fi
}

run_dpdk_tap() { # run_dpdk_tap CORES: testpmd io-fwd, CORES forwarding lcores, as many queues per port
  local c=$1 a=dsa$$ b=dsb$$ p lcores
  lcores="-l 0-1"                                   # main lcore 0, forwarding lcore 1
  [ "$c" = 2 ] && lcores="--lcores 0@0,1@0,2@1"     # main (idle at its prompt) and one forwarder share CPU 0
  two_ns "$a" "$b"
  # shellcheck disable=SC2086
  ( sleep 3; echo start; sleep $((3 * seconds + 40)); echo stop; echo quit ) |
    dpdk-testpmd $lcores --no-pci $(hugepages) --vdev net_tap0,iface=dtsa$$ --vdev net_tap1,iface=dtsb$$ \
      --log-level=lib.eal:error -- -i --forward-mode=io --nb-cores="$c" --rxq="$c" --txq="$c" >"$out/testpmd.log" 2>&1 & p=$!
  pids+=("$p")
  for _ in $(seq 100); do ip link show "dtsb$$" >/dev/null 2>&1 && break; sleep 0.1; done
  sleep 1
  wire_up "$a" "$b" "dtsa$$" "dtsb$$"; sleep 2
  iperf_all "dpdk_testpmd_${c}c" "$a" "$b"
  kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true
  del_ns "$a" "$b"
}

run_bridge() {
  local a=ksa$$ b=ksb$$ c=ksc$$
  two_ns "$a" "$b"; ip netns add "$c"; namespaces+=("$c")
  ip -n "$c" link add br0 type bridge; ip -n "$c" link set br0 up
  ip link add va netns "$a" type veth peer name pa netns "$c"; ip link add vb netns "$b" type veth peer name pb netns "$c"
  for p in pa pb; do ip -n "$c" link set "$p" master br0; ip -n "$c" link set "$p" up; done
  ip -n "$a" addr add 198.18.0.1/24 dev va; ip -n "$b" addr add 198.18.0.2/24 dev vb
  ip -n "$a" link set va up; ip -n "$b" link set vb up; sleep 1
  iperf_all kernel_bridge "$a" "$b"
  del_ns "$a" "$b"; ip netns del "$c" 2>/dev/null || true
}

peer=1
command -v dpdk-testpmd >/dev/null || peer=0
for i in $(seq "$runs"); do
  echo "# run $i/$runs (load $(load))" >&2
  for part in $parts; do
    case $part in
      null) if [ $((i % 2)) = 1 ]; then run_null 1; run_null 2; else run_null 2; run_null 1; fi ;;
      tap)
        command -v iperf3 >/dev/null || { echo "# iperf3 missing: tap part skipped" >&2; continue; }
        run_nexnet_tap 1; run_nexnet_tap 2
        if [ "$peer" = 1 ]; then run_dpdk_tap 1; run_dpdk_tap 2; fi
        run_bridge ;;
    esac
  done >>"$out/figures"
done
echo "# load average after: $(load)"

python3 - "$out/figures" "$peer" <<'PY'
import sys, statistics
figures, peer = {}, sys.argv[2] == "1"
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) >= 3 and not parts[0].startswith("#"):
        try: figures.setdefault(parts[0], []).append((float(parts[1]), parts[2]))
        except ValueError: pass
def values(name): return [v for v, _ in figures.get(name, []) if v == v]
def median(name):
    v = values(name)
    return statistics.median(v) if v else None
def cell(name):
    v = values(name)
    if not v: return "peer not available" if name.startswith("dpdk") and not peer else "-"
    return f"{statistics.median(v):8.2f} [{min(v):.2f}-{max(v):.2f}]"
def ratio(a, b):
    x, y = median(a), median(b)
    return f"{x / y:.2f}x" if x and y else "-"
if "nexnet_null_1t" in figures:
    print("== null io-fwd, nexnet-fwd null:,queues=N (Mpps, both directions)")
    print(f"1 thread  {cell('nexnet_null_1t')}")
    print(f"2 threads {cell('nexnet_null_2t')}")
    print(f"scaling 2/1 threads: {ratio('nexnet_null_2t', 'nexnet_null_1t')} (goal 1.8x)")
sides = ["nexnet_fwd_1t", "nexnet_fwd_2t", "dpdk_testpmd_1c", "dpdk_testpmd_2c", "kernel_bridge"]
if any(k.startswith("nexnet_fwd") for k in figures):
    for metric, unit in (("tcp1", "Gbit/s"), ("tcp4", "Gbit/s"), ("udp64x8", "kpps")):
        print(f"== tap {metric} ({unit}): median [min-max]")
        for side in sides: print(f"{side:18s} {cell(f'{side}_{metric}')}")
        print(f"nexnet 2 threads / 1 thread    {ratio(f'nexnet_fwd_2t_{metric}', f'nexnet_fwd_1t_{metric}')}")
        print(f"nexnet 2 threads / bridge      {ratio(f'nexnet_fwd_2t_{metric}', f'kernel_bridge_{metric}')} (goal 1.0x)")
        print(f"nexnet 2 threads / testpmd 2c  {ratio(f'nexnet_fwd_2t_{metric}', f'dpdk_testpmd_2c_{metric}')}")
        print(f"nexnet 1 thread / testpmd 1c   {ratio(f'nexnet_fwd_1t_{metric}', f'dpdk_testpmd_1c_{metric}')}")
PY
