#!/bin/bash
# run-guest.sh: runs one nexnet test program inside a QEMU guest (TCG, emulated Intel VT-d IOMMU)
# whose emulated NIC(s) are bound to vfio-pci, and exits with the program's exit code.
#
#   run-guest.sh [options] PROGRAM [ARGS...]
#     --nic e1000e|virtio-net   NIC model (e1000e: 8086:10d3, virtio-net: modern 1af4:1041)  [e1000e]
#     --nics 1|2|4              1: the NIC talks to QEMU's user network (slirp, restrict=on: it answers
#                               ARP/ICMP for 10.0.2.2, nothing reaches the host); 2: two NICs joined by a
#                               QEMU-internal hub; 4: a forwarding bench, NICs 1 and 3 on one hub, 2 and 4
#                               on another                                                 [1]
#                               mq: one virtio-net NIC with --queues queue pairs (mq=on) on a multi-queue
#                               tap in a network namespace this script creates (and deletes on exit):
#                               the kernel there has 10.77.0.1/24 and a static ARP entry for the guest,
#                               10.77.0.2 at 52:54:00:12:34:56, and routes 10.77.1.0/24 back to the
#                               guest (forwarding on); nothing else is attached to it
#                               mq2: two such virtio-net NICs (the bench of bench/vm/vm-scale.sh): the first
#                               on tap nxmq0 as with mq, the second on a multi-queue tap nxmq1 (10.77.2.1/24)
#                               in the same namespace; frames to 10.77.1.0/24 go from the namespace to the
#                               first NIC, and whatever leaves the second is counted by nxmq1 and dropped
#                               bridged: two NICs behind one conventional PCI bridge (so one IOMMU group),
#                               only the first bound to vfio-pci, the second left on its kernel driver
#                               hotplug: as 1, but the NIC sits alone behind a PCI Express root port
#                               (rp0), so that it can be hot-unplugged ("NEXNET-MONITOR: device_del
#                               nic0") and reset alone (a secondary bus reset where it has no FLR)
#     --queues N                queue pairs of the NIC with --nics mq (2 to 8)               [4]
#     --vectors N               MSI-X vectors of the NIC with --nics mq (1 to 2N+2)        [2N+2]
#     --file PATH               also copy PATH (and the libraries it needs) to /test/ in the guest
#     --modules "M ..."         also load these kernel modules (and what they need) in the guest
#     --timeout SECONDS         wall-clock limit of the whole boot                          [120]
#     --mem MB, --smp N         guest memory and vCPUs (benchmarks: bench/vm/)             [512, 1]
#     --verbose                 print the whole guest console
#   ARGS may contain @BDF@ and @BDF2@ (the NICs' PCI addresses); the program also gets
#   NEXNET_BDF, NEXNET_BDFS and NEXNET_NIC in its environment.
#
# The guest is built on the fly from the host's Debian packages: the newest /boot/vmlinuz-* with its
# modules (linux-image-amd64), busybox-static, and the program with the libraries ldd lists (so
# dynamically linked and ASan builds run too). Nothing is downloaded.
#
# Guest -> host requests: a line "NEXNET-MONITOR: CMD" on the guest console makes this script send
# CMD to the QEMU monitor (HMP), e.g. "set_link n0 off" to take NIC 1's link down.
# With --nics mq, a line "NEXNET-HOST: ACTION" runs one fixed host-side action in the namespace;
# the actions are "udp-flows": 10.77.0.1 sends 8 UDP datagrams from each of the source ports
# 40000-40015 to 10.77.0.2 port 9 (16 flows, for the tap to spread over the queues), and
# "udp-echo": 10.77.0.1 port 9007 answers each datagram it receives with the same bytes, in the
# background, until it has answered 64 or heard nothing for 30 s. Anything else is refused. On exit
# the tap's host-side packet counters are printed. With --nics mq2 the only action
# is "flood SECONDS TAG": 10.77.0.1 sends 60-byte UDP frames to 10.77.1.9 from 8 source ports as fast
# as it can for SECONDS and prints "NEXNET-HOST-FIGURE TAG offered|forwarded|dropped FRAMES SECONDS"
# (frames nxmq0 took for the guest, frames nxmq1 got from it, frames nxmq0 dropped, over the flood
# without its first and last half second).
#
# IOMMU faults: any "DMAR: [DMA" fault in the guest's kernel log fails the run (exit 120), except
# faults logged after the program printed "NEXNET-EXPECT-DMAR-FAULT" (a test that provokes one).
#
# NEXNET_QEMU_ARGS in the environment adds QEMU arguments (debugging: -trace 'virtio_net*').
#
# Exit: the program's code; 77 skip (qemu or kernel missing, not under CI=true); 120 IOMMU fault;
# 124 timeout or no result; 125 guest set-up failed; 126 host set-up failed.
set -u
NIC=e1000e NICS=1 TIMEOUT=120 VERBOSE=0 MQ_PAIRS=4 MEM=512 SMP=1
while [ $# -gt 0 ]; do
  case "$1" in
    --nic) NIC=$2; shift 2 ;;
    --nics) NICS=$2; shift 2 ;;
    --queues) MQ_PAIRS=$2; shift 2 ;;
    --vectors) MQ_VECTORS=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --mem) MEM=$2; shift 2 ;;
    --smp) SMP=$2; shift 2 ;;
    --verbose) VERBOSE=1; shift ;;
    --file) FILES="${FILES:-} $2"; shift 2 ;;
    --modules) EXTRA_MODULES="${EXTRA_MODULES:-} $2"; shift 2 ;;
    --) shift; break ;;
    -*) echo "run-guest: unknown option $1" >&2; exit 126 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { sed -n '2,55p' "$0"; exit 126; }
