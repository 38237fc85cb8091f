#!/usr/bin/env bash
# nexnet-fwd against DPDK testpmd io-fwd, forwarding between the same two VFIO NICs of one QEMU
# guest (TCG, emulated Intel IOMMU; tests/vm/run-guest.sh --nics 4 --smp 2), for each NIC model:
# e1000e (nexnet's E1000eDriver / DPDK's e1000 PMD) and modern virtio-net (VirtioNetDriver / the
# virtio PMD), both over vfio-pci. NICs 3 and 4 send and count sequence-numbered frames through the
# forwarder with nexnet's own VFIO drivers (bench/vm/nexnet-vm-bench.cpp, the guest side).
#
#   bench/vm/vfio-fwd-bench.sh                 # both NIC models, 3 alternating rounds each
#   NICS=virtio-net ROUNDS=5 FRAMES=200000 bench/vm/vfio-fwd-bench.sh
#   bench/vm/vfio-fwd-bench.sh --report DIR     # also DIR/report.md: per NIC model, both forwarders plotted
#
# Prints "name value unit" lines: per NIC model and direction (a2b: NIC 3 -> A -> B -> NIC 4, b2a,
# both at once) the median forwarded kframes/s of nexnet-fwd and of testpmd, the ratio of the
# medians and of the best runs (the least disturbed by the host's other load), the frames
# lost; then the instructions per forwarded frame inside nexnet's receiveBurst and transmitBurst,
# counted by valgrind --tool=callgrind running nexnet-fwd in the same guest (skipped without valgrind).
#
# The emulator does the work here (every descriptor and DMA goes through QEMU's device models and
# its IOMMU under TCG): the rates show parity and no loss, not driver speed.
#
# FRAMES per run (100000), WINDOW frames in flight per flow (256), ROUNDS (3), CALLGRIND_FRAMES per
# direction (20000), BUILD_DIR (build-release), KEEP=1 keeps the guest logs, SKIP="nexnet testpmd"
# leaves those steps out (SKIP="nexnet testpmd": the instruction counts alone, about a minute per
# model). Needs root, QEMU, a kernel image (see tests/vm/run-guest.sh) and Debian's dpdk package; a
# few minutes per NIC model.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
report=
if [ "${1:-}" = --report ] && [ -n "${2:-}" ]; then report=$(mkdir -p "$2" && cd "$2" && pwd)
elif [ $# -gt 0 ]; then echo "usage: bench/vm/vfio-fwd-bench.sh [--report DIR]" >&2; exit 2; fi
build=${BUILD_DIR:-$root/build-release}
nics=${NICS:-e1000e virtio-net}
frames=${FRAMES:-100000}
window=${WINDOW:-256}
rounds=${ROUNDS:-3}
cgframes=${CALLGRIND_FRAMES:-20000}
skips=()
for step in ${SKIP:-}; do skips+=(--skip "$step"); done
[ "$(id -u)" = 0 ] || { echo "vfio-fwd-bench.sh: needs root (QEMU guest image from /boot)" >&2; exit 1; }
testpmd=$(command -v dpdk-testpmd || true)
[ -n "$testpmd" ] || { echo "vfio-fwd-bench.sh: dpdk-testpmd is missing (apt-get install dpdk)" >&2; exit 1; }
pmddir=$(ls -d /usr/lib/x86_64-linux-gnu/dpdk/pmds-* 2>/dev/null | sort -V | tail -1)
[ -n "$pmddir" ] || { echo "vfio-fwd-bench.sh: no DPDK PMD directory (apt-get install dpdk)" >&2; exit 1; }

out=$(mktemp -d /tmp/nexnet-vm-bench.XXXXXX)
if [ -n "${KEEP:-}" ]; then echo "# logs in $out" >&2; else trap 'rm -rf "$out"' EXIT; fi

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNEXNET_TESTS=OFF -DNEXNET_DOCS=OFF >/dev/null
cmake --build "$build" -j2 --target nexnet-fwd nexnet-vm-bench >/dev/null

# One name per library (librte_x.so.23, not also .so.23.0): the guest loads every /test/librte_*.
pmd() { ls -d "$pmddir/librte_$1.so."* | sort | head -1; }
valgrind_files=()
if [ -x /usr/bin/valgrind.bin ] || [ -x /usr/bin/valgrind ]; then
  vglib=${VALGRIND_LIB:-/usr/libexec/valgrind}
  if [ -x /usr/bin/valgrind.bin ]; then valgrind_files+=(--file /usr/bin/valgrind.bin); else valgrind_files+=(--file /usr/bin/valgrind); fi
  for f in /usr/bin/vgdb "$vglib/callgrind-amd64-linux" "$vglib/vgpreload_core-amd64-linux.so" "$vglib/default.supp"; do
    [ -e "$f" ] && valgrind_files+=(--file "$f")
  done
else
  echo "# valgrind missing: no instructions per frame (apt-get install valgrind)" >&2
fi

for nic in $nics; do
  case "$nic" in e1000e) lib=net_e1000 ;; virtio-net) lib=net_virtio ;; *) echo "unknown NIC $nic" >&2; exit 1 ;; esac
  echo "# $nic: booting the guest ($rounds rounds of $frames frames per run)" >&2
  rc=0
  "$root/tests/vm/run-guest.sh" --nic "$nic" --nics 4 --smp 2 --mem 1536 --timeout $((300 + rounds * 120)) \
    --file "$build/samples/forward/nexnet-fwd" --file "$testpmd" --file "$(pmd mempool_ring)" --file "$(pmd "$lib")" \
    "${valgrind_files[@]}" \
    "$build/bench/vm/nexnet-vm-bench" --frames "$frames" --window "$window" --rounds "$rounds" \
    --callgrind-frames "$cgframes" "${skips[@]}" >"$out/$nic.log" 2>&1 || rc=$?
  [ "$rc" = 0 ] || { echo "# $nic: the guest run failed (exit $rc); its last lines:" >&2; grep -v '^[0-9a-z+*-]' "$out/$nic.log" | tail -15 >&2; }
