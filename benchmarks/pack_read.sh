#!/usr/bin/env bash
# Pack and sequential-read benchmark: hexz against the tools people use today
# (squashfs, tar + zstd/lz4, qcow2), on a real file tree and on a raw ext4 image
# of that tree. Run by `make bench`; writes bench-out/pack_read.md and records the run
# (every repetition's time, sizes, peak RSS, commands, versions, machine and load) in
# benchmarks/runs/<date>-pack/results.json (benchmarks/pack_report.py).
#
# Environment:
#   HEXZ              hexz binary (default: $CARGO_TARGET_DIR/release/hexz)
#   BENCH_SIZE_MB     size of the file tree in MiB (default 1200; 100 for a quick run)
#   BENCH_RUNS        timed runs per command, median reported (default 3)
#   BENCH_SLOW_RUNS   runs for mksquashfs at its default zstd level 15, about a
#                     minute per GB on 2 cores (default 1)
#   BENCH_DIR         data and outputs (default ~/.cache/hexz/bench)
#   BENCH_OUT         report directory (default bench-out/ in the repository)
#   BENCH_PEERS_ONLY  1 = skip the hexz rows (to try the script without a binary)
#   BENCH_RECORD      1 = also regenerate the "Pack and sequential read" subsection of
#                     docs/benchmarks.md and its plot from the newest run (default: 1 at
#                     full size, BENCH_SIZE_MB >= 1200, with hexz; else 0: then run
#                     ~/.cache/hexz/bench-venv/bin/python benchmarks/pack_report.py by hand)
#
# The tree is the Python standard library (without site-packages), /usr/bin and
# /usr/lib/x86_64-linux-gnu, each scaled to its share of BENCH_SIZE_MB. The image
# is `mkfs.ext4 -d TREE` about 1.3x the tree. Pack timings start with a warm
# page cache; reads are from a warm page cache to /dev/null. The load average is
# sampled every 5 s while the commands are timed, and the CPU time used by everything
# else on the machine (all busy CPU time minus this script's children) is recorded.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${HEXZ_CACHE:-$HOME/.cache/hexz}
HEXZ=${HEXZ:-${CARGO_TARGET_DIR:-$CACHE/target}/release/hexz}
SIZE_MB=${BENCH_SIZE_MB:-1200}
RUNS=${BENCH_RUNS:-3}
SLOW_RUNS=${BENCH_SLOW_RUNS:-1}
DIR=${BENCH_DIR:-$CACHE/bench}
REPORT_DIR=${BENCH_OUT:-$ROOT/bench-out}
PEERS_ONLY=${BENCH_PEERS_ONLY:-0}
if [ "$SIZE_MB" -ge 1200 ] 2>/dev/null && [ "$PEERS_ONLY" != 1 ]; then RECORD=${BENCH_RECORD:-1}; else RECORD=${BENCH_RECORD:-0}; fi
PY=${PYTHON:-python3}
command -v "$PY" >/dev/null 2>&1 || PY=python3
export PATH="$PATH:/usr/sbin:/sbin"

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }
[[ $SIZE_MB =~ ^[0-9]+$ ]] && [ "$SIZE_MB" -ge 1 ] || die "BENCH_SIZE_MB must be a positive integer"
[[ $RUNS =~ ^[0-9]+$ ]] && [ "$RUNS" -ge 1 ] || die "BENCH_RUNS must be a positive integer"
[[ $SLOW_RUNS =~ ^[0-9]+$ ]] && [ "$SLOW_RUNS" -ge 1 ] || die "BENCH_SLOW_RUNS must be a positive integer"

if [ "$PEERS_ONLY" != 1 ]; then
    [ -x "$HEXZ" ] || die "no hexz binary at $HEXZ (run: make build, or BENCH_PEERS_ONLY=1)"
    "$HEXZ" --help >/dev/null 2>&1 || die "$HEXZ does not run"
fi

"$ROOT/scripts/ensure-apt.sh" squashfs-tools zstd lz4 qemu-utils e2fsprogs hyperfine time
for tool in mksquashfs zstd lz4 qemu-img mkfs.ext4 hyperfine tar; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done
[ -x /usr/bin/time ] || die "/usr/bin/time not found (package: time)"

mkdir -p "$DIR" "$REPORT_DIR"
TREE=$DIR/tree
IMAGE=$DIR/ext4.img
OUT=$DIR/out
RESULTS=$DIR/results.tsv
q() { printf '%q' "$1"; }

