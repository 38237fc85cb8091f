#!/usr/bin/env bash
# The soak run of issue 17, not in CI: SoakTest (tests/kernel/SoakTest.cpp) for SECONDS (default
# 300) in the ASan + UBSan build (build-asan, made when missing), with LeakSanitizer on: two taps
# forwarding under load while links flap, the pool runs dry and app-ring applications join and
# are killed. It passes when nothing leaked, every netbuf came back and the counters agree.
#
#   scripts/soak.sh [SECONDS]         as root (namespaces, taps); NEXNET_SOAK_SEED=N repeats a run
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-300}
case $seconds in ''|*[!0-9]*) echo "soak.sh: SECONDS must be a number of seconds" >&2; exit 2 ;; esac
build=$top/build-asan
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$top" -B "$build" -DNEXNET_SANITIZE=ON -DNEXNET_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target SoakTest nexnet-appring >/dev/null
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
NEXNET_SOAK_SECONDS=$seconds "$build/tests/SoakTest"