PROGRAM=$(readlink -f "$1"); shift

# A missing tool is a skip on a developer machine and a failure under CI=true.
unavailable() {
  if [ "${CI:-}" = true ]; then echo "run-guest: CI=true, but cannot run: $*" >&2; exit 126; fi
  echo "run-guest: SKIPPED: $*"; exit 77
}
KERNEL=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
[ -x /usr/bin/qemu-system-x86_64 ] || unavailable "no qemu-system-x86_64 (apt-get install qemu-system-x86)"
[ -n "$KERNEL" ] || unavailable "no /boot/vmlinuz-* (apt-get install linux-image-amd64)"
KVER=${KERNEL#/boot/vmlinuz-}
[ -d /lib/modules/$KVER ] || unavailable "no /lib/modules/$KVER (apt-get install linux-image-amd64)"
[ -r "$KERNEL" ] || unavailable "$KERNEL not readable (run as root)"
[ -x /bin/busybox ] || unavailable "no /bin/busybox (apt-get install busybox-static)"
command -v cpio >/dev/null || unavailable "no cpio (apt-get install cpio)"
command -v modprobe >/dev/null || unavailable "no modprobe (apt-get install kmod)"
[ -x "$PROGRAM" ] || { echo "run-guest: $PROGRAM is not an executable" >&2; exit 126; }

case "$NIC" in
  e1000e)     QNIC=e1000e; PCIID=8086:10d3; KMOD=e1000e ;;
  virtio-net) QNIC=virtio-net-pci,disable-legacy=on,disable-modern=off,iommu_platform=on,ats=on
              PCIID=1af4:1041; KMOD="virtio_pci virtio_net" ;;
  *) echo "run-guest: unknown NIC model $NIC" >&2; exit 126 ;;
esac
NETNS="" BIND_FIRST_ONLY=0
if [ "$NICS" = mq ] || [ "$NICS" = mq2 ]; then
  [ "$NIC" = virtio-net ] || { echo "run-guest: --nics $NICS needs --nic virtio-net" >&2; exit 126; }
  case "$MQ_PAIRS" in [2-8]) ;; *) echo "run-guest: --queues must be 2 to 8" >&2; exit 126 ;; esac
  command -v ip >/dev/null || unavailable "no ip (apt-get install iproute2)"
  command -v python3 >/dev/null || unavailable "no python3"
  MQ_VECTORS=${MQ_VECTORS:-$((2 * MQ_PAIRS + 2))}
  case "$MQ_VECTORS" in [1-9]|1[0-8]) ;; *) echo "run-guest: --vectors must be 1 to 18" >&2; exit 126 ;; esac
  MQ_TAP=nxmq0 MQ_HOST_IP=10.77.0.1 MQ_GUEST_IP=10.77.0.2 MQ_GUEST_MAC=52:54:00:12:34:56
  NETARGS=(-netdev "tap,id=n0,ifname=$MQ_TAP,script=no,downscript=no,vhost=off,queues=$MQ_PAIRS"
           -device "$QNIC,id=nic0,netdev=n0,mac=$MQ_GUEST_MAC,mq=on,vectors=$MQ_VECTORS")
  if [ "$NICS" = mq2 ]; then
    MQ_TAP2=nxmq1
    NETARGS+=(-netdev "tap,id=n1,ifname=$MQ_TAP2,script=no,downscript=no,vhost=off,queues=$MQ_PAIRS"
              -device "$QNIC,id=nic1,netdev=n1,mac=52:54:00:12:34:57,mq=on,vectors=$MQ_VECTORS")
  fi
