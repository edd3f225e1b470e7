#!/usr/bin/env bash
# Create the development virtualenv and install requirements-dev.txt into it,
# skipping all work when the stamp says it is already done for this exact
# interpreter and requirements file. Usage: scripts/ensure-venv.sh PYTHON VENV REQS STAMP
set -euo pipefail

python=$1 venv=$2 reqs=$3 stamp=$4

if ! command -v "$python" >/dev/null 2>&1; then
    echo "ensure-venv: interpreter '$python' not found (set PYTHON=...)" >&2
    exit 1
fi

# Identity of what we want: interpreter + version + requirements content.
want_py=$("$python" -c 'import sys; print(sys.version_info >= (3, 11), sys.base_prefix, sys.version.split()[0])')
case $want_py in
    True\ *) ;;
    *) echo "ensure-venv: $python is too old (need Python >= 3.11, see README): $want_py" >&2; exit 1 ;;
esac
want="${want_py#True } $(sha256sum "$reqs" | cut -d' ' -f1)"

if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi

have_py=$("$venv/bin/python" -c 'import sys; print(sys.version_info >= (3, 11), sys.base_prefix, sys.version.split()[0])' 2>/dev/null || true)
if [ "$have_py" != "$want_py" ]; then
    echo "ensure-venv: creating $venv with $python (${want_py#True })" >&2
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    if ! "$python" -m venv "$venv" 2>/dev/null; then
        # Debian's system python ships venv/ensurepip separately.
        rm -rf "$venv"
        ver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
        "$(dirname "$0")/ensure-apt.sh" "python${ver}-venv" || "$(dirname "$0")/ensure-apt.sh" python3-venv
        "$python" -m venv "$venv"
    fi
fi

echo "ensure-venv: installing $(basename "$reqs") into $venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip </dev/null
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$reqs" </dev/null
mkdir -p "$(dirname "$stamp")"
printf '%s\n' "$want" > "$stamp"
