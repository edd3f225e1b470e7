#!/usr/bin/env bash
# Build the Python package into the venv (`make develop`, i.e. maturin develop --release) only
# when needed: when `import hexz` in the venv does not load this checkout's package, or when a
# Rust source, a manifest or the native module changed since the last build through here.
# Usage: scripts/ensure-develop.sh VENV STAMP   (run from anywhere; MAKE may name make)
set -euo pipefail

venv=$1 stamp=$2
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

key() {
    {
        echo "$root ${PY_FEATURES:-}"
        find crates Cargo.toml Cargo.lock -type d \( -name target -o -name __pycache__ \) -prune -o \
            -type f \( -name '*.rs' -o -name Cargo.toml -o -name Cargo.lock -o -name pyproject.toml \
            -o -name '_native*.so' \) -print | LC_ALL=C sort | xargs sha256sum
    } | sha256sum | cut -d' ' -f1
}

loads_here() {
    local where
    where=$("$venv/bin/python" -c 'import hexz._native, os; print(os.path.dirname(os.path.realpath(hexz.__file__)))' 2>/dev/null) || return 1
    [ "$where" = "$(realpath "$root/crates/loader/python/hexz")" ]
}

if loads_here && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(key)" ]; then
    exit 0
fi
echo "ensure-develop: building the hexz Python package (make develop)" >&2
"${MAKE:-make}" -C "$root" develop
loads_here || { echo "ensure-develop: 'import hexz' in $venv does not load $root/crates/loader/python" >&2; exit 1; }
mkdir -p "$(dirname "$stamp")"
key >"$stamp"
