#!/usr/bin/env bash
# Installs what is missing, builds nexnet twice and runs the whole test suite in both builds:
#   build-werror : -Wall -Wextra -Werror
#   build-asan   : AddressSanitizer + UndefinedBehaviorSanitizer
# then a third, short build that runs only the multi-threaded tests (*ThreadsTest, no fuzz corpora:
# the two builds above run those):
#   build-tsan   : ThreadSanitizer
# then builds the fuzz targets alone with clang, libFuzzer, ASan and UBSan (build-fuzz) and runs
# each on its corpus and for FUZZ_SECONDS (default 5; 0: the corpora alone) of fuzzing
# (scripts/fuzz.sh --short), and builds the Doxygen reference (warnings are errors) and checks
# that an out-of-tree program
# links against the installed library.
#
# Tests that need root, /dev/net/tun, network namespaces or a QEMU guest run as root (the script
# re-runs itself through sudo). Under CI=true a skipped test is a failure.
#
#   scripts/test.sh [ctest -R regex]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "test.sh: run as root (kernel-peer tests need it)" >&2; exit 1; }
  exec sudo -E "$0" "$@"
fi
filter=(); [ $# -gt 0 ] && filter=(-R "$1")

"$top/scripts/install-deps.sh"

jobs=$(nproc)
status=0
summary=()
run_build() { # run_build NAME cmake-options...
  local name=$1; shift
  local dir=$top/build-$name log
  echo "== $name: configure and build"
  cmake -S "$top" -B "$dir" "$@" >/dev/null
  if ! cmake --build "$dir" -j"$jobs" >"$dir/build.log" 2>&1; then
    grep -E 'error|Error' "$dir/build.log" | head -40
    echo "== $name: BUILD FAILED (full log: $dir/build.log)"; status=1; summary+=("$name: build failed"); return
  fi
  grep -E 'warning' "$dir/build.log" | head -20 || true
  echo "== $name: tests"
  log=$dir/ctest.log
  if ! (cd "$dir" && ctest --output-on-failure --timeout 900 -j"$jobs" "${filter[@]}" 2>&1 | tee "$log"); then status=1; fi
  grep -q "tests passed" "$log" || status=1
  if [ "${CI:-}" = true ] && grep -q "(Skipped)" "$log"; then
    echo "== $name: tests were skipped under CI=true:"; grep "(Skipped)" "$log"; status=1
  fi
  summary+=("$name: $(grep -E "tests passed" "$log" | tail -1 || true)")
}

run_build werror -DNEXNET_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
run_build asan -DNEXNET_SANITIZE=ON -DNEXNET_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug
# The library and the *ThreadsTest tests only: races between queue threads and control calls.
run_build tsan -DNEXNET_TSAN=ON -DNEXNET_BENCH=OFF -DNEXNET_SAMPLES=OFF -DNEXNET_DOCS=OFF -DCMAKE_BUILD_TYPE=Debug

# The fuzz targets: with a filter, only when it asks for them ("Fuzz").
if [ ${#filter[@]} -eq 0 ] || [[ "${filter[1]}" == *[Ff]uzz* ]]; then
  seconds=${FUZZ_SECONDS:-5}
  echo "== fuzz: every target of fuzz/ with clang, libFuzzer, ASan, UBSan: its corpus, then $seconds s of fuzzing"
  mkdir -p "$top/build-fuzz"
  if "$top/scripts/fuzz.sh" --short "$seconds" 2>&1 | tee "$top/build-fuzz/fuzz.log"; then
    summary+=("fuzz: $(grep -c '^[A-Z][A-Za-z0-9]*Fuzz ' "$top/build-fuzz/fuzz.log") targets, corpus and ${seconds} s each, no findings")
  else
    status=1; summary+=("fuzz: FINDINGS or failure (build-fuzz/fuzz.log, build-fuzz/fuzz-findings/)")
  fi
fi

echo "== format: every C and C++ file in the layout of .clang-format"
if "$top/scripts/format.sh" --check; then
  summary+=("format: every file in the layout")
else
  status=1; summary+=("format: files out of the layout (run scripts/format.sh)")
fi

echo "== docs: Doxygen reference (warnings are errors)"
if cmake --build "$top/build-werror" --target docs >"$top/build-werror/docs.log" 2>&1; then
  summary+=("docs: built, no warnings")
else
  tail -30 "$top/build-werror/docs.log"; status=1; summary+=("docs: FAILED")
fi

echo
echo "== summary"
printf '  %s\n' "${summary[@]}"
exit $status