elif [ "$NICS" = bridged ]; then
  BIND_FIRST_ONLY=1
  NETARGS=(-device pci-bridge,id=br0,chassis_nr=1
           -netdev hubport,id=n0,hubid=0 -device "$QNIC,id=nic0,netdev=n0,mac=52:54:00:12:34:56,bus=br0,addr=1"
           -netdev hubport,id=n1,hubid=0 -device "$QNIC,id=nic1,netdev=n1,mac=52:54:00:12:34:57,bus=br0,addr=2")
elif [ "$NICS" = hotplug ]; then
  NETARGS=(-device pcie-root-port,id=rp0,chassis=1,slot=1
           -netdev user,id=n0,restrict=on -device "$QNIC,id=nic0,netdev=n0,mac=52:54:00:12:34:56,bus=rp0")
elif [ "$NICS" = 4 ]; then
  NETARGS=()
  for i in 0 1 2 3; do
    NETARGS+=(-netdev hubport,id=n$i,hubid=$((i % 2)) -device "$QNIC,id=nic$i,netdev=n$i,mac=52:54:00:12:34:5$((6 + i))")
  done
elif [ "$NICS" = 2 ]; then
  NETARGS=(-netdev hubport,id=n0,hubid=0 -device "$QNIC,id=nic0,netdev=n0,mac=52:54:00:12:34:56"
           -netdev hubport,id=n1,hubid=0 -device "$QNIC,id=nic1,netdev=n1,mac=52:54:00:12:34:57")
else
  NETARGS=(-netdev user,id=n0,restrict=on -device "$QNIC,id=nic0,netdev=n0,mac=52:54:00:12:34:56")
fi

WORK=$(mktemp -d /tmp/nexnet-vm.XXXXXX)
QPID=""
cleanup() {
  [ -n "$QPID" ] && kill "$QPID" 2>/dev/null
  [ -n "${WATCHER:-}" ] && kill "$WATCHER" 2>/dev/null
  [ -n "${HOSTWATCHER:-}" ] && kill "$HOSTWATCHER" 2>/dev/null
  wait 2>/dev/null
  if [ -n "$NETNS" ]; then
    ip -n "$NETNS" link del "$MQ_TAP" 2>/dev/null
    [ -n "${MQ_TAP2:-}" ] && ip -n "$NETNS" link del "$MQ_TAP2" 2>/dev/null
    ip netns del "$NETNS" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# --nics mq: a fresh namespace with a persistent multi-queue tap for QEMU to attach its queues to.
# Namespaces left by a run that was killed outright (SIGKILL) go first.
if [ -n "${MQ_TAP:-}" ]; then
  for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^nexnet-vm-mq-[0-9]+$/ {print $1}'); do
    kill -0 "${ns##*-}" 2>/dev/null || ip netns del "$ns" 2>/dev/null
  done
  NETNS=nexnet-vm-mq-$$
  ip netns add "$NETNS" 2>/dev/null || { NETNS=""; unavailable "cannot create a network namespace (needs root)"; }
  ip -n "$NETNS" tuntap add dev $MQ_TAP mode tap multi_queue 2>/dev/null \
    || unavailable "cannot create a multi-queue tap (needs /dev/net/tun)"
  ip netns exec "$NETNS" sysctl -qw net.ipv6.conf.$MQ_TAP.disable_ipv6=1 2>/dev/null
  ip -n "$NETNS" link set lo up
  ip -n "$NETNS" link set $MQ_TAP up
  ip -n "$NETNS" addr add $MQ_HOST_IP/24 dev $MQ_TAP
  ip -n "$NETNS" neigh replace $MQ_GUEST_IP lladdr $MQ_GUEST_MAC dev $MQ_TAP nud permanent \
    || { echo "run-guest: cannot set up namespace $NETNS" >&2; exit 126; }
  # 10.77.1.0/24 is routed back to the guest: what the guest sends there, the kernel forwards to it
  # (segmenting GSO frames on the way, since the guest takes no GSO).
  ip netns exec "$NETNS" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
    net.ipv4.conf.$MQ_TAP.send_redirects=0
  ip -n "$NETNS" route add 10.77.1.0/24 via $MQ_GUEST_IP dev $MQ_TAP
  if [ -n "${MQ_TAP2:-}" ]; then
    ip -n "$NETNS" tuntap add dev $MQ_TAP2 mode tap multi_queue 2>/dev/null \
      || unavailable "cannot create a second multi-queue tap"
    ip netns exec "$NETNS" sysctl -qw net.ipv6.conf.$MQ_TAP2.disable_ipv6=1 2>/dev/null
    ip -n "$NETNS" link set $MQ_TAP2 up
    ip -n "$NETNS" addr add 10.77.2.1/24 dev $MQ_TAP2
  fi
fi
R=$WORK/root
mkdir -p $R/{bin,dev,proc,sys,tmp,test,lib/modules}
cp /bin/busybox $R/bin/busybox
for a in sh mount insmod mkdir cat echo ls readlink basename sleep poweroff sync dmesg grep chmod id; do
  ln -s busybox $R/bin/$a
done

# Modules in load order, as the host's modprobe resolves them against the guest kernel.
MODS=""
for m in vfio_iommu_type1 vfio-pci $KMOD ${EXTRA_MODULES:-}; do
  for ko in $(modprobe -S "$KVER" --show-depends "$m" 2>/dev/null | awk '$1=="insmod"{print $2}'); do
    case " $MODS " in *" $ko "*) ;; *) MODS="$MODS $ko" ;; esac
  done
