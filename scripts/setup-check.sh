#!/usr/bin/env bash
# Report the development tools Hexz needs and whether each is present.
# Exit status 1 when a required tool is missing; benchmark peers are informational
# (`make bench` installs them). Usage: scripts/setup-check.sh [BENCH_APT_PKG...]
# Environment: PYTHON, VENV, CARGO (set by the Makefile).
set -uo pipefail

PYTHON=${PYTHON:-python3}
VENV=${VENV:-$HOME/.cache/hexz/venv}
CARGO=${CARGO:-cargo}
missing=0

row() { printf '  %-4s %-14s %s\n' "$1" "$2" "$3"; }
# awk, not `head -n 1`: head exits early and SIGPIPEs a command with more lines (pipefail).
first_line() { "$@" 2>&1 | awk 'NR == 1'; }

check() { # check required|optional NAME HINT COMMAND...
    local kind=$1 name=$2 hint=$3; shift 3
    local out
    if out=$(first_line "$@") && [ -n "$out" ] && "$@" >/dev/null 2>&1; then
        row ok "$name" "$out"
    elif [ "$kind" = required ]; then
        row MISS "$name" "missing — $hint"; missing=1
    else
        row -- "$name" "not found — $hint"
    fi
}

echo "Toolchain:"
check required cargo "install Rust: https://rustup.rs" "$CARGO" --version
check required rustc "install Rust: https://rustup.rs" rustc --version
check required rustfmt "rustup component add rustfmt" "$CARGO" fmt --version
check required clippy "rustup component add clippy" "$CARGO" clippy --version
check required cc "make apt-build (build-essential)" cc --version
check required python "need Python >= 3.11; set PYTHON=..." \
    "$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11); print("Python", sys.version.split()[0], sys.executable)'

echo "Python dev environment ($VENV):"
check required venv "make setup" "$VENV/bin/python" -c 'import sys; print("Python", sys.version.split()[0])'
for tool in maturin pytest ruff mypy; do
    check required "$tool" "make setup" "$VENV/bin/$tool" --version
done
check required numpy "make setup" "$VENV/bin/python" -c 'import numpy; print("numpy", numpy.__version__)'

echo "Optional:"
check optional cargo-nextest "cargo install cargo-nextest" "$CARGO" nextest --version

if [ "$#" -gt 0 ]; then
    echo "Benchmark peers (installed on demand by make bench / make setup):"
    for pkg in "$@"; do
        if ver=$(dpkg-query -W -f='${Status} ${Version}' "$pkg" 2>/dev/null) && [[ $ver == "install ok installed"* ]]; then
            row ok "$pkg" "${ver#install ok installed }"
        else
            row -- "$pkg" "not installed"
        fi
    done
fi

if [ "$missing" -ne 0 ]; then
    echo "Some required tools are missing (see MISS above)."
    exit 1
fi
echo "All required tools present."
