#!/usr/bin/env bash
# `make demo`: show the hexz CLI on a real tree — Python's standard library.
# pack -> inspect -> verify -> ls -> extract -> compare with the source, then
# time a sequential `hexz cat` read, then pack it encrypted and signed and verify that.
#
# Environment:
#   HEXZ       path to the hexz binary (default: $CARGO_TARGET_DIR/release/hexz)
#   PYTHON     interpreter whose stdlib is used (default: python3)
#   DEMO_SRC   pack this directory instead of the stdlib
#   DEMO_ARGS  extra `hexz pack` options, e.g. "--compression zstd --level 3"
set -euo pipefail

CACHE=${HEXZ_CACHE:-$HOME/.cache/hexz}
HEXZ=${HEXZ:-${CARGO_TARGET_DIR:-$CACHE/target}/release/hexz}
PYTHON=${PYTHON:-python3}
read -r -a PACK_ARGS <<<"${DEMO_ARGS:-}"

die() { echo "demo: $*" >&2; exit 1; }
[ -x "$HEXZ" ] || die "no hexz binary at $HEXZ (run: make build)"

bold() { if [ -t 1 ]; then printf '\033[1m%s\033[0m\n' "$*"; else printf '%s\n' "$*"; fi; }
step() { echo; bold "==> $*"; }
now_ns() { date +%s%N; }
secs() { awk -v ns="$1" 'BEGIN { printf "%.2f", ns / 1e9 }'; }
mbps() { awk -v b="$1" -v ns="$2" 'BEGIN { if (ns > 0) printf "%.0f", (b / 1048576) / (ns / 1e9); else print "-" }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
tree_bytes() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }

# --- the tree ------------------------------------------------------------
if [ -n "${DEMO_SRC:-}" ]; then
    SRC=$DEMO_SRC
    [ -d "$SRC" ] || die "DEMO_SRC=$SRC is not a directory"
else
    STDLIB=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
    [ -d "$STDLIB" ] || die "cannot find Python's standard library via $PYTHON"
    # Work on a private copy without site-packages: third-party packages are not
    # the standard library, and others may pip-install into it mid-run.
    SRC=$CACHE/demo/python-stdlib
    if [ "$(cat "$SRC.from" 2>/dev/null)" != "$STDLIB" ]; then
        echo "demo: copying $STDLIB (without site-packages) to $SRC"
        rm -rf "$SRC" "$SRC.from"
        mkdir -p "$SRC"
        tar -C "$STDLIB" --exclude=./site-packages --exclude=./dist-packages -cf - . | tar -C "$SRC" -xpf -
        echo "$STDLIB" >"$SRC.from"
    fi
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hexz-demo.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ARCHIVE=$WORK/stdlib.hxz
OUT=$WORK/extracted

SRC_BYTES=$(tree_bytes "$SRC")
SRC_FILES=$(find "$SRC" -type f | wc -l)
bold "hexz demo: $SRC"
echo "    $SRC_FILES files, $(mib "$SRC_BYTES") MiB, using $HEXZ"

# --- pack ----------------------------------------------------------------
step "hexz pack $SRC $ARCHIVE${PACK_ARGS[*]:+ ${PACK_ARGS[*]}}"
t0=$(now_ns)
"$HEXZ" pack "$SRC" "$ARCHIVE" "${PACK_ARGS[@]}"
PACK_NS=$(($(now_ns) - t0))
ARCHIVE_BYTES=$(stat -c %s "$ARCHIVE")

step "hexz inspect $ARCHIVE"
"$HEXZ" inspect "$ARCHIVE"

step "hexz verify $ARCHIVE"
t0=$(now_ns)
"$HEXZ" verify "$ARCHIVE"
VERIFY_NS=$(($(now_ns) - t0))

step "hexz ls --long $ARCHIVE   (first 12 lines)"
# Never cut a pipeline short under pipefail (`| head` makes the writer die of SIGPIPE, exit 141,
# whenever it has more to write): take the listing whole, then print its first lines.
"$HEXZ" ls --long "$ARCHIVE" >"$WORK/ls.txt"
sed -n 1,12p "$WORK/ls.txt"

# --- extract and compare -------------------------------------------------
step "hexz extract $ARCHIVE $OUT"
t0=$(now_ns)
"$HEXZ" extract "$ARCHIVE" "$OUT"
EXTRACT_NS=$(($(now_ns) - t0))

