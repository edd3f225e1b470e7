#!/usr/bin/env bash
# Install the given Debian packages, but only those that are missing.
# `apt-get update` runs only when something actually has to be installed, so a
# second run costs one `dpkg -s` call. Usage: scripts/ensure-apt.sh PKG...
set -euo pipefail

[ "$#" -gt 0 ] || exit 0

if ! command -v dpkg >/dev/null 2>&1; then
    echo "ensure-apt: no dpkg here (not Debian/Ubuntu); install by hand if needed: $*" >&2
    exit 0
fi

# Fast path: everything already installed.
if dpkg -s "$@" >/dev/null 2>&1; then
    exit 0
fi

missing=()
for pkg in "$@"; do
    # No `| grep -q` under pipefail: grep exits at the first match and dpkg may die of SIGPIPE.
    if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]; then
        missing+=("$pkg")
    fi
done
[ "${#missing[@]}" -gt 0 ] || exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo=(sudo -n)
    else
        echo "ensure-apt: missing packages ${missing[*]} and no root/sudo; install them by hand" >&2
        exit 1
    fi
fi

echo "ensure-apt: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq </dev/null
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
