#!/bin/sh
# The xdp: driver on the guest's kernel: Debian 12's 6.1 when that is the newest kernel in /boot,
# while the host usually runs a newer one, so both of the driver's paths run in CI (6.1 has no
# xdp-features: the driver finds native XDP by trying). Run by run-guest.sh (tests/vm/CMakeLists.txt)
# with nexnet-sample, ip, ethtool (and their libraries) in /test and the veth module loaded.
#
# On a veth pair: nexnet-sample on xdp:nx answers pings from the kernel on kx; after SIGKILL no
# program is left on nx; zerocopy=on is refused with the kernel's reason; generic XDP answers too.
# Exit 0 when all hold, 1 at the first that does not (with what was seen).
B=/bin/busybox
IP=/test/ip
fail() { echo "XDP-GUEST FAILED: $*"; exit 1; }
echo "kernel $(cat /proc/sys/kernel/osrelease)"
$IP link add nx type veth peer name kx || fail "no veth"
$IP link set nx up; $IP link set kx up; $IP link set lo up
$IP addr add 10.77.0.1/24 dev kx
/test/ethtool -K kx tx off >/dev/null || fail "ethtool"

/test/nexnet-sample xdp:nx --ip 10.77.0.2/24 --quiet > /tmp/native.log 2>&1 &
SAMPLE=$!
$B sleep 3
cat /tmp/native.log
$B grep -q "native XDP" /tmp/native.log || fail "not native XDP"
$IP -d link show nx | $B grep -q "prog/xdp" || fail "no program on nx while the sample runs"
$B ping -c 3 -W 3 10.77.0.2 | $B grep -q "3 packets received" || fail "native: pings not answered"
kill -9 $SAMPLE
$B sleep 1
$IP -d link show nx | $B grep -q "prog/xdp" && fail "a program is left on nx after SIGKILL"
echo "after SIGKILL: no program on nx"

/test/nexnet-sample xdp:nx,zerocopy=on --duration 1 > /tmp/zerocopy.log 2>&1 && fail "zerocopy=on opened on a veth"
cat /tmp/zerocopy.log
$B grep -q "zero-copy" /tmp/zerocopy.log || fail "zerocopy=on refused without saying why"

/test/nexnet-sample xdp:nx,mode=generic --ip 10.77.0.2/24 --duration 6 --quiet > /tmp/generic.log 2>&1 &
$B sleep 3
$B ping -c 2 -W 3 10.77.0.2 | $B grep -q "2 packets received" || { cat /tmp/generic.log; fail "generic: pings not answered"; }
wait
cat /tmp/generic.log
$B grep -q "generic XDP" /tmp/generic.log || fail "not generic XDP"
echo "XDP-GUEST PASSED"
exit 0
