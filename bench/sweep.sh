# Sourced by scripts/bench.sh --report: nexnet-fwd against dpdk-testpmd io-fwd (Debian's dpdk) on
# null drivers along three axes, writing "AXIS SIDE X VALUE UNIT" lines for bench/report.py, with
# progress on stderr. Both sides on the same page size: hugepages only when the kernel has free
# ones for both (neither side reserves any here), otherwise 4 KiB pages (EAL --no-huge).

sweep_progress() { # sweep_progress STEP TOTAL TEXT
  printf '[%3d/%d] %s\n' "$1" "$2" "$3" >&2
}

# testpmd_mpps SECONDS THREADS BURST SIZE: packets forwarded per second (both ports), Mpps.
testpmd_mpps() {
  local seconds=$1 threads=$2 burst=$3 size=$4 cpus lcores c
  cpus=$(nproc)
  lcores="0@0"
  for c in $(seq 1 "$threads"); do lcores+=",$c@$((c % cpus))"; done
  ( sleep 2; echo start; sleep 2; echo "show port stats all"; sleep "$seconds"; echo "show port stats all"; echo stop
    sleep 1; echo quit ) |
    timeout $((seconds + 40)) dpdk-testpmd --lcores "$lcores" --no-pci "${SWEEP_EAL_MEM[@]}" --log-level=lib.eal:error \
      --vdev "net_null0,size=$size" --vdev "net_null1,size=$size" -- -i --forward-mode=io --nb-cores="$threads" \
      --rxq="$threads" --txq="$threads" --burst="$burst" "${SWEEP_PMD_MEM[@]}" 2>&1 |
    awk '/Rx-pps:/{n++; if (n > 2) s += $2} END{if (n > 2) printf "%.2f\n", s / 1e6; else print "nan"}'
}

# nexnet_mpps BINARY SECONDS THREADS BURST SIZE: the same with nexnet-fwd null: null:, a queue pair per thread.
nexnet_mpps() {
  local fwd=$1 seconds=$2 threads=$3 burst=$4 size=$5
  timeout $((seconds + 30)) "$fwd" "null:,size=$size,queues=$threads" "null:,size=$size,queues=$threads" --duration "$seconds" --burst "$burst" \
    --threads "$threads" 2>/dev/null | awk '/total both/{v = $(NF-1)} END{print (v == "" ? "nan" : v)}'
}

# sweep_null_forwarding NEXNET-FWD POINTS-FILE
sweep_null_forwarding() {
  local fwd=$1 points=$2 seconds=${REPORT_SECONDS:-3} runs=${REPORT_RUNS:-1}
  local bursts=${BURSTS:-1 4 16 32 64 256} frames=${FRAMES:-64 256 1024 1500} threads=${THREADS:-1 2}
  local peer=1 step=0 total run b f t
  command -v dpdk-testpmd >/dev/null || { peer=0; echo "# dpdk-testpmd missing (apt-get install dpdk): nexnet only" >>"$points"; }
  SWEEP_EAL_MEM=(--no-huge -m 1024); SWEEP_PMD_MEM=(--total-num-mbufs=65536)
  if [ -z "${FORCE_NOHUGE:-}" ] && [ "$(awk '/HugePages_Free/{print $2}' /proc/meminfo)" -ge 512 ]; then
    SWEEP_EAL_MEM=(); SWEEP_PMD_MEM=()
    echo "# both sides on 2 MiB hugepages" >>"$points"
  else
    echo "# both sides on 4 KiB pages (no free hugepages: nexnet's pools fall back, DPDK runs with --no-huge)" >>"$points"
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
  for run in $(seq "$runs"); do
    for b in $bursts; do point burst "$b" 1 "$b" 64; done
    for f in $frames; do point frame "$f" 1 32 "$f"; done
    for t in $threads; do point threads "$t" "$t" 32 64; done
  done
}
