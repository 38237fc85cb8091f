#!/usr/bin/env bash
# Fuzzes nexnet: builds the targets of fuzz/ with clang, libFuzzer, AddressSanitizer and
# UndefinedBehaviorSanitizer (build-fuzz/), runs each on its committed corpus, then fuzzes each for
# SECONDS, and prints per target the executions, the coverage (edges and features libFuzzer
# counted) and the findings (crashes, leaks, timeouts, out-of-memory: files in
# build-fuzz/fuzz-findings/). Exit status 1 when anything was found.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   a campaign (default 300 s per target, every target);
#                                           refreshes the table in docs/reliability.md
#   scripts/fuzz.sh --short SECONDS         what CI runs (scripts/test.sh): corpus, then SECONDS
#                                           each (0: the corpus alone), nothing written outside
#                                           build-fuzz/
#   scripts/fuzz.sh --keep ...              also merges the inputs that found new coverage into
#                                           fuzz/corpus/TARGET (commit the useful ones)
#
# A finding is reproduced with `build-fuzz/fuzz/TARGET FILE`; make it a test by adding the file to
# fuzz/corpus/TARGET (every corpus runs as a ctest test in the GCC builds) once it is fixed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD:-$top/build-fuzz}
short=false
keep=false
seconds=300
while [ $# -gt 0 ]; do
  case $1 in
    --short) short=true; seconds=${2:?--short needs SECONDS}; shift 2 ;;
    --keep) keep=true; shift ;;
    [0-9]*) seconds=$1; shift ;;
    *) break ;;
  esac
done
case $seconds in ''|*[!0-9]*) echo "fuzz.sh: SECONDS must be a number of seconds" >&2; exit 2 ;; esac

all=$(sed -n 's/^ *nexnet_add_fuzz_target(\([A-Za-z0-9_]*\).*/\1/p' "$top/fuzz/CMakeLists.txt")
targets=${*:-$all}
for target in $targets; do
  grep -qx "$target" <<<"$all" || { echo "fuzz.sh: no fuzz target $target (known: $(echo $all))" >&2; exit 2; }
done
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ is missing (apt-get install clang)" >&2; exit 1; }

echo "== fuzz: building $(echo $targets | wc -w) targets with clang, libFuzzer, ASan, UBSan in $build"
mkdir -p "$build"
cmake -S "$top" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DNEXNET_FUZZ=ON \
      -DNEXNET_SANITIZE=ON -DNEXNET_TESTS=OFF -DNEXNET_BENCH=OFF -DNEXNET_DOCS=OFF \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/fuzz-cmake.log" 2>&1 || { tail -20 "$build/fuzz-cmake.log"; exit 1; }
# shellcheck disable=SC2086
if ! cmake --build "$build" -j"$(nproc)" --target $targets >"$build/fuzz-build.log" 2>&1; then
  grep -E 'error' "$build/fuzz-build.log" | head -20; echo "== fuzz: BUILD FAILED ($build/fuzz-build.log)"; exit 1
fi

findings_dir=$build/fuzz-findings
mkdir -p "$findings_dir"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
rows=()
printf '%-22s %10s %8s %8s %8s %7s %s\n' target executions exec/s edges features corpus findings
for target in $targets; do
  binary=$build/fuzz/$target
  corpus=$top/fuzz/corpus/$target
  work=$build/fuzz-work/$target
  log=$build/fuzz-work/$target.log
  rm -rf "$work" && mkdir -p "$work"
  rm -f "$findings_dir/$target"-*
  # The committed corpus first, alone: a regression shows there, named.
  if ! "$binary" -runs=0 -rss_limit_mb=2048 "$corpus" >"$log.corpus" 2>&1; then
    echo "== fuzz: $target fails on its committed corpus:"; tail -30 "$log.corpus"; status=1
  fi
  # Then the campaign: new inputs go to the work folder, the committed corpus is only read.
  # (libFuzzer reads -max_total_time=0 as "no limit": 0 seconds means the corpus alone.)
  if [ "$seconds" -gt 0 ]; then
    "$binary" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
              -artifact_prefix="$findings_dir/$target-" "$work" "$corpus" >"$log" 2>&1 || true
  else
    cp "$log.corpus" "$log"
  fi
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  edges=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  features=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  entries=$(find "$work" "$corpus" -type f | wc -l)
  found=$(find "$findings_dir" -name "$target-*" -type f | wc -l)
  [ "$found" -eq 0 ] || { status=1; echo "== fuzz: $target FOUND:"; grep -E 'ERROR|SUMMARY|broken promise|runtime error' "$log" | head -10; ls "$findings_dir/$target"-*; }
  printf '%-22s %10s %8s %8s %8s %7s %s\n' "$target" "${executions:-?}" "${rate:-?}" "${edges:-?}" "${features:-?}" "$entries" "$found"
  rows+=("| $target | $seconds | ${executions:-?} | ${rate:-?} | ${edges:-?} | ${features:-?} | $entries | $found |")
  if $keep; then "$binary" -merge=1 -rss_limit_mb=2048 "$corpus" "$work" >>"$log" 2>&1 || true; fi
done

if ! $short; then
  # The table between the markers of docs/reliability.md, with the date and the machine it ran on.
  doc=$top/docs/reliability.md
  table=$(mktemp)
  {
    echo "Last campaign: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, clang $(clang++ --version | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -1), ASan + UBSan, \`scripts/fuzz.sh $seconds\`."
    echo
    echo "| target | seconds | executions | exec/s | edges | features | corpus | findings |"
    echo "|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
  } >"$table"
  if grep -q '<!-- fuzz-table:begin -->' "$doc" 2>/dev/null; then
    awk -v table="$table" '
      /<!-- fuzz-table:begin -->/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
      /<!-- fuzz-table:end -->/ { skip = 0 }
      !skip { print }' "$doc" >"$doc.new" && mv "$doc.new" "$doc"
    echo "== fuzz: docs/reliability.md updated"
  fi
  rm -f "$table"
fi
[ $status -eq 0 ] && echo "== fuzz: no findings" || echo "== fuzz: FINDINGS in $findings_dir"
exit $status
