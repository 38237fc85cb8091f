#!/usr/bin/env bash
# Builds nexnet in Release and runs its foundation benchmarks and, in the same run, DPDK's
# counterparts (../shared/bench/dpdk-anchors.sh, Debian's dpdk 22.11), alternating the two sides,
# RUNS times each (default 3). Prints median [min-max] side by side with the ratio of medians.
#
#   scripts/bench.sh              # hugepages when the kernel grants them, on both sides
#   FORCE_NOHUGE=1 scripts/bench.sh   # 4 KiB pages on both sides
#   RUNS=5 SECONDS_NULL=5 scripts/bench.sh
#   nice -n -10 scripts/bench.sh      # on a loaded machine: both sides inherit the priority
#   scripts/bench.sh --report DIR     # sweeps instead: DIR/report.md with plots (below)
#
# Figures (not assertions): pool allocateBulk/freeBulk 32 with the thread cache vs
# rte_pktmbuf_alloc_bulk/free_bulk 32; raw getBulk/freeBulk 32 vs rte_mempool_get/put_bulk 32;
# null io-fwd on one core (packets received per second on both ports) vs testpmd io-fwd on two
# net_null ports; nexnet-fwd null: null: (the sample) for reference.
#
# --report DIR: nexnet-fwd null: null: against dpdk-testpmd io-fwd on two net_null ports (Debian's
# dpdk), alternated, REPORT_RUNS times each (default 1) for REPORT_SECONDS (default 3), along three
# axes: burst size (BURSTS), frame size (FRAMES) and forwarding threads (THREADS); then
# bench/report.py writes DIR/report.md with one plot per axis (gnuplot), both on the same axes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
report=
if [ "${1:-}" = --report ]; then
  [ -n "${2:-}" ] || { echo "usage: scripts/bench.sh [--report DIR]" >&2; exit 2; }
  report=$(mkdir -p "$2" && cd "$2" && pwd)
elif [ $# -gt 0 ]; then
  echo "usage: scripts/bench.sh [--report DIR]" >&2; exit 2
fi
build=${BUILD_DIR:-$root/build-release}
runs=${RUNS:-3}
seconds=${SECONDS_NULL:-5}
anchors=${DPDK_ANCHORS:-$root/../shared/bench/dpdk-anchors.sh}
out=$(mktemp -d /tmp/nexnet-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNEXNET_TESTS=OFF -DNEXNET_DOCS=OFF >/dev/null
cmake --build "$build" -j2 --target nexnet-bench nexnet-fwd >/dev/null

if [ -n "$report" ]; then
  # shellcheck source=../bench/sweep.sh
  source "$root/bench/sweep.sh"
  load_start=$(cut -d' ' -f1-3 /proc/loadavg)
  sweep_null_forwarding "$build/samples/forward/nexnet-fwd" "$out/points"
  python3 "$root/bench/report.py" "$report" "$out/points" --title "nexnet-fwd vs dpdk-testpmd io-fwd, null drivers" \
    --note "$(date -u +%Y-%m-%d), $(nproc) CPUs, niceness $(nice), load average $load_start at the start and $(cut -d' ' -f1-3 /proc/loadavg) at the end, ${REPORT_RUNS:-1} run(s) of ${REPORT_SECONDS:-3} s per point"
  exit 0
fi

nohuge=()
if [ -n "${FORCE_NOHUGE:-}" ]; then nohuge=(--nohuge); fi
peer=1
if [ ! -x "$anchors" ] && [ ! -f "$anchors" ]; then peer=0; fi
if [ "$peer" = 1 ] && [ "$(id -u)" != 0 ]; then echo "# DPDK peer needs root (hugepages): skipped"; peer=0; fi

for i in $(seq "$runs"); do
  echo "# run $i/$runs" >&2
  "$build/bench/micro/nexnet-bench" all --seconds "$seconds" "${nohuge[@]}" >>"$out/nexnet" || echo "# nexnet-bench failed" >&2
  if [ ${#nohuge[@]} -eq 0 ]; then
    timeout $((seconds + 20)) "$build/samples/forward/nexnet-fwd" null: null: --duration "$seconds" |
      awk '/KiB pages/{print "nexnet_fwd_page_size", $(NF-2), "KiB"} /total both/{print "nexnet_fwd_null_null", $(NF-1), "Mpps"}' >>"$out/nexnet"
  fi
  if [ "$peer" = 1 ]; then
    FORCE_NOHUGE=${FORCE_NOHUGE:-} bash "$anchors" micro >>"$out/dpdk" 2>&1 || echo "# dpdk micro failed" >&2
    FORCE_NOHUGE=${FORCE_NOHUGE:-} bash "$anchors" null >>"$out/dpdk" 2>&1 || echo "# dpdk null failed" >&2
  fi
done
[ -f "$out/dpdk" ] || : >"$out/dpdk"

python3 - "$out/nexnet" "$out/dpdk" "$peer" <<'PY'
import statistics, sys
def load(path):
    values, notes = {}, []
    for line in open(path):
        if line.startswith("#"): notes.append(line.strip()); continue
        parts = line.split()
        if len(parts) >= 3:
            try: values.setdefault(parts[0], []).append((float(parts[1]), parts[2]))
            except ValueError: pass
    return values, notes
nx, _ = load(sys.argv[1]); dp, notes = load(sys.argv[2]); peer = sys.argv[3] == "1"
def page(values, key):
    sizes = sorted({v for v, _ in values.get(key, [])})
    return "/".join(("2 MiB hugepages" if s >= 2048 else "4 KiB pages") for s in sizes) or "?"
print(f"nexnet page size: pool {page(nx, 'nexnet_pool_page_size')}, null {page(nx, 'nexnet_null_page_size')}, nexnet-fwd {page(nx, 'nexnet_fwd_page_size')}")
if peer:
    print("DPDK page size: " + ("4 KiB pages (EAL --no-huge)" if any("no hugepages" in n for n in notes) else "2 MiB hugepages"))
else:
    print("DPDK peer not available")
def cell(values, key):
    v = values.get(key)
    if not v: return None, "-"
    xs = [x for x, _ in v]
    med = statistics.median(xs)
    return med, f"{med:9.2f} [{min(xs):.2f}-{max(xs):.2f}]"
rows = [("pool alloc+free bulk32 (cache 256)", "nexnet_pool_alloc_free_bulk32", "dpdk_pool_alloc_free_bulk32", "Mbuf/s"),
        ("raw get+put bulk32", "nexnet_pool_get_put_bulk32", "dpdk_mempool_get_put_bulk32", "Mobj/s"),
        ("null io-fwd burst32, 1 core", "nexnet_null_iofwd", "dpdk_testpmd_null_iofwd", "Mpps"),
        ("nexnet-fwd null: null: (sample)", "nexnet_fwd_null_null", "dpdk_testpmd_null_iofwd", "Mpps")]
print(f"{'benchmark':36} {'unit':7} {'nexnet median [min-max]':28} {'DPDK median [min-max]':28} ratio")
for label, nk, dk, unit in rows:
    nm, ns = cell(nx, nk)
    dm, ds = cell(dp, dk) if peer else (None, "n/a")
    ratio = f"{nm / dm:.2f}x" if nm and dm else "-"
    if nm is None and ns == "-": continue
    print(f"{label:36} {unit:7} {ns:28} {ds:28} {ratio}")
PY