# --- data set: the tree ----------------------------------------------------
STDLIB=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
SOURCES=("$STDLIB:python-stdlib" "/usr/bin:usr-bin" "/usr/lib/x86_64-linux-gnu:usr-lib-x86_64-linux-gnu")
TREE_KEY="size_mb=$SIZE_MB sources=${SOURCES[*]}"

if [ "$(cat "$TREE.stamp" 2>/dev/null)" != "$TREE_KEY" ] || [ ! -d "$TREE" ]; then
    log "building the tree ($SIZE_MB MiB) in $TREE"
    rm -rf "$TREE" "$TREE.stamp" "$IMAGE" "$IMAGE.stamp"
    mkdir -p "$TREE"
    lists=$(mktemp -d)
    total=0
    for s in "${SOURCES[@]}"; do
        src=${s%%:*} name=${s##*:}
        [ -d "$src" ] || { log "skipping missing $src"; continue; }
        # "size path" for files and symlinks, sorted so the subset is stable.
        find "$src" -mindepth 1 \( -name site-packages -o -name dist-packages \) -prune \
            -o \( -type f -o -type l \) -printf '%s %P\n' 2>/dev/null | LC_ALL=C sort -k2 >"$lists/$name.all"
        bytes=$(awk '{ s += $1 } END { print s + 0 }' "$lists/$name.all")
        echo "$src $name $bytes" >>"$lists/sources"
        total=$((total + bytes))
    done
    cap=$((SIZE_MB * 1048576))
    while read -r src name bytes; do
        # Each source gets its share of the cap; files that would overflow are skipped.
        budget=$(awk -v b="$bytes" -v t="$total" -v c="$cap" 'BEGIN { printf "%.0f", (t > c) ? b * c / t : b }')
        awk -v budget="$budget" '{ sz = $1; p = substr($0, length($1) + 2);
            if (used + sz <= budget) { used += sz; print p } }' "$lists/$name.all" >"$lists/$name.pick"
        mkdir -p "$TREE/$name"
        # No setuid/setgid bits in the copy; hard links become independent files.
        tar -C "$src" -cf - --no-recursion --verbatim-files-from -T "$lists/$name.pick" \
            --hard-dereference --mode='u-s,g-s' --ignore-failed-read --warning=no-file-changed 2>/dev/null |
            tar -C "$TREE/$name" -xpf - || true
    done <"$lists/sources"
    rm -rf "$lists"
    echo "$TREE_KEY" >"$TREE.stamp"