step "diff -r --no-dereference $SRC $OUT"
diff -r --no-dereference "$SRC" "$OUT" >"$WORK/diff.txt" || {
    head -n 20 "$WORK/diff.txt"
    die "extracted tree differs from the source"
}
echo "contents identical"
# Metadata: type, permission bits, symlink target for everything; mtime
# (whole seconds) for regular files.
meta() {
    (cd "$1" && find . -mindepth 1 \( -type f -printf '%P %y %m %l %T@\n' \) -o \( ! -type f -printf '%P %y %m %l\n' \)) |
        awk '$2 == "f" { $NF = int($NF) } { print }' | LC_ALL=C sort
}
if ! diff <(meta "$SRC") <(meta "$OUT") >"$WORK/meta.txt"; then
    head -n 20 "$WORK/meta.txt"
    die "modes, mtimes or symlinks differ after extract (lines above: < source, > extracted)"
fi
echo "modes, mtimes and symlink targets identical"

# --- sequential read -----------------------------------------------------
step "hexz cat $ARCHIVE > /dev/null   (page cache warm, best of 3)"
CAT_NS=
for _ in 1 2 3; do
    t0=$(now_ns)
    "$HEXZ" cat "$ARCHIVE" >/dev/null
    ns=$(($(now_ns) - t0))
    if [ -z "$CAT_NS" ] || [ "$ns" -lt "$CAT_NS" ]; then CAT_NS=$ns; fi
done
CAT_BYTES=$("$HEXZ" cat "$ARCHIVE" | wc -c)
echo "read $(mib "$CAT_BYTES") MiB"

# --- encrypted and signed ------------------------------------------------
KEYS=$WORK/keys
SEALED=$WORK/stdlib-sealed.hxz
step "hexz keygen; hexz pack --encrypt --signing-key (AES-256-GCM + Ed25519)"
"$HEXZ" keygen -q --output-dir "$KEYS"
(umask 077 && head -c 32 /dev/urandom >"$KEYS/archive.key")
t0=$(now_ns)
"$HEXZ" pack -q "${PACK_ARGS[@]}" --encrypt --key-file "$KEYS/archive.key" \
    --signing-key "$KEYS/hexz.key" "$SRC" "$SEALED"
SEAL_NS=$(($(now_ns) - t0))
echo "packed, encrypted and signed in $(secs "$SEAL_NS") s ($(mbps "$SRC_BYTES" "$SEAL_NS") MiB/s)"
"$HEXZ" inspect "$SEALED" | grep -E '^(cipher|kdf|signed|contents)'
step "hexz verify --verify-key hexz.pub (no decryption key: signature only; then with it: every block)"
"$HEXZ" verify "$SEALED" --verify-key "$KEYS/hexz.pub"
t0=$(now_ns)
"$HEXZ" verify --key-file "$KEYS/archive.key" "$SEALED" --verify-key "$KEYS/hexz.pub"
SEALED_VERIFY_NS=$(($(now_ns) - t0))
# awk reads all of sort's output (where `head -n 1` would exit early and SIGPIPE sort).
FIRST=$(cd "$SRC" && find . -type f -name '*.py' | LC_ALL=C sort | awk 'NR == 1')
FIRST=${FIRST#./}
"$HEXZ" cat --key-file "$KEYS/archive.key" --verify-key "$KEYS/hexz.pub" "$SEALED" "$FIRST" |
    cmp - "$SRC/$FIRST" && echo "$FIRST read back with --verify-key: identical"

# --- summary -------------------------------------------------------------
step "summary"
printf '  %-10s %10s MiB  (%s files)\n' source "$(mib "$SRC_BYTES")" "$SRC_FILES"
printf '  %-10s %10s MiB  (ratio %s)\n' archive "$(mib "$ARCHIVE_BYTES")" \
    "$(awk -v a="$SRC_BYTES" -v b="$ARCHIVE_BYTES" 'BEGIN { printf "%.2fx", a / b }')"
printf '  %-10s %10s s    %6s MiB/s\n' pack "$(secs "$PACK_NS")" "$(mbps "$SRC_BYTES" "$PACK_NS")"
printf '  %-10s %10s s    %6s MiB/s\n' verify "$(secs "$VERIFY_NS")" "$(mbps "$SRC_BYTES" "$VERIFY_NS")"
printf '  %-10s %10s s    %6s MiB/s\n' extract "$(secs "$EXTRACT_NS")" "$(mbps "$SRC_BYTES" "$EXTRACT_NS")"
printf '  %-10s %10s s    %6s MiB/s\n' cat "$(secs "$CAT_NS")" "$(mbps "$CAT_BYTES" "$CAT_NS")"
printf '  %-10s %10s s    %6s MiB/s  (encrypted + signed)\n' pack "$(secs "$SEAL_NS")" "$(mbps "$SRC_BYTES" "$SEAL_NS")"
printf '  %-10s %10s s    %6s MiB/s  (encrypted, signature checked)\n' verify "$(secs "$SEALED_VERIFY_NS")" "$(mbps "$SRC_BYTES" "$SEALED_VERIFY_NS")"
echo
echo "demo OK"
