#!/usr/bin/env bash
# Keeps nexnet's C and C++ sources in the layout of .clang-format (Debian 12's clang-format 14).
#   scripts/format.sh           reformat every tracked source file in place
#   scripts/format.sh --check   list the files that are not in the layout; exit 1 if any
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
formatter=$(command -v clang-format-14 || command -v clang-format || true)
[ -n "$formatter" ] || { echo "format.sh: clang-format is not installed (apt-get install clang-format)" >&2; exit 2; }
# The tracked files; outside a git checkout (or where git is missing) every source file but the
# build folders'. safe.directory: scripts/test.sh runs this as root in a user's checkout.
if git -c safe.directory="$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git -c safe.directory="$top" ls-files '*.cpp' '*.h' '*.c')
else
  mapfile -t files < <(find . \( -name 'build*' -o -name .git \) -prune -o \( -name '*.cpp' -o -name '*.h' -o -name '*.c' \) -type f -print | sed 's|^\./||' | sort)
fi
if [ "${1:-}" != --check ]; then
  "$formatter" -i "${files[@]}"
  exit 0
fi
unformatted=()
for file in "${files[@]}"; do
  "$formatter" "$file" | cmp -s - "$file" || unformatted+=("$file")
done
if [ ${#unformatted[@]} -gt 0 ]; then
  echo "format.sh: ${#unformatted[@]} file(s) not in the layout of .clang-format (run scripts/format.sh):"
  printf '  %s\n' "${unformatted[@]}"
  exit 1
fi
echo "format.sh: ${#files[@]} files in the layout of .clang-format"
