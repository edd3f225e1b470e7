#!/usr/bin/env bash
# Checks a built wheel the way a user meets it (make test-wheel; CI):
#   1. its platform tag is manylinux2014 (glibc 2.17), as auditwheel reads the binary;
#   2. it fits the size budget: wheel <= 5 MB, native library <= 12 MB;
#   3. in a fresh venv, `pip install WHEEL[torch,numpy]` works, `hexz --version`,
#      `python -m hexz --version` and a pack/ls/cat round trip run, and the README's
#      "Python in 30 seconds" example runs (without its FUSE mount, which needs root);
#   4. with SDIST given, `pip install SDIST` builds it from source (cargo) and `hexz` runs.
# Usage: scripts/check-wheel.sh PYTHON WHEEL [SDIST]
set -euo pipefail

python=$1
# Absolute paths: the checks below run in a scratch directory.
wheel=$(realpath "$2")
sdist=${3:+$(realpath "$3")}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/hexz-wheel-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
say() { echo "check-wheel: $*"; }

# 1. The tag, from the binary's symbol versions (auditwheel), not from the file name alone.
"$python" -m pip install -q --disable-pip-version-check auditwheel
show=$("$python" -m auditwheel show "$wheel")
echo "$show" | sed 's/^/  /'
if ! echo "$show" | tr '\n' ' ' | grep -Eq 'consistent with the following platform tag: +"manylinux_2_17_x86_64"'; then
    say "FAIL: $wheel is not manylinux2014 (manylinux_2_17_x86_64)"
    exit 1
fi

# 2. Sizes.
wheel_bytes=$(stat -c %s "$wheel")
so_bytes=$(unzip -l "$wheel" | awk '/_native.*\.so$/ {print $1}')
say "wheel $(basename "$wheel"): $wheel_bytes bytes; native library $so_bytes bytes"
if [ "$wheel_bytes" -gt 5000000 ] || [ "$so_bytes" -gt 12000000 ]; then
    say "FAIL: over budget (wheel <= 5,000,000 bytes, library <= 12,000,000 bytes)"
    exit 1
fi

# 3. A fresh venv, as `pip install hexz[torch]` makes it.
"$python" -m venv "$work/venv"
start=$SECONDS
"$work/venv/bin/pip" install -q --disable-pip-version-check "$wheel[torch,numpy]"
say "installed with [torch,numpy] in $((SECONDS - start)) s"
cd "$work"
"$work/venv/bin/hexz" --version
"$work/venv/bin/python" -m hexz --version
mkdir -p tree/sub && echo "hello from the wheel" > tree/sub/hello.txt
"$work/venv/bin/hexz" -q pack tree tree.hxz
"$work/venv/bin/hexz" ls tree.hxz | grep -q 'sub/hello.txt'
[ "$("$work/venv/bin/hexz" cat tree.hxz sub/hello.txt)" = "hello from the wheel" ]
# The README's first Python block, minus the FUSE mount (root, /dev/fuse and a disk image).
"$python" - "$root/README.md" > example.py <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
block = re.search(r"## Python in 30 seconds\n\n```python\n(.*?)```", text, re.S).group(1)
print("\n".join(l for l in block.splitlines() if "hexz.mount(" not in l and "mbr = " not in l))
EOF
"$work/venv/bin/python" example.py
say "the README example ran in the fresh venv"
# Built with the default features, the Python API keeps encryption opt-in (the seed's table).
if [ -z "${WHEEL_FEATURES:-}" ]; then
    "$work/venv/bin/python" - <<'EOF'
import hexz
try:
    hexz.Writer("k.hxz", key=b"k" * 32)
except hexz.UnsupportedFeatureError as e:
    print(f"check-wheel: the default build refuses key=: {e}")
else:
    raise SystemExit("check-wheel: FAIL: a default build accepted key=")
EOF
fi

# 4. The source distribution builds on a machine with cargo.
if [ -n "$sdist" ]; then
    "$python" -m venv "$work/venv-sdist"
    start=$SECONDS
    "$work/venv-sdist/bin/pip" install -q --disable-pip-version-check "$sdist"
    "$work/venv-sdist/bin/hexz" --version
    "$work/venv-sdist/bin/python" -c "import hexz; print('sdist build imports, hexz', hexz.__version__)"
    say "built and installed $(basename "$sdist") in $((SECONDS - start)) s"
fi
say "all checks passed"
