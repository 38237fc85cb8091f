#!/usr/bin/env bash
# Installs what is missing (scripts/install-deps.sh), then configures and builds nexnet into
# ./build (or $NEXNET_BUILD_DIR). Extra arguments are passed to cmake (-D options).
# Safe to run again: it installs only what is missing and rebuilds only what changed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${NEXNET_BUILD_DIR:-$top/build}

"$top/scripts/install-deps.sh"
cmake -S "$top" -B "$build" "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
echo "setup: nexnet built in $build"
