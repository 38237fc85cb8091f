#!/usr/bin/env bash
# bench/xdp/xdp-bench.sh: forwarding between two veths, side by side in one run:
#   nexnet    nexnet-fwd xdp:fa xdp:fb (poll mode, one thread)
#   dpdk      dpdk-testpmd io-fwd on net_af_xdp0,iface=fa and net_af_xdp1,iface=fb (one forwarding lcore)
#   bridge    the Linux bridge with fa and fb as ports
# in namespace F (between fa and fb for the generator, ta and tb for iperf3), each measured with
#   Mpps      64-byte UDP frames from nexnet-xdp-loadgen (namespace G: sends on ga, counts on gb;
#             ga-fa and fb-gb are veth pairs): frames received per second at gb
#   TCP       iperf3 from namespace A (ka, 198.18.0.1) to B (kb, 198.18.0.2): Gbit/s received
# Each side RUNS times (default 3), alternating, then medians [min-max] and the ratios.
#
#   bench/xdp/xdp-bench.sh
#   RUNS=5 SECONDS_RUN=8 bench/xdp/xdp-bench.sh
#   NEXNET_OPTIONS=,busypoll=20 DPDK_DEVARGS=,busy_budget=0 bench/xdp/xdp-bench.sh
#
# Pinning (2 cores): the forwarder on CPU 1 (testpmd's forwarding lcore; its main lcore, idle, on
# CPU 0); the generator and iperf3 on CPU 0. Both AF_XDP forwarders run native XDP in copy mode
# (veth has no zero-copy), on 4 KiB pages (DPDK with --no-huge, nexnet's pool without hugepages
# when none are reserved). Defaults differ: DPDK's af_xdp PMD busy-polls (busy_budget=64), nexnet
# does not unless NEXNET_OPTIONS says busypoll=N; both are printed with the figures. The TCP ends
# compute their checksums (ethtool -K tx off): AF_XDP carries no checksum state, and native XDP on
# a veth turns GSO off on its peer. The bridge is measured with the same ends and once more with
# the kernel's default offloads (bridge_offloads), what a user of the bridge gets.
# Needs root, iperf3, ethtool; DPDK (Debian's dpdk) for the dpdk side, else "peer not available".
# nexnet's figures only: ../shared/bench is not used (the peers are measured here, in the same run).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build-release}
runs=${RUNS:-3}
seconds=${SECONDS_RUN:-5}
nexnet_options=${NEXNET_OPTIONS:-}
dpdk_devargs=${DPDK_DEVARGS:-}
[ "$(id -u)" = 0 ] || { echo "xdp-bench.sh: needs root (namespaces, XDP)" >&2; exit 1; }
for tool in iperf3 ethtool; do
  command -v $tool >/dev/null || { echo "xdp-bench.sh: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done
dpdk=1
command -v dpdk-testpmd >/dev/null || dpdk=0

out=$(mktemp -d /tmp/nexnet-xdp-bench.XXXXXX)
mkfifo "$out/stdin"
exec 9<>"$out/stdin"
namespaces=()
forwarder=
cleanup() {
  if [ -n "$forwarder" ]; then kill -INT "$forwarder" 2>/dev/null || true; wait "$forwarder" 2>/dev/null || true; fi
  for n in "${namespaces[@]:-}"; do [ -n "$n" ] && ip netns del "$n" 2>/dev/null || true; done
  exec 9>&-
  rm -rf "$out"
}
trap cleanup EXIT

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNEXNET_TESTS=OFF -DNEXNET_DOCS=OFF >/dev/null
cmake --build "$build" -j2 --target nexnet-fwd nexnet-xdp-loadgen >/dev/null

G=nxbg$$ F=nxbf$$ A=nxba$$ B=nxbb$$
for n in $G $F $A $B; do ip netns add $n; namespaces+=($n); ip -n $n link set lo up; done
# The bridge as a plain L2 forwarder: no br_netfilter hooks in F (a host may have them on).
ip netns exec $F sh -c 'for f in /proc/sys/net/bridge/bridge-nf-call-*; do [ -e "$f" ] && echo 0 > "$f"; done; true'
ip -n $F link add fa type veth peer name ga netns $G
ip -n $F link add fb type veth peer name gb netns $G
for i in fa fb; do ip -n $F link set $i up; done
for i in ga gb; do ip -n $G link set $i up; done
# The TCP ends: their own veth pairs into F (ta, tb there).
ip -n $A link add ka type veth peer name ta netns $F
ip -n $B link add kb type veth peer name tb netns $F
for i in ta tb; do ip -n $F link set $i up; done
ip -n $A addr add 198.18.0.1/24 dev ka; ip -n $B addr add 198.18.0.2/24 dev kb
ip -n $A link set ka up; ip -n $B link set kb up

offloads() {  # offloads on|off: checksum (and with it TSO) offload of the TCP ends
  ip netns exec $A ethtool -K ka tx "$1" >/dev/null; ip netns exec $B ethtool -K kb tx "$1" >/dev/null
}

start() {  # start nexnet|dpdk|bridge IF1 IF2: the forwarder in F between IF1 and IF2
  local one=$2 two=$3
  case "$1" in
    nexnet)
      ip netns exec $F taskset -c 1 "$build/samples/forward/nexnet-fwd" "xdp:$one$nexnet_options" "xdp:$two$nexnet_options" \
        --duration 3600 >"$out/fwd.log" 2>&1 & forwarder=$!
      for _ in $(seq 100); do grep -q " mode" "$out/fwd.log" && break; sleep 0.1; done
      grep -m1 "A xdp:" "$out/fwd.log" | sed 's/^/# /' >>"$out/modes" ;;
    dpdk)
      # Without -i testpmd forwards at once and waits for a line on stdin: a fifo this script holds.
      ip netns exec $F dpdk-testpmd -l 0-1 --no-pci --no-huge -m 1024 --log-level=lib.eal:error \
        --vdev "net_af_xdp0,iface=$one$dpdk_devargs" --vdev "net_af_xdp1,iface=$two$dpdk_devargs" -- \
        --forward-mode=io --nb-cores=1 --total-num-mbufs=32768 <&9 >"$out/fwd.log" 2>&1 & forwarder=$!
      for _ in $(seq 200); do grep -q "Press enter to exit" "$out/fwd.log" && break; sleep 0.1; done
      grep -m1 "Busy polling budget\|Zero copy" "$out/fwd.log" | sed 's/^/# dpdk: /' >>"$out/modes" || true ;;
    bridge*)
      ip -n $F link add br0 type bridge; ip -n $F link set br0 up
      ip -n $F link set "$one" master br0; ip -n $F link set "$two" master br0 ;;
  esac
  sleep 1
}