done

python3 - "$out" $nics <<'PY' | tee "$out/figures"
import os, re, statistics, sys
out, nics = sys.argv[1], sys.argv[2:]

def callgrind_parts(text):
    """{part: (summary Ir, {function: [calls, inclusive Ir]})} from the dumps the guest printed."""
    parts = {}
    for part, body in re.findall(r"^NEXNET-CALLGRIND-BEGIN (\w+)\n(.*?)^NEXNET-CALLGRIND-END", text, re.M | re.S):
        names, callee, calls, functions, summary = {}, None, None, {}, 0
        def name(ref):
            m = re.match(r"\((\d+)\)(?: (.*))?", ref)
            if not m: return ref
            if m.group(2): names[m.group(1)] = m.group(2)
            return names.get(m.group(1), ref)
        for line in body.splitlines():
            if line.startswith("summary:"): summary = int(line.split()[1])
            elif line.startswith("fn="): name(line[3:])
            elif line.startswith("cfn="): callee = name(line[4:])
            elif line.startswith("calls="): calls = int(line[6:].split()[0])
            elif calls is not None and line and (line[0].isdigit() or line[0] in "+-*"):
                entry = functions.setdefault(callee, [0, 0])
                entry[0] += calls; entry[1] += int(line.split()[-1]); calls = None
        parts[part] = (summary, functions)
    return parts

def lookup(functions, method):
    hits = [v for k, v in functions.items() if re.search(r"::%s\(" % method, k)]
    return [sum(v[0] for v in hits), sum(v[1] for v in hits)]

