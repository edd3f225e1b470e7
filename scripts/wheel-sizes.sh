#!/usr/bin/env bash
# Builds the wheel once per feature set (as `make python` does) and writes their sizes into the
# README's table between the <!-- wheel-sizes --> markers: the numbers there come from this.
# Usage: scripts/wheel-sizes.sh VENV [FEATURES ...]   (a FEATURES of "default": no --features)
set -euo pipefail
venv=$1
shift
sets=("${@:-default}")
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d "${TMPDIR:-/tmp}/hexz-wheel-sizes.XXXXXX")
trap 'rm -rf "$out"' EXIT
rows=""
for set in "${sets[@]}"; do
    args=()
    [ "$set" = default ] || args=(--features "$set")
    rm -rf "$out/$set" && mkdir -p "$out/$set"
    (cd "$root/crates/loader" && PATH="$venv/bin:$PATH" "$venv/bin/maturin" build --profile wheel \
        --zig --compatibility manylinux2014 "${args[@]}" --out "$out/$set" >&2)
    wheel=$(ls "$out/$set"/*.whl)
    wheel_bytes=$(stat -c %s "$wheel")
    so_bytes=$(unzip -l "$wheel" | awk '/_native.*\.so$/ {print $1}')
    label=$([ "$set" = default ] && echo "default (s3, compression-zstd, cli)" || echo "$set")
    rows+=$(printf '| %s | %.2f MB | %.2f MB | `%s` |' "$label" \
        "$(echo "$wheel_bytes / 1000000" | bc -l)" "$(echo "$so_bytes / 1000000" | bc -l)" \
        "$(basename "$wheel")")$'\n'
done
table="| Features | Wheel | Native library | File |"$'\n'"|---|---:|---:|---|"$'\n'"$rows"
printf '%s' "$table"
TABLE="$table" python3 - "$root/README.md" <<'PY'
import os, re, sys
path = sys.argv[1]
text = open(path).read()
block = "<!-- wheel-sizes -->\n" + os.environ["TABLE"] + "<!-- /wheel-sizes -->"
new = re.sub(r"<!-- wheel-sizes -->.*?<!-- /wheel-sizes -->", lambda _: block, text, flags=re.S)
if new == text and block not in text:
    sys.exit("README.md has no <!-- wheel-sizes --> markers")
open(path, "w").write(new)
PY
