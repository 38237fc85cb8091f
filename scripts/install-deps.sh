#!/usr/bin/env bash
# Installs the Debian 12 packages listed in scripts/debian-packages.txt that are not installed yet.
# Runs apt-get as root (through sudo when not root); does nothing when all are there.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in $(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$top/scripts/debian-packages.txt" | awk '{print $1}'); do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}"
# tshark asks whether non-root users may capture; answer for it.
echo "wireshark-common wireshark-common/install-setuid boolean false" | as_root debconf-set-selections 2>/dev/null || true
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
