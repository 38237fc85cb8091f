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
#   bench/xdp/xdp-bench.sh                               # all sides below
#   RUNS=5 SECONDS_RUN=8 SIDES="nexnet dpdk" bench/xdp/xdp-bench.sh
#
# Sides: nexnet (defaults: no busy polling), nexnet_busypoll (busypoll=20, as DPDK's default),
# dpdk (defaults: busy_budget=64, SO_BUSY_POLL 20 us), dpdk_nobusy (busy_budget=0), bridge, and
# bridge_offloads (TCP only).
#
# Pinning (2 cores): the forwarder on CPU 1 (testpmd's forwarding lcore; its main lcore, idle, on
# CPU 0); the generator and iperf3 on CPU 0. Both AF_XDP forwarders run native XDP in copy mode
# (veth has no zero-copy), on 4 KiB pages (DPDK with --no-huge, nexnet's pool without hugepages
# when none are reserved). Defaults differ: DPDK's af_xdp PMD busy-polls (busy_budget=64), nexnet
# does not; the _busypoll and _nobusy sides compare them alike. The TCP ends
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
sides_wanted=${SIDES:-nexnet nexnet_busypoll dpdk dpdk_nobusy bridge bridge_offloads}
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
  local options="" devargs=""
  [ "$1" = nexnet_busypoll ] && options=,busypoll=20
  [ "$1" = dpdk_nobusy ] && devargs=,busy_budget=0
  case "$1" in
    nexnet*)
      ip netns exec $F taskset -c 1 "$build/samples/forward/nexnet-fwd" "xdp:$one$options" "xdp:$two$options" \
        --duration 3600 >"$out/fwd.log" 2>&1 & forwarder=$!
      for _ in $(seq 100); do grep -q " mode" "$out/fwd.log" && break; sleep 0.1; done
      grep -m1 "(veth) queue" "$out/fwd.log" | sed 's/ id [0-9]* on bpf link [0-9]*//; s/^/# /' >>"$out/modes" ;;
    dpdk*)
      # Without -i testpmd forwards at once and waits for a line on stdin: a fifo this script holds.
      ip netns exec $F dpdk-testpmd -l 0-1 --no-pci --no-huge -m 1024 --log-level=lib.eal:error \
        --vdev "net_af_xdp0,iface=$one$devargs" --vdev "net_af_xdp1,iface=$two$devargs" -- \
        --forward-mode=io --nb-cores=1 --total-num-mbufs=32768 <&9 >"$out/fwd.log" 2>&1 & forwarder=$!
      for _ in $(seq 200); do grep -q "Press enter to exit" "$out/fwd.log" && break; sleep 0.1; done
      grep -m1 "Busy polling budget" "$out/fwd.log" | sed "s/^/# $1: /" >>"$out/modes" || true ;;
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
  if [ "$side" != bridge_offloads ]; then  # the generator's frames carry no offloads: same as bridge
    start "$side" fa fb
    ip netns exec $G taskset -c 0 "$build/bench/xdp/nexnet-xdp-loadgen" xdp:ga xdp:gb --seconds "$seconds" 2>&1 |
      awk -v s="$side" '/received/{print s "_mpps64 " $(NF-1) " Mpps"; print s "_generator_sent " $(NF-4) " Mpps"}' >>"$out/figures"
    stop
  fi
  if [ "$side" = bridge_offloads ]; then offloads on; else offloads off; fi
  start "$side" ta tb
  ip netns exec $B iperf3 -s -1 -D -p 5201; sleep 0.5
  ip netns exec $A taskset -c 0 timeout $((seconds + 15)) iperf3 -c 198.18.0.2 -p 5201 -t "$seconds" -J >"$out/tcp.json" 2>&1 || true
  tcp=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['end']['sum_received']['bits_per_second']/1e9)" \
    "$out/tcp.json" 2>/dev/null || echo nan)
  echo "${side}_tcp $tcp Gbit/s" >>"$out/figures"
  stop
}

sides=()
for side in $sides_wanted; do
  [ "$dpdk" = 0 ] && [ "${side#dpdk}" != "$side" ] && continue
  sides+=("$side")
done
echo "# xdp-bench: $runs runs, ${seconds} s per figure, sides: ${sides[*]}"
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
def ratio(a, b):
    x, y = values(a), values(b)
    if x and y and statistics.median(y) > 0:
        print(f"ratio {a:24s} / {b:24s} {statistics.median(x) / statistics.median(y):6.2f}x")
for metric in ("mpps64", "generator_sent", "tcp"):
    print(f"== {metric}")
    for side in ("nexnet", "nexnet_busypoll", "dpdk", "dpdk_nobusy", "bridge", "bridge_offloads"):
        if f"{side}_{metric}" in figures: print(show(f"{side}_{metric}"))
    if metric == "generator_sent": continue
    ratio(f"nexnet_{metric}", f"dpdk_{metric}")                   # each with its defaults
    ratio(f"nexnet_busypoll_{metric}", f"dpdk_{metric}")          # both busy-polling
    ratio(f"nexnet_{metric}", f"dpdk_nobusy_{metric}")            # neither busy-polling
    ratio(f"nexnet_{metric}", f"bridge_{metric}")
    ratio(f"nexnet_{metric}", f"bridge_offloads_{metric}")
PY