for nic in nics:
    path = os.path.join(out, nic + ".log")
    text = open(path, errors="replace").read() if os.path.exists(path) else ""
    figures = {}
    for name, value, unit in re.findall(r"^NEXNET-FIGURE (\S+) (\S+) (\S+)", text, re.M):
        figures.setdefault(name, []).append(float(value))
    print(f"== {nic} (QEMU TCG guest, 2 vCPUs; kframes/s = forwarded frames received per second)")
    if not figures:
        print(f"{nic}_failed 1 bool"); continue
    def med(name):
        v = figures.get(name)
        return statistics.median(v) if v else None
    for case in ("a2b", "b2a", "both"):
        nx, tp = med(f"nexnet_fwd_{case}_rate"), med(f"testpmd_{case}_rate")
        for side, m in (("nexnet_fwd", nx), ("testpmd", tp)):
            v = figures.get(f"{side}_{case}_rate", [])
            if m is None: print(f"{nic}_{side}_{case} nan kframes/s  # did not run"); continue
            print(f"{nic}_{side}_{case} {m:.1f} kframes/s  # median of {len(v)} [{min(v):.1f}-{max(v):.1f}]")
        if nx and tp: print(f"{nic}_ratio_nexnet_testpmd_{case} {nx / tp:.2f} x  # of the medians")
        bx, bt = figures.get(f"nexnet_fwd_{case}_rate"), figures.get(f"testpmd_{case}_rate")
        if bx and bt and min(bt) > 0:
            # The fastest run of each is the one the host's other load disturbed least.
            print(f"{nic}_ratio_best_nexnet_testpmd_{case} {max(bx) / max(bt):.2f} x  # of the best runs: {max(bx):.1f} / {max(bt):.1f}")
    for side in ("nexnet_fwd", "testpmd"):
        lost = sum(sum(figures.get(f"{side}_{c}_lost", [])) for c in ("a2b", "b2a", "both"))
        bad = sum(sum(figures.get(f"{side}_{c}_corrupted", [])) for c in ("a2b", "b2a", "both"))
        runs = sum(len(figures.get(f"{side}_{c}_rate", [])) for c in ("a2b", "b2a", "both"))
        if runs: print(f"{nic}_{side}_lost {lost:.0f} frames  # summed over {runs} runs; corrupted or reordered: {bad:.0f}")
    parts = callgrind_parts(text)
    forwarded = med("callgrind_forwarded")
    if not parts or not forwarded:
        print(f"{nic}_nexnet_instructions_per_frame nan Ir/frame  # callgrind did not run"); continue
    summary, functions = parts.get("measured") or parts.get("whole")
    rx_calls, rx_ir = lookup(functions, "receiveBurst")
    tx_calls, tx_ir = lookup(functions, "transmitBurst")
    label = "counters zeroed before and dumped after the run" if "measured" in parts else "WHOLE PROCESS (vgdb failed)"
    print(f"{nic}_nexnet_rxtx_instructions_per_frame {summary / forwarded:.1f} Ir/frame  "
          f"# receiveBurst+transmitBurst inclusive / {forwarded:.0f} frames forwarded both ways, empty polls included; {label}")
    print(f"{nic}_nexnet_tx_instructions_per_frame {tx_ir / forwarded:.1f} Ir/frame  # {tx_calls} transmitBurst calls")
    empty = None
    if "idle" in parts:
        idle_calls, idle_ir = lookup(parts["idle"][1], "receiveBurst")
        if idle_calls: empty = idle_ir / idle_calls
    if empty is not None:
        # Each non-empty receive burst was followed by one transmit burst: the rest were empty polls.
        empty_polls = max(rx_calls - tx_calls, 0)
        rx_busy = (rx_ir - empty_polls * empty) / forwarded
        print(f"{nic}_nexnet_rx_instructions_per_frame {rx_busy:.1f} Ir/frame  # {rx_calls} receiveBurst calls, "
              f"{empty_polls} of them empty at {empty:.1f} Ir each, taken out")
        print(f"{nic}_nexnet_busy_instructions_per_frame {rx_busy + tx_ir / forwarded:.1f} Ir/frame  # rx + tx without empty polls")
        print(f"{nic}_nexnet_empty_poll_instructions {empty:.1f} Ir")
    else:
        print(f"{nic}_nexnet_rx_instructions_per_frame {rx_ir / forwarded:.1f} Ir/frame  # {rx_calls} receiveBurst calls, empty polls included")
PY

if [ -n "$report" ]; then
  # NIC_SIDE_CASE value kframes/s -> NIC SIDE CASE value kframes/s (one bar group per direction).
  awk '$3 == "kframes/s" && $2 != "nan" && match($1, /_(nexnet_fwd|testpmd)_(a2b|b2a|both)$/) {
         nic = substr($1, 1, RSTART - 1); rest = substr($1, RSTART + 1); n = split(rest, p, "_");
         side = (p[1] == "testpmd") ? "dpdk-testpmd" : "nexnet-fwd"; print nic, side, p[n], $2, $3 }' \
      "$out/figures" >"$out/points"
  python3 "$root/bench/report.py" "$report" "$out/points" --title "nexnet-fwd vs testpmd between VFIO NICs in a QEMU guest" \
    --note "$(date -u +%Y-%m-%d), $rounds alternated rounds of $frames frames, window $window; QEMU TCG does most of the work: parity, not driver speed"
fi