fi
TREE_BYTES=$(find "$TREE" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
TREE_FILES=$(find "$TREE" -type f | wc -l)
TREE_LINKS=$(find "$TREE" -type l | wc -l)
[ "$TREE_FILES" -gt 0 ] || die "the tree in $TREE is empty"

# --- data set: the ext4 image ----------------------------------------------
if [ "$(cat "$IMAGE.stamp" 2>/dev/null)" != "$TREE_KEY" ] || [ ! -f "$IMAGE" ]; then
    log "building the ext4 image $IMAGE"
    rm -f "$IMAGE" "$IMAGE.stamp"
    inodes=$(( (TREE_FILES + TREE_LINKS + $(find "$TREE" -type d | wc -l)) * 5 / 4 + 1024 ))
    made=0
    for factor in 130 160 200; do
        mib=$(( TREE_BYTES * factor / 100 / 1048576 ))
        [ "$mib" -ge $(( TREE_BYTES / 1048576 + 64 )) ] || mib=$(( TREE_BYTES / 1048576 + 64 ))
        rm -f "$IMAGE"
        truncate -s "${mib}M" "$IMAGE"
        if mkfs.ext4 -q -F -N "$inodes" -d "$TREE" "$IMAGE" >"$DIR/mkfs.log" 2>&1; then
            made=1; break
        fi
        log "mkfs.ext4 at ${mib} MiB failed, trying larger"
    done
    [ "$made" = 1 ] || { cat "$DIR/mkfs.log" >&2; die "mkfs.ext4 -d failed"; }
    echo "$TREE_KEY" >"$IMAGE.stamp"
fi
IMAGE_BYTES=$(stat -c %s "$IMAGE")

# --- helpers ---------------------------------------------------------------
rm -rf "$OUT"
mkdir -p "$OUT"
: >"$RESULTS"
# times_s: every timed repetition (comma-separated); load1: the 1-minute load average just
# before the command was timed.
printf 'kind\tdataset\tlabel\tfamily\thexz\tcommand\tbytes\tmedian_s\tmin_s\tmax_s\truns\trss_kb\tstatus\ttimes_s\tload1\n' >"$RESULTS"
failures=0

median_of() { # hyperfine JSON -> "median min max times"
    "$PY" -c 'import json, sys; r = json.load(open(sys.argv[1]))["results"][0]; print(r["median"], r["min"], r["max"], ",".join(map(str, r["times"])))' "$1"
}
load1() { local l; read -r l _ </proc/loadavg; echo "$l"; }
record() { local IFS=$'\t'; echo "$*" >>"$RESULTS"; }

# pack DATASET LABEL FAMILY IS_HEXZ OUTPUT COMMAND [RUNS]
pack() {
    local dataset=$1 label=$2 family=$3 is_hexz=$4 output=$5 cmd=$6 runs=${7:-$RUNS}
    [ "$is_hexz" = 1 ] && [ "$PEERS_ONLY" = 1 ] && return 0
    local json=$OUT/pack-$dataset-$label.json load
    echo
    echo "### pack $dataset: $label"
    load=$(load1)
    if hyperfine --shell=bash --style basic --runs "$runs" --prepare "rm -f $(q "$output")" \
        --export-json "$json" "$cmd" && [ -s "$output" ]; then
        read -r med min max times < <(median_of "$json")
        record pack "$dataset" "$label" "$family" "$is_hexz" "$cmd" "$(stat -c %s "$output")" "$med" "$min" "$max" "$runs" - ok "$times" "$load"
    else
        failures=$((failures + 1))
        record pack "$dataset" "$label" "$family" "$is_hexz" "$cmd" - - - - "$runs" - FAILED - "$load"
    fi
}

# read DATASET LABEL FAMILY IS_HEXZ INPUT COMMAND   (COMMAND writes to stdout)
read_bench() {
    local dataset=$1 label=$2 family=$3 is_hexz=$4 input=$5 cmd=$6
    [ "$is_hexz" = 1 ] && [ "$PEERS_ONLY" = 1 ] && return 0
    local json=$OUT/read-$dataset-$label.json bytes rss load
    echo
    echo "### read $dataset: $label"
    load=$(load1)
    if [ ! -s "$input" ]; then
        failures=$((failures + 1))
        record read "$dataset" "$label" "$family" "$is_hexz" "$cmd > /dev/null" - - - - "$RUNS" - "FAILED (no input)" - "$load"
        return 0
    fi
    if bytes=$(bash -c "$cmd" | wc -c) &&
        /usr/bin/time -f '%M' -o "$OUT/rss" bash -c "$cmd > /dev/null" &&
        hyperfine --shell=bash --style basic --warmup 1 --runs "$RUNS" --export-json "$json" "$cmd > /dev/null"; then
        rss=$(tail -n 1 "$OUT/rss")
        read -r med min max times < <(median_of "$json")
        record read "$dataset" "$label" "$family" "$is_hexz" "$cmd > /dev/null" "$bytes" "$med" "$min" "$max" "$RUNS" "$rss" ok "$times" "$load"
    else
        failures=$((failures + 1))
        record read "$dataset" "$label" "$family" "$is_hexz" "$cmd > /dev/null" - - - - "$RUNS" - FAILED - "$load"
    fi
}

warm() { log "warming the page cache"; tar -C "$TREE" -cf - . | cat >/dev/null; cat "$IMAGE" >/dev/null; }

H=$(q "$HEXZ") T=$(q "$TREE") I=$(q "$IMAGE") O=$(q "$OUT")
SQ="-noappend -quiet -no-progress"
warm

# --- the load while the commands are timed -------------------------------------
# /proc/loadavg every 5 s (no forks), and at the start and end: all CPU time from
# /proc/stat and this script's children's CPU time (`times`), so pack_report.py can
# say how much CPU everything else on the machine took meanwhile.
STARTED=$(date -u '+%Y-%m-%dT%H:%M:%S+00:00')
(
    trap 'exit 0' TERM
    while :; do read -r l </proc/loadavg; printf '%(%s)T %s\n' -1 "$l"; sleep 5; done
) >"$OUT/load.log" 2>/dev/null &
LOAD_PID=$!
trap 'kill "$LOAD_PID" 2>/dev/null || true' EXIT
cpu_stat() { awk '/^cpu / { $1 = ""; print substr($0, 2) }' /proc/stat; }
cpu_stat >"$OUT/cpu.start"
cat /proc/uptime >"$OUT/uptime.start"
times >"$OUT/times.start"

# --- pack: tree ------------------------------------------------------------
pack tree "hexz lz4" lz4 1 "$OUT/tree-lz4.hxz" "$H pack $T $O/tree-lz4.hxz --compression lz4 --quiet"
pack tree "hexz zstd-3" zstd 1 "$OUT/tree-zstd3.hxz" "$H pack $T $O/tree-zstd3.hxz --compression zstd --level 3 --quiet"
pack tree "mksquashfs lz4" lz4 0 "$OUT/tree-lz4.sqfs" "mksquashfs $T $O/tree-lz4.sqfs -comp lz4 $SQ"
pack tree "mksquashfs zstd" zstd 0 "$OUT/tree-zstd.sqfs" "mksquashfs $T $O/tree-zstd.sqfs -comp zstd $SQ" "$SLOW_RUNS"
pack tree "mksquashfs zstd-3" zstd 0 "$OUT/tree-zstd3.sqfs" "mksquashfs $T $O/tree-zstd3.sqfs -comp zstd -Xcompression-level 3 $SQ"
pack tree "tar | zstd -3 -T0" zstd 0 "$OUT/tree.tar.zst" "tar -C $T -cf - . | zstd -3 -T0 -q -c > $O/tree.tar.zst"
pack tree "tar | lz4" lz4 0 "$OUT/tree.tar.lz4" "tar -C $T -cf - . | lz4 -q -c > $O/tree.tar.lz4"

# --- pack: image -----------------------------------------------------------
pack image "hexz lz4" lz4 1 "$OUT/img-lz4.hxz" "$H pack $I $O/img-lz4.hxz --compression lz4 --quiet"
pack image "hexz zstd-3" zstd 1 "$OUT/img-zstd3.hxz" "$H pack $I $O/img-zstd3.hxz --compression zstd --level 3 --quiet"
pack image "hexz --raw lz4" lz4 1 "$OUT/img-raw-lz4.hxz" "$H pack $I $O/img-raw-lz4.hxz --raw --compression lz4 --quiet"
pack image "hexz --raw zstd-3" zstd 1 "$OUT/img-raw-zstd3.hxz" "$H pack $I $O/img-raw-zstd3.hxz --raw --compression zstd --level 3 --quiet"
pack image "mksquashfs lz4" lz4 0 "$OUT/img-lz4.sqfs" "mksquashfs $I $O/img-lz4.sqfs -comp lz4 $SQ"
pack image "mksquashfs zstd" zstd 0 "$OUT/img-zstd.sqfs" "mksquashfs $I $O/img-zstd.sqfs -comp zstd $SQ" "$SLOW_RUNS"
pack image "mksquashfs zstd-3" zstd 0 "$OUT/img-zstd3.sqfs" "mksquashfs $I $O/img-zstd3.sqfs -comp zstd -Xcompression-level 3 $SQ"
pack image "zstd -3 -T0" zstd 0 "$OUT/img.zst" "zstd -3 -T0 -q -c $I > $O/img.zst"
pack image "lz4" lz4 0 "$OUT/img.lz4" "lz4 -q -c $I > $O/img.lz4"
pack image "qemu-img qcow2 zstd" zstd 0 "$OUT/img.qcow2" "qemu-img convert -c -O qcow2 -o compression_type=zstd $I $O/img.qcow2"

# --- sequential read, warm page cache ----------------------------------------
read_bench tree "hexz cat (lz4)" lz4 1 "$OUT/tree-lz4.hxz" "$H cat $O/tree-lz4.hxz"
read_bench tree "hexz cat (zstd-3)" zstd 1 "$OUT/tree-zstd3.hxz" "$H cat $O/tree-zstd3.hxz"
read_bench tree "lz4 -dc" lz4 0 "$OUT/tree.tar.lz4" "lz4 -dc $O/tree.tar.lz4"
read_bench tree "zstd -dc" zstd 0 "$OUT/tree.tar.zst" "zstd -dc $O/tree.tar.zst"
read_bench image "hexz cat (--raw lz4)" lz4 1 "$OUT/img-raw-lz4.hxz" "$H cat $O/img-raw-lz4.hxz"
read_bench image "hexz cat (--raw zstd-3)" zstd 1 "$OUT/img-raw-zstd3.hxz" "$H cat $O/img-raw-zstd3.hxz"
read_bench image "lz4 -dc" lz4 0 "$OUT/img.lz4" "lz4 -dc $O/img.lz4"
read_bench image "zstd -dc" zstd 0 "$OUT/img.zst" "zstd -dc $O/img.zst"

cpu_stat >"$OUT/cpu.end"
cat /proc/uptime >"$OUT/uptime.end"
times >"$OUT/times.end"
kill "$LOAD_PID" 2>/dev/null || true

# --- report ----------------------------------------------------------------
# awk 'NR == 1' reads to the end (`head -n 1` would SIGPIPE the writer under pipefail).
ver() { "$@" 2>&1 | awk 'NR == 1' | tr -d "*" | sed "s/^ *//; s/ *$//" || true; }
export BENCH_MACHINE="$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | awk 'NR == 1'), $(nproc) cores, $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM, Linux $(uname -r)"
export BENCH_DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
export BENCH_VERSIONS="hexz: $(if [ "$PEERS_ONLY" = 1 ]; then echo skipped; else ver "$HEXZ" --version; fi); $(ver mksquashfs -version); $(ver zstd --version); $(ver lz4 --version); $(ver qemu-img --version); $(ver hyperfine --version); $(ver tar --version)"
export BENCH_TREE="$TREE_FILES files + $TREE_LINKS symlinks, $TREE_BYTES bytes (Python stdlib without site-packages, /usr/bin, /usr/lib/x86_64-linux-gnu; BENCH_SIZE_MB=$SIZE_MB)"
export BENCH_TREE_BYTES=$TREE_BYTES BENCH_IMAGE_BYTES=$IMAGE_BYTES
export BENCH_IMAGE="mkfs.ext4 -d of the tree, $IMAGE_BYTES bytes"
{
    printf 'hexz\t%s\n' "$(if [ "$PEERS_ONLY" = 1 ]; then echo skipped; else ver "$HEXZ" --version; fi)"
    printf 'mksquashfs\t%s\n' "$(ver mksquashfs -version)"
    printf 'zstd\t%s\n' "$(ver zstd --version)"
    printf 'lz4\t%s\n' "$(ver lz4 --version)"
    printf 'qemu-img\t%s\n' "$(ver qemu-img --version)"
    printf 'hyperfine\t%s\n' "$(ver hyperfine --version)"
    printf 'tar\t%s\n' "$(ver tar --version)"
    printf 'mkfs.ext4\t%s\n' "$(ver mkfs.ext4 -V)"
} >"$OUT/versions.tsv"
export BENCH_STARTED=$STARTED BENCH_OUT_DIR=$OUT BENCH_HEXZ=$HEXZ BENCH_FAILURES=$failures
export BENCH_TREE_FILES=$TREE_FILES BENCH_TREE_LINKS=$TREE_LINKS BENCH_SOURCES="${SOURCES[*]}"
export BENCH_SIZE_MB_USED=$SIZE_MB BENCH_RUNS_USED=$RUNS BENCH_SLOW_RUNS_USED=$SLOW_RUNS BENCH_PEERS_ONLY_USED=$PEERS_ONLY
export BENCH_LOAD="$("$PY" "$ROOT/benchmarks/pack_report.py" load "$OUT")"
"$PY" "$ROOT/benchmarks/report.py" "$RESULTS" >"$REPORT_DIR/pack_read.md"
cp "$RESULTS" "$REPORT_DIR/pack_read.tsv"
RUN_DIR=$("$PY" "$ROOT/benchmarks/pack_report.py" record "$RESULTS")

echo
cat "$REPORT_DIR/pack_read.md"
echo
log "report written to $REPORT_DIR/pack_read.md; run recorded in $RUN_DIR/results.json"
if [ "$RECORD" = 1 ]; then
    # The plot needs matplotlib: the benchmark venv has it (benchmarks/requirements-peers.txt).
    RPY=${LOADER_BENCH_VENV:-$CACHE/bench-venv}/bin/python
    "$RPY" -c 'import matplotlib' >/dev/null 2>&1 || { log "no matplotlib in $RPY: no plot"; RPY=$PY; }
    "$RPY" "$ROOT/benchmarks/pack_report.py" && log "regenerated docs/benchmarks.md (pack and read) from $RUN_DIR"
else
    log "docs/benchmarks.md not touched (BENCH_RECORD=1, or python benchmarks/pack_report.py)"
fi
[ "$failures" -eq 0 ] || die "$failures command(s) failed (marked FAILED in the report)"