stop() {
  if [ -n "$forwarder" ]; then kill -INT "$forwarder" 2>/dev/null || true; wait "$forwarder" 2>/dev/null || true; forwarder=; fi
  ip -n $F link del br0 2>/dev/null || true
  sleep 0.5
}

measure() {  # measure SIDE: one Mpps and one TCP figure of SIDE
  local side=$1 tcp
  start "$side" fa fb
  ip netns exec $G taskset -c 0 "$build/bench/xdp/nexnet-xdp-loadgen" xdp:ga xdp:gb --seconds "$seconds" 2>&1 |
    awk -v s="$side" '/received/{print s "_mpps64 " $(NF-1) " Mpps"; print s "_generator_sent " $(NF-4) " Mpps"}' >>"$out/figures"
  stop
  if [ "$side" = bridge_offloads ]; then offloads on; else offloads off; fi
  start "$side" ta tb
  ip netns exec $B iperf3 -s -1 -D -p 5201; sleep 0.5
  ip netns exec $A taskset -c 0 timeout $((seconds + 15)) iperf3 -c 198.18.0.2 -p 5201 -t "$seconds" -J >"$out/tcp.json" 2>&1 || true
  tcp=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['end']['sum_received']['bits_per_second']/1e9)" \
    "$out/tcp.json" 2>/dev/null || echo nan)
  echo "${side}_tcp $tcp Gbit/s" >>"$out/figures"
  stop
}

sides=(nexnet bridge bridge_offloads)
[ "$dpdk" = 1 ] && sides=(nexnet dpdk bridge bridge_offloads)
echo "# xdp-bench: $runs runs, ${seconds} s per figure, nexnet options '${nexnet_options}', dpdk devargs '${dpdk_devargs}'"
for i in $(seq "$runs"); do
  echo "# run $i/$runs (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  order=("${sides[@]}")
  if [ $((i % 2)) = 0 ]; then order=(); for ((k = ${#sides[@]} - 1; k >= 0; k--)); do order+=("${sides[k]}"); done; fi
  for side in "${order[@]}"; do measure "$side"; done
done
sort -u "$out/modes" 2>/dev/null || true

python3 - "$out/figures" "$dpdk" <<'PY'
import sys, statistics
figures = {}
for line in open(sys.argv[1]):
    name, value, unit = line.split()[:3]
    try: figures.setdefault(name, []).append((float(value), unit))
    except ValueError: pass
def values(name): return [v for v, _ in figures.get(name, []) if v == v]
def show(name):
    v = values(name)
    if not v: return f"{name:28s} {'peer not available' if 'dpdk' in name else 'failed'}"
    return f"{name:28s} {statistics.median(v):8.3f} {figures[name][0][1]:7s} [{min(v):.3f}-{max(v):.3f}] n={len(v)}"
for metric in ("mpps64", "generator_sent", "tcp"):
    print(f"== {metric}")
    for side in ("nexnet", "dpdk", "bridge", "bridge_offloads"):
        if side == "bridge_offloads" and metric != "tcp": continue
        print(show(f"{side}_{metric}"))
    if metric == "generator_sent": continue
    ours = values(f"nexnet_{metric}")
    for side in ("dpdk", "bridge", "bridge_offloads"):
        theirs = values(f"{side}_{metric}")
        if ours and theirs and statistics.median(theirs) > 0:
            print(f"ratio nexnet/{side:16s} {statistics.median(ours) / statistics.median(theirs):6.2f}x")
PY
