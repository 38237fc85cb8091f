#!/bin/sh
# The guest side of bench/vm/vm-scale.sh, run by tests/vm/run-guest.sh --nics mq2 with nexnet-fwd and
# ip in /test: two multi-queue virtio-net NICs, A (NEXNET_BDF, on the host's tap nxmq0) and B (on
# nxmq1), both bound to vfio-pci. For each case it asks the host for a flood of UDP frames into A
# ("NEXNET-HOST: flood SECONDS TAG"; the host counts what comes out of B) while the case forwards:
#
#   nexnet-iT  nexnet-fwd vfio:A,queues=Q vfio:B,queues=Q --threads T --interrupt (workers sleep on
#              the queues' MSI-X eventfds when idle, as the kernel's NAPI does)
#   nexnet-tT  the same in poll mode (each worker spins: under TCG a spinning vCPU is a host thread
#              at 100 %, which takes the host CPU QEMU needs to move the frames)
#   kernel     the guest's own IPv4 forwarding between A and B on virtio_net (rebinds both NICs)
#
#   vm-scale-guest.sh QUEUES SECONDS CASE...     e.g. 2 6 nexnet-i1 nexnet-i2 nexnet-t1 kernel
# The kernel case rebinds the NICs, so it comes last. Exit 0 when every case ran.
B=/bin/busybox
IP=/test/ip
queues=$1 seconds=$2
shift 2
fail() { echo "VM-SCALE FAILED: $*"; exit 1; }
[ -n "${NEXNET_BDF:-}" ] || fail "no NEXNET_BDF"
set -- "$@" END
a=$NEXNET_BDF
b=$(echo "$NEXNET_BDFS" | $B awk '{print $2}')
[ -n "$b" ] || fail "one NIC only: $NEXNET_BDFS"
echo "VM-SCALE cpus $($B grep -c ^processor /proc/cpuinfo) queues $queues seconds $seconds"
# The forwarder runs well past the flood: the host starts it when it sees the request (polled).
run=$((seconds + 8))

while [ "$1" != END ]; do
  case="$1"
  shift
  case "$case" in
    nexnet-[it]*)
      threads=${case#nexnet-?}
      mode=
      case "$case" in nexnet-i*) mode=--interrupt ;; esac
      /test/nexnet-fwd "vfio:$a,queues=$queues" "vfio:$b,queues=$queues" --threads "$threads" $mode \
        --duration "$run" --stats > /tmp/fwd.log 2>&1 &
      fwd=$!
      waited=0
      until $B grep -q " A=" /tmp/fwd.log; do
        $B sleep 1
        waited=$((waited + 1))
        [ $waited -lt 60 ] || { cat /tmp/fwd.log; fail "$case: nexnet-fwd did not start"; }
      done
      echo "NEXNET-HOST: flood $seconds $case"
      wait $fwd || { cat /tmp/fwd.log; fail "$case: nexnet-fwd failed"; }
      $B grep -E "total|thread|A=|B=|polling" /tmp/fwd.log | $B sed "s/^/VM-SCALE $case /"
      ;;
    kernel)
      for bdf in $a $b; do
        echo > /sys/bus/pci/devices/$bdf/driver_override
        echo $bdf > /sys/bus/pci/drivers/vfio-pci/unbind
        echo $bdf > /sys/bus/pci/drivers_probe
      done
      $B sleep 1
      na=$(ls /sys/bus/pci/devices/$a/virtio*/net/ 2>/dev/null)
      nb=$(ls /sys/bus/pci/devices/$b/virtio*/net/ 2>/dev/null)
      [ -n "$na" ] && [ -n "$nb" ] || fail "kernel: virtio_net did not take the NICs back"
      $IP link set lo up
      $IP link set "$na" up && $IP link set "$nb" up || fail "kernel: links"
      $IP addr add 10.77.0.2/24 dev "$na"
      $IP addr add 10.77.2.2/24 dev "$nb"
      # The next hop's address does not matter: the host counts what nxmq1 receives and drops it.
      $IP neigh replace 10.77.2.9 lladdr 02:00:00:00:00:09 dev "$nb" nud permanent
      $IP route add 10.77.1.0/24 via 10.77.2.9 dev "$nb" || fail "kernel: route"
      echo 1 > /proc/sys/net/ipv4/ip_forward
      echo "VM-SCALE kernel $na: $(ls /sys/class/net/$na/queues | $B tr '\n' ' ')"
      echo "NEXNET-HOST: flood $seconds kernel"
      $B sleep "$run"
      echo "VM-SCALE kernel forwarded $(cat /sys/class/net/$nb/statistics/tx_packets) frames in all"
      ;;
    *) fail "unknown case $case" ;;
  esac
done
echo "VM-SCALE done"
