# shellcheck shell=bash
# Sourced by scripts/bench.sh --report: nexnet-fwd against dpdk-testpmd io-fwd (Debian's dpdk) on
# null drivers along three axes, writing "AXIS SIDE X VALUE UNIT" lines for bench/report.py, with
# progress on stderr. Both sides on the same page size: nexnet-fwd's pools take 2 MiB hugepages
# whenever the kernel has free ones (it has no switch to refuse them), so testpmd does too
# (--in-memory: no files left behind); only without free hugepages do both run on 4 KiB pages
# (EAL --no-huge). The notes in the report say which pages each side had.

sweep_progress() { # sweep_progress STEP TOTAL TEXT
  printf '[%3d/%d] %s\n' "$1" "$2" "$3" >&2
}

# testpmd_mpps SECONDS THREADS BURST SIZE: packets forwarded per second (both ports), Mpps.
# testpmd runs non-interactively and prints its port statistics every second (--stats-period):
# it times its own windows, so a slow start on a loaded machine cannot shrink them (commands piped
# into -i on a timer ran back to back once startup outlasted the timer). The first print has no
# rate, the second covers the start of forwarding; the mean of the next SECONDS is the figure.
# The mbuf cache holds the largest burst (--mbcache=512): with DPDK's default of 250, bursts of 256
# bypass the cache and every receive takes the pool's shared ring.
testpmd_mpps() {
  local seconds=$1 threads=$2 burst=$3 size=$4 cpus lcores c out pid i
  cpus=$(nproc)
  lcores="0@0"
  for c in $(seq 1 "$threads"); do lcores+=",$c@$((c % cpus))"; done
  out=$SWEEP_WORK/testpmd.out
  timeout -s INT $((seconds + 60)) stdbuf -oL dpdk-testpmd --lcores "$lcores" --no-pci "${SWEEP_EAL_MEM[@]}" --log-level=lib.eal:error \
    --vdev "net_null0,size=$size" --vdev "net_null1,size=$size" -- --forward-mode=io --auto-start --stats-period 1 \
    --nb-cores="$threads" --rxq="$threads" --txq="$threads" --burst="$burst" --total-num-mbufs=65536 --mbcache=512 \
    </dev/null >"$out" 2>&1 &
  pid=$!
  for ((i = 0; i < (seconds + 40) * 10; i++)); do
    [ "$(grep -c 'Rx-pps:' "$out")" -ge $((2 * (seconds + 2))) ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -INT "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
  awk -v n="$seconds" '/Rx-pps:/{k++; p = int((k - 1) / 2); if (p >= 2 && p < 2 + n) {s += $2; m++}}
    END{if (m == 2 * n) printf "%.2f\n", s / n / 1e6; else print "nan"}' "$out"
}

# nexnet_mpps BINARY SECONDS THREADS BURST SIZE: the same with nexnet-fwd null: null:, THREADS
# queue pairs when the null driver has queues (SWEEP_QUEUES=1), otherwise THREADS driver pairs.
nexnet_mpps() {
  local fwd=$1 seconds=$2 threads=$3 burst=$4 size=$5 uri
  uri="null:,size=$size"
  if [ "${SWEEP_QUEUES:-0}" = 1 ]; then uri+=",queues=$threads"; fi
  timeout $((seconds + 30)) "$fwd" "$uri" "$uri" --threads "$threads" --burst "$burst" --duration "$seconds" \
    2>/dev/null | awk '/total both/{v = $(NF-1)} END{print (v == "" ? "nan" : v)}'
}

# sweep_null_forwarding NEXNET-FWD POINTS-FILE
sweep_null_forwarding() {
  local fwd=$1 points=$2 seconds=${REPORT_SECONDS:-3} runs=${REPORT_RUNS:-1}
  local bursts=${BURSTS:-1 4 16 32 64 256} frames=${FRAMES:-64 256 1024 1500} threads=${THREADS:-1 2}
  local peer=1 step=0 total b f t probe pages
  SWEEP_WORK=$(dirname "$points")
  command -v dpdk-testpmd >/dev/null || { peer=0; echo "# dpdk-testpmd missing (apt-get install dpdk): nexnet only" >>"$points"; }
  # One second of nexnet-fwd first: does null: take queues=N, and which pages did the pools get?
  probe=$("$fwd" null:,queues=1 null:,queues=1 --duration 1 2>&1 || true)
  SWEEP_QUEUES=1
  if grep -q 'unknown option queues' <<<"$probe"; then
    SWEEP_QUEUES=0
    probe=$("$fwd" null: null: --duration 1 2>&1 || true)
  fi
  pages=$(awk '/KiB pages/{print $(NF-2); exit}' <<<"$probe")
  echo "# nexnet-fwd: pools on ${pages:-?} KiB pages; --threads N forwards N $([ "$SWEEP_QUEUES" = 1 ] && echo "queue pairs of one null: pair" || echo "null: pairs")" >>"$points"
  if [ -z "${FORCE_NOHUGE:-}" ] && [ "$(awk '/HugePages_Free/{print $2}' /proc/meminfo)" -ge 128 ]; then
    SWEEP_EAL_MEM=(--in-memory)
    echo "# dpdk-testpmd: 2 MiB hugepages (--in-memory), 65536 mbufs, mbuf cache 512, statistics every second" >>"$points"
  else
    SWEEP_EAL_MEM=(--no-huge -m 1024 --no-shconf)
    echo "# dpdk-testpmd: 4 KiB pages (--no-huge), 65536 mbufs, mbuf cache 512, statistics every second" >>"$points"
  fi
  total=$(( ( $(wc -w <<<"$bursts") + $(wc -w <<<"$frames") + $(wc -w <<<"$threads") ) * runs * (1 + peer) ))
  point() { # point AXIS X THREADS BURST SIZE
    local axis=$1 x=$2 th=$3 bu=$4 sz=$5
    step=$((step + 1)); sweep_progress "$step" "$total" "$axis $x: nexnet-fwd"
    echo "$axis nexnet $x $(nexnet_mpps "$fwd" "$seconds" "$th" "$bu" "$sz") Mpps" >>"$points"
    if [ "$peer" = 1 ]; then
      step=$((step + 1)); sweep_progress "$step" "$total" "$axis $x: dpdk-testpmd"
      echo "$axis dpdk-testpmd $x $(testpmd_mpps "$seconds" "$th" "$bu" "$sz") Mpps" >>"$points"
    fi
  }
  for _ in $(seq "$runs"); do
    for b in $bursts; do point burst "$b" 1 "$b" 64; done
    for f in $frames; do point frame "$f" 1 32 "$f"; done
    for t in $threads; do point threads "$t" "$t" 32 64; done
  done
}