done
: > $R/modules.list
for ko in $MODS; do
  b=$(basename "$ko")
  case "$ko" in
    *.xz)  xz -dc "$ko" > "$R/lib/modules/${b%.xz}"; b=${b%.xz} ;;
    *.zst) zstd -qdc "$ko" > "$R/lib/modules/${b%.zst}"; b=${b%.zst} ;;
    *)     cp "$ko" "$R/lib/modules/$b" ;;
  esac
  echo "$b" >> $R/modules.list
done
[ -s $R/modules.list ] || { echo "run-guest: cannot resolve modules for $KVER" >&2; exit 126; }

cp "$PROGRAM" $R/test/prog
for f in "$PROGRAM" ${FILES:-}; do
  [ "$f" = "$PROGRAM" ] || cp "$f" $R/test/
  if ldd "$f" >/dev/null 2>&1; then   # dynamic (and ASan) builds: the loader and libraries
    for lib in $(ldd "$f" | grep -o '/[^ ]*'); do mkdir -p "$R$(dirname "$lib")"; cp -L "$lib" "$R$lib"; done
  fi
done
: > $R/test/args
for a in "$@"; do printf '%s\n' "$a" >> $R/test/args; done

cat > $R/init <<EOF
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mkdir -p /dev/hugepages; mount -t tmpfs tmp /tmp
echo 32 > /proc/sys/vm/nr_hugepages; mount -t hugetlbfs none /dev/hugepages
fail() { echo "NEXNET-SETUP-FAILED: \$*"; echo "NEXNET-RESULT rc=125"; sync; poweroff -f; }
while read m; do insmod /lib/modules/\$m || echo "insmod \$m failed"; done < /modules.list
BDFS=""
for d in /sys/bus/pci/devices/*; do
  [ "\$(cat \$d/vendor):\$(cat \$d/device)" = "0x${PCIID%:*}:0x${PCIID#*:}" ] && BDFS="\$BDFS \$(basename \$d)"
done
[ -n "\$BDFS" ] || fail "no PCI device $PCIID"
for BDF in \$BDFS; do
  D=/sys/bus/pci/devices/\$BDF
  [ -e \$D/iommu_group ] || fail "\$BDF has no IOMMU group"
  if [ $BIND_FIRST_ONLY = 1 ] && [ -n "\${BOUND:-}" ]; then  # --nics bridged: the rest stay with the kernel
    echo "NEXNET-INFO bdf=\$BDF group=\$(basename \$(readlink \$D/iommu_group)) left on its kernel driver"
    continue
  fi
  BOUND=\$BDF
  [ -e \$D/driver ] && echo \$BDF > \$D/driver/unbind
  echo vfio-pci > \$D/driver_override
  echo \$BDF > /sys/bus/pci/drivers/vfio-pci/bind || fail "cannot bind \$BDF to vfio-pci"
  G=\$(basename \$(readlink \$D/iommu_group))
  [ -c /dev/vfio/\$G ] || fail "no /dev/vfio/\$G"
  echo "NEXNET-INFO bdf=\$BDF group=\$G kernel=\$(cat /proc/sys/kernel/osrelease)"
done
set -- \$BDFS; BDF=\$1; BDF2=\${2:-}
set --
while IFS= read -r a; do
  a=\${a//@BDF2@/\$BDF2}; a=\${a//@BDF@/\$BDF}
  set -- "\$@" "\$a"
done < /test/args
export NEXNET_BDF=\$BDF NEXNET_BDFS="\${BDFS# }" NEXNET_NIC=$NIC HOME=/tmp
cd /test
echo "NEXNET-BEGIN"
/test/prog "\$@"
rc=\$?
dmesg | grep 'DMAR: \[DMA' | sed 's/^/NEXNET-DMESG: /'
echo "NEXNET-RESULT rc=\$rc"
sync
poweroff -f
EOF
chmod +x $R/init
(cd $R && find . | cpio -o -H newc --quiet | gzip -1 > $WORK/initrd.gz) || { echo "run-guest: cpio failed" >&2; exit 126; }

LOG=$WORK/serial.log
: > $LOG
T0=$(date +%s.%N)
INNS=()  # --nics mq: QEMU runs in the namespace, where its tap is
[ -n "$NETNS" ] && INNS=(ip netns exec "$NETNS")
timeout -k 5 "$TIMEOUT" "${INNS[@]}" qemu-system-x86_64 \
  -accel tcg -cpu max -m "$MEM" -smp "$SMP" -machine q35,kernel-irqchip=split \
  -device intel-iommu,intremap=on,caching-mode=on,device-iotlb=on \
  "${NETARGS[@]}" ${NEXNET_QEMU_ARGS:-} \
  -kernel "$KERNEL" -initrd $WORK/initrd.gz \
  -append "console=ttyS0 intel_iommu=on panic=-1 loglevel=4 quiet no_timer_check" \
  -display none -monitor unix:$WORK/monitor,server,nowait -serial file:$LOG \
  -no-reboot -nodefaults -no-user-config > $WORK/qemu.out 2>&1 &
QPID=$!

# Forward "NEXNET-MONITOR: CMD" requests from the guest console to the QEMU monitor, each once.
monitor_requests() {
  local done=0 count
  while kill -0 $QPID 2>/dev/null; do
    count=$(grep -c '^NEXNET-MONITOR: ' $LOG)
    while [ "$count" -gt "$done" ]; do
      done=$((done + 1))
      local cmd
      cmd=$(grep '^NEXNET-MONITOR: ' $LOG | sed -n "${done}p" | sed 's/^NEXNET-MONITOR: //; s/\r$//')
      python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(0.1)
s.sendall((sys.argv[2]+"\n").encode()); time.sleep(0.2); s.close()' "$WORK/monitor" "$cmd" \
        || echo "run-guest: monitor command failed: $cmd" >&2
    done
    sleep 0.2
  done
}
# --nics mq, mq2: "NEXNET-HOST: ACTION" runs a fixed, whitelisted action in the namespace, each once.
host_action() {
  set -- $1
  case "$NICS $1" in
    "mq2 flood")
      case "${2:-}:${3:-}" in [1-9]:[a-z0-9]*|[1-5][0-9]:[a-z0-9]*) ;; *) echo "run-guest: refused host action: $*" >&2; return ;; esac
      ip netns exec "$NETNS" python3 -c 'import socket, sys, time
seconds, tag, src, taps = float(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
def stat(tap, name):
    with open("/sys/class/net/%s/statistics/%s" % (tap, name)) as f: return int(f.read())
def counts(): return (stat(taps[0], "tx_packets"), stat(taps[1], "rx_packets"), stat(taps[0], "tx_dropped"))
socks = []
for port in range(40000, 40008):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((src, port)); socks.append(s)
payload, dst = b"nexnet-flood-64-b", ("10.77.1.9", 9)
start = time.monotonic(); end = start + seconds; first = last = None; n = 0
while True:
    for s in socks:
        try: s.sendto(payload, dst)
        except OSError: pass
    n += 1
    if n % 64 == 0:
        now = time.monotonic()
        if first is None and now >= start + 0.5: first = (now, counts())
        if now >= end - 0.5: last = (now, counts()); break
span = last[0] - first[0]
for name, a, b in zip(("offered", "forwarded", "dropped"), first[1], last[1]):
    print("NEXNET-HOST-FIGURE %s %s %d %.3f" % (tag, name, b - a, span), flush=True)' \
        "$2" "$3" "$MQ_HOST_IP" "$MQ_TAP" "$MQ_TAP2" || echo "run-guest: host action failed: $*" >&2 ;;
    "mq udp-flows")
      ip netns exec "$NETNS" python3 -c 'import socket,sys
for port in range(40000, 40016):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((sys.argv[1], port))
    for i in range(8): s.sendto(b"nexnet-flow %d %d" % (port, i), (sys.argv[2], 9))
    s.close()' "$MQ_HOST_IP" "$MQ_GUEST_IP" || echo "run-guest: host action failed: $1" >&2 ;;
    "mq udp-echo")
      ip netns exec "$NETNS" python3 -c 'import socket,sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 9007))
s.settimeout(30)
for i in range(64):
    try: data, peer = s.recvfrom(2048)
    except socket.timeout: break
    s.sendto(data, peer)
s.close()' "$MQ_HOST_IP" &
      ;;
    *) echo "run-guest: refused host action: $*" >&2 ;;
  esac
}
host_requests() {
  local done=0 count
  while kill -0 $QPID 2>/dev/null; do
    count=$(grep -c '^NEXNET-HOST: ' $LOG)
    while [ "$count" -gt "$done" ]; do
      done=$((done + 1))
      host_action "$(grep '^NEXNET-HOST: ' $LOG | sed -n "${done}p" | sed 's/^NEXNET-HOST: //; s/\r$//')"
    done
    sleep 0.2
  done
}
monitor_requests &
WATCHER=$!
if [ -n "$NETNS" ]; then
  host_requests &
  HOSTWATCHER=$!
fi
wait $QPID
QRC=$?
QPID=""
T1=$(date +%s.%N)

tr -d '\r' < $LOG > $LOG.clean
if [ "$VERBOSE" = 1 ]; then cat $LOG.clean
else sed -n '/NEXNET-SETUP-FAILED/p;/NEXNET-BEGIN/,/NEXNET-RESULT/p' $LOG.clean | grep -v '^NEXNET-DMESG'; fi
printf 'run-guest: %s x%s, qemu rc=%s, %.1f s\n' "$NIC" "$NICS" "$QRC" "$(awk "BEGIN{print $T1 - $T0}")" >&2
if [ -n "$NETNS" ]; then
  stat() { ip netns exec "$NETNS" cat /sys/class/net/$MQ_TAP/statistics/$1 2>/dev/null; }
  echo "run-guest: host side $MQ_TAP: received $(stat rx_packets) frames from the guest, sent $(stat tx_packets)," \
       "dropped $(stat tx_dropped) toward it" >&2
fi
QSAID=$(grep -v 'is not connected to host network' $WORK/qemu.out | tail -60)
[ -n "$QSAID" ] && { echo "run-guest: QEMU said:" >&2; printf '%s\n' "$QSAID" >&2; }
RC=$(sed -n 's/^NEXNET-RESULT rc=\([0-9]*\).*/\1/p' $LOG.clean | tail -1)
if [ -z "$RC" ]; then
  echo "run-guest: no result (timeout or guest crash); last console lines:" >&2
  tail -25 $LOG.clean >&2; cat $WORK/qemu.out >&2
  exit 124
fi
# Faults before the program announced it would provoke one are bugs.
UNEXPECTED=$(sed '/NEXNET-EXPECT-DMAR-FAULT/,$d' $LOG.clean | grep 'DMAR: \[DMA' | grep -v '^NEXNET-DMESG')
if [ -z "$UNEXPECTED" ] && ! grep -q NEXNET-EXPECT-DMAR-FAULT $LOG.clean; then
  UNEXPECTED=$(grep '^NEXNET-DMESG: ' $LOG.clean)
fi
if [ -n "$UNEXPECTED" ]; then
  echo "run-guest: FAILED: IOMMU (DMAR) fault in the guest:" >&2
  printf '%s\n' "$UNEXPECTED" | head -5 >&2
  exit 120
fi
exit "$RC"
