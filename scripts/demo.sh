#!/usr/bin/env bash
# The nexnet demo: nexnet-sample answers ARP, ICMP echo and UDP echo on a tap device whose
# kernel end sits in a network namespace made for the demo; the kernel pings it from there,
# sends it a UDP datagram, and the demo prints the replies and the sample's statistics.
# Everything it creates (namespace, tap, process) is removed on exit, even on failure.
#
#   scripts/demo.sh [tap|packet]
#
# tap (default): nexnet-sample opens tap:nxsample0 with nexnet's tap driver.
# packet:        nexnet-sample opens packet:nxsample, one end of a veth pair, with the tutorial
#                driver SampleEthernet (samples/ethernet); the kernel uses the other end.
#
# Needs root (network namespaces, tap devices); re-runs itself through sudo otherwise.
# Installs missing Debian packages and builds ./build when the sample is not built yet.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "demo.sh: run as root (namespaces and taps need it)" >&2; exit 1; }
  exec sudo -E "$0" "$@"
fi
driver=${1:-tap}
case $driver in tap|packet) ;; *) echo "usage: scripts/demo.sh [tap|packet]" >&2; exit 2 ;; esac

sample=$top/build/samples/ethernet/nexnet-sample
# Install what is missing and (re)build the sample: quick when nothing changed.
"$top/scripts/install-deps.sh"
[ -f "$top/build/CMakeCache.txt" ] || cmake -S "$top" -B "$top/build" >/dev/null
echo "== building nexnet-sample"
cmake --build "$top/build" -j"$(nproc)" --target nexnet-sample >/dev/null

ns=nxdemo-$$
log=$(mktemp /tmp/nexnet-demo.XXXXXX)
pid=
cleanup() {
  status=$?
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  ip netns del "$ns" 2>/dev/null || true
  rm -f "$log"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== network namespace $ns holds the kernel's end of the link"
ip netns add "$ns"
# No IPv6 inside: the kernel then sends nothing the demo did not ask for.
ip netns exec "$ns" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6'
ip -n "$ns" link set lo up
if [ "$driver" = tap ]; then
  uri=tap:nxsample0 kernel_end=nxsample0
else
  ip -n "$ns" link add nxsample type veth peer name nxkernel
  ip -n "$ns" link set nxsample up
  uri=packet:nxsample kernel_end=nxkernel
fi

# The sample runs inside the namespace too, so the tap it creates appears there.
echo "== nexnet-sample on $uri as 10.77.0.2/24"
ip netns exec "$ns" "$sample" "$uri" --ip 10.77.0.2/24 >"$log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  grep -q " mode" "$log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "demo.sh: nexnet-sample did not start" >&2; exit 1; }
  sleep 0.1
done
grep -q " mode" "$log" || { cat "$log"; echo "demo.sh: nexnet-sample did not start in 10 s" >&2; exit 1; }
head -1 "$log"

echo "== kernel end $kernel_end as 10.77.0.1/24"
ip -n "$ns" link set "$kernel_end" up
ip -n "$ns" addr add 10.77.0.1/24 dev "$kernel_end"

echo "== ping from the namespace"
ip netns exec "$ns" ping -c 5 -i 0.2 -W 2 10.77.0.2 || ping_failed=1

echo "== UDP echo (port 7) from the namespace"
reply=$(ip netns exec "$ns" timeout 3 bash -c \
  'exec 3<>/dev/udp/10.77.0.2/7; printf "hello, nexnet" >&3; head -c 13 <&3' || true)
echo "sent 'hello, nexnet', got back '$reply'"
[ "$reply" = "hello, nexnet" ] || udp_failed=1

echo "== nexnet-sample statistics"
kill -INT "$pid"
wait "$pid" || true
pid=
tail -n +2 "$log"

if [ -n "${ping_failed:-}" ] || [ -n "${udp_failed:-}" ]; then
  echo "demo.sh: FAILED (${ping_failed:+ping }${udp_failed:+udp})" >&2
  exit 1
fi
echo "== demo done: namespace, link and process are removed on exit"
