#!/usr/bin/env bash
# Scaling inside a QEMU guest: nexnet-fwd with 1 and 2 threads forwarding between two multi-queue
# virtio-net NICs bound to vfio-pci (2 queue pairs each), in a guest with 1 and then 2 vCPUs, with
# the guest kernel's own IPv4 forwarding between the same NICs (virtio_net) as the peer in each boot.
# tests/vm/run-guest.sh --nics mq2 puts each NIC on a multi-queue tap in a namespace of the host;
# the host floods 60-byte UDP frames of 8 flows into the first NIC (the tap spreads the flows over
# the queues) and counts what comes out of the second (bench/vm/vm-scale-guest.sh, the guest side).
#
#   bench/vm/vm-scale.sh                 # guests with 1 and 2 vCPUs, 6 s per case, interrupt mode
#   MODE=poll bench/vm/vm-scale.sh       # nexnet-fwd in poll mode
#   SMP="2" SECONDS_PER_CASE=10 BUILD_DIR=build bench/vm/vm-scale.sh   # NO_BUILD=1: take nexnet-fwd as built
#
# Prints "name value unit" lines: per boot and case the median forwarded kframes/s (counted by the
# host on the second NIC's tap), what the host offered, then the ratios: 2 threads over 1 in the
# 2-vCPU guest, nexnet-fwd over the kernel in each guest, 2 vCPUs over 1.
#
# QEMU's TCG does most of the work here: every descriptor, DMA and IOMMU lookup goes through QEMU's
# device models, each vCPU is one host thread, and the host's flood shares the host's cores with
# them. The figures show whether a second thread on a second vCPU helps and how nexnet-fwd stands
# against the guest kernel on the same devices, not driver speed. Needs root and the VM test
# prerequisites (tests/vm/run-guest.sh); 3-6 minutes per boot on a loaded 2-core host.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build-release}
smps=${SMP:-1 2}
seconds=${SECONDS_PER_CASE:-6}
[ "$(id -u)" = 0 ] || { echo "vm-scale.sh: needs root (QEMU guest image from /boot, namespaces)" >&2; exit 1; }
ip=$(command -v ip) || { echo "vm-scale.sh: needs ip (iproute2)" >&2; exit 1; }

out=$(mktemp -d /tmp/nexnet-vm-scale.XXXXXX)
if [ -n "${KEEP:-}" ]; then echo "# logs in $out" >&2; else trap 'rm -rf "$out"' EXIT; fi

if [ -z "${BUILD_DIR:-}" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNEXNET_TESTS=OFF -DNEXNET_DOCS=OFF >/dev/null
fi
[ -n "${NO_BUILD:-}" ] || cmake --build "$build" -j2 --target nexnet-fwd >/dev/null

# Interrupt mode by default (the kernel's peer, NAPI, sleeps too); MODE=poll spins (see the guest side).
m=i
[ "${MODE:-interrupt}" = poll ] && m=t
for smp in $smps; do
  if [ "$smp" = 1 ]; then cases="nexnet-${m}1 nexnet-${m}1 kernel"; else cases="nexnet-${m}1 nexnet-${m}2 nexnet-${m}2 nexnet-${m}1 kernel"; fi
  echo "# guest with $smp vCPU(s): $cases (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  rc=0
  "$root/tests/vm/run-guest.sh" --nic virtio-net --nics mq2 --queues 2 --smp "$smp" --mem 1024 --timeout 600 \
    --file "$build/samples/forward/nexnet-fwd" --file "$ip" \
    "$root/bench/vm/vm-scale-guest.sh" 2 "$seconds" $cases >"$out/smp$smp.log" 2>&1 || rc=$?
  [ "$rc" = 0 ] || { echo "# $smp vCPU(s): the guest run failed (exit $rc); its last lines:" >&2; tail -20 "$out/smp$smp.log" >&2; }
  grep '^VM-SCALE' "$out/smp$smp.log" | sed 's/^/# /' >&2 || true
done
echo "# load average at the end $(cut -d' ' -f1-3 /proc/loadavg)" >&2

python3 - "$out" $smps <<'PY'
import os, re, statistics, sys
out, smps = sys.argv[1], sys.argv[2:]
rates = {}
for smp in smps:
    path = os.path.join(out, "smp%s.log" % smp)
    text = open(path, errors="replace").read() if os.path.exists(path) else ""
    runs = {}
    for tag, name, frames, span in re.findall(r"^NEXNET-HOST-FIGURE (\S+) (\S+) (\d+) (\S+)", text, re.M):
        runs.setdefault((tag, name), []).append(int(frames) / float(span) / 1000)
    for (tag, name), v in sorted(runs.items()):
        if name == "dropped": continue
        m = statistics.median(v)
        print(f"vcpus{smp}_{tag}_{name} {m:.1f} kframes/s  # median of {len(v)} [{min(v):.1f}-{max(v):.1f}]")
        if name == "forwarded": rates[(smp, tag)] = m
def ratio(name, a, b, note):
    if a in rates and b in rates and rates[b] > 0:
        print(f"{name} {rates[a] / rates[b]:.2f} x  # {note}")
m = "t" if os.environ.get("MODE") == "poll" else "i"
ratio("vcpus2_threads2_over_threads1", ("2", f"nexnet-{m}2"), ("2", f"nexnet-{m}1"), "nexnet-fwd, same 2-vCPU guest")
for smp in smps:
    best = ("2", f"nexnet-{m}2") if smp == "2" else (smp, f"nexnet-{m}1")
    ratio(f"vcpus{smp}_nexnet_over_kernel", best, (smp, "kernel"), "nexnet-fwd (one thread per vCPU) / the guest kernel's forwarding")
ratio("nexnet_vcpus2_over_vcpus1", ("2", f"nexnet-{m}2"), ("1", f"nexnet-{m}1"), "2 threads on 2 vCPUs / 1 on 1 (two boots)")
ratio("kernel_vcpus2_over_vcpus1", ("2", "kernel"), ("1", "kernel"), "two boots")
PY
