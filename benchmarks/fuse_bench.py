#!/usr/bin/env python3
"""FUSE mount benchmark: ``hexz mount`` against squashfuse, squashfuse_ll and the kernel's
squashfs (``mount -t squashfs -o loop,ro``) over a ``mksquashfs`` image of the same data
(docs/benchmarks.md, "FUSE mount", which states the goals).

Run by ``make bench-fuse`` (as root: it mounts, unmounts and drops the page cache). Python
standard library only.

Data: the tree and the ext4 image of ``benchmarks/pack_read.sh`` (``~/.cache/hexz/bench/tree``
and ``ext4.img``; when they are missing, pack_read.sh runs first to make them). Archives, one
pair per codec, in ``~/.cache/hexz/fuse-bench/archives`` (hard links to pack_read.sh's outputs
when those exist and are newer than the data, else packed here):

- lz4:  ``hexz pack --compression lz4`` / ``mksquashfs -comp lz4``
- zstd: ``hexz pack --compression zstd --level 3`` / ``mksquashfs -comp zstd -Xcompression-level 3``

for the tree and for the image (hexz: ``--raw``, so it mounts as the file ``disk``; squashfs: the
file ``ext4.img``). Block sizes are each tool's default (hexz 64 KiB, mksquashfs 128 KiB) unless
FUSE_BENCH_SQFS_BLOCK sets mksquashfs's ``-b``. Each archive's codec and block size is read back
(``hexz inspect``, ``unsquashfs -s``) and written to the report.

Tests, each on a mount of one archive:

- ``seq-image``: ``cat MOUNT/disk > /dev/null`` (squashfs: ``MOUNT/ext4.img``), 1.6 GB;
- ``seq-files``: ``cat`` of the 5 largest files of the tree (about 400 MB) to /dev/null;
- ``tar``: ``tar cf - . | wc -c`` in the tree's mount (7,055 files, 855 symlinks, 1.2 GB);
- ``random``: FUSE_BENCH_RANDOM_N reads of 4 KiB (``os.pread``, one at a time, 4 KiB-aligned
  offsets drawn with a fixed seed) over the image file, timed one by one: IOPS and p50/p99.

Conditions (per test, per tool, fresh mount each time except ``warm``):

- ``cold``: everything unmounted, ``sync; echo 3 > /proc/sys/vm/drop_caches`` (so the archive
  file itself is cold for every tool alike: it is read from disk), mount, run;
- ``warm``: the same command again right after ``cold``, on the same mount (a second run:
  whatever the kernel and the daemon kept, as a user sees it; files are re-opened);
- ``archive-cached``: unmount, drop caches, ``cat ARCHIVE > /dev/null`` (the archive file now in
  the page cache), mount, run: the cost of the mount itself (FUSE round trips, decoding) without
  the disk.

Loop order: run, test, codec, tool (peers run side by side, in the same round); medians of
FUSE_BENCH_RUNS rounds. Everything is unmounted on exit (also on Ctrl-C and SIGTERM) and the
script fails if a mount or loop device of its own is left.

Output: ``~/.cache/hexz/fuse-bench/results.tsv`` (every run as it is measured),
``benchmarks/runs/<date>-fuse/results.json`` (configuration, machine, every run and the medians)
and ``results.md`` (tables, ratios, goals: fuse_report.py), printed at the end. With
``--record`` (or FUSE_BENCH_RECORD=1) the run also replaces the "Latest run" part of
docs/benchmarks.md's "FUSE mount" section.

Environment:
    HEXZ                  hexz binary (default $CARGO_TARGET_DIR/release/hexz)
    FUSE_BENCH_RUNS       rounds (default 5)
    FUSE_BENCH_CODECS     lz4,zstd (default both)
    FUSE_BENCH_TOOLS      hexz,squashfuse,squashfuse_ll,kernel (default all)
    FUSE_BENCH_TESTS      seq-image,seq-files,tar,random (default all)
    FUSE_BENCH_CONDS      cold,warm,archive-cached (default all)
    FUSE_BENCH_RANDOM_N   random reads per run (default 4000)
    FUSE_BENCH_SQFS_BLOCK mksquashfs -b (default: its default, 128K)
    FUSE_BENCH_HEXZ_ARGS  extra arguments to ``hexz mount`` (e.g. "--cache-size 1G")
    FUSE_BENCH_DIR        state (default ~/.cache/hexz/fuse-bench)
    BENCH_DIR             pack_read.sh's data (default ~/.cache/hexz/bench)
"""

from __future__ import annotations

import datetime
import json
import os
import random
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import fuse_report
import runs
from fuse_proc import cpu_seconds, daemon_pid, drop_caches, mounts_under
from fuse_report import ALL_CODECS, ALL_CONDS, ALL_TESTS, ALL_TOOLS, BIG_FILES
from machine import machine

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("HEXZ_CACHE", Path.home() / ".cache" / "hexz"))
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", CACHE / "target"))
HEXZ = os.environ.get("HEXZ", str(TARGET / "release" / "hexz"))
RUNS = int(os.environ.get("FUSE_BENCH_RUNS", "5"))
CODECS = os.environ.get("FUSE_BENCH_CODECS", "lz4,zstd").split(",")
TOOLS = os.environ.get("FUSE_BENCH_TOOLS", "hexz,squashfuse,squashfuse_ll,kernel").split(",")
TESTS = os.environ.get("FUSE_BENCH_TESTS", "seq-image,seq-files,tar,random").split(",")
CONDS = os.environ.get("FUSE_BENCH_CONDS", "cold,warm,archive-cached").split(",")
RANDOM_N = int(os.environ.get("FUSE_BENCH_RANDOM_N", "4000"))
SQFS_BLOCK = os.environ.get("FUSE_BENCH_SQFS_BLOCK", "")
HEXZ_ARGS = shlex.split(os.environ.get("FUSE_BENCH_HEXZ_ARGS", ""))
STATE = Path(os.environ.get("FUSE_BENCH_DIR", CACHE / "fuse-bench"))
DATA = Path(os.environ.get("BENCH_DIR", CACHE / "bench"))
TREE = DATA / "tree"
IMAGE = DATA / "ext4.img"
ARCH = STATE / "archives"
MNT = STATE / "mnt"
SEED = 5

ENV_VARS = [
    "FUSE_BENCH_RUNS",
    "FUSE_BENCH_CODECS",
    "FUSE_BENCH_TOOLS",
    "FUSE_BENCH_TESTS",
    "FUSE_BENCH_CONDS",
    "FUSE_BENCH_RANDOM_N",
    "FUSE_BENCH_SQFS_BLOCK",
    "FUSE_BENCH_HEXZ_ARGS",
]


def log(msg: str) -> None:
    print(f"fuse-bench: {msg}", file=sys.stderr, flush=True)


def die(msg: str) -> None:
    log(msg)
    sys.exit(1)


def run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kw)


# --- mounts ------------------------------------------------------------------------------


def our_mounts() -> list[str]:
    """Mountpoints under MNT."""
    return [mp for mp, _ in mounts_under(MNT)]


def our_loops() -> list[str]:
    r = subprocess.run(["losetup", "-a"], capture_output=True, text=True)
    return [ln for ln in r.stdout.splitlines() if str(ARCH) in ln or str(DATA / "out") in ln]


def unmount(mp: str) -> None:
    fstype = dict(mounts_under(MNT)).get(mp)
    if fstype is None:
        return
    if fstype == "fuse.hexz":
        r = subprocess.run([HEXZ, "unmount", mp], capture_output=True, text=True)
    else:
        r = subprocess.run(["umount", mp], capture_output=True, text=True)
    if r.returncode != 0 or mp in our_mounts():
        log(f"unmount {mp} failed ({r.stderr.strip()}); detaching lazily")
        subprocess.run(["umount", "-l", mp], capture_output=True)
    # A FUSE daemon exits once its mount is gone; give it a moment so its CPU and memory
    # do not overlap the next measurement.
    for _ in range(100):
        if daemon_pid(mp) is None:
            break
        time.sleep(0.02)


def unmount_all() -> None:
    for mp in reversed(our_mounts()):
        unmount(mp)


def mount(tool: str, archive: Path, mp: Path) -> None:
    mp.mkdir(parents=True, exist_ok=True)
    if tool == "hexz":
        cmd = [HEXZ, "mount", "--daemon", *HEXZ_ARGS, str(archive), str(mp)]
    elif tool in ("squashfuse", "squashfuse_ll"):
        cmd = [tool, str(archive), str(mp)]
    elif tool == "kernel":
        cmd = ["mount", "-t", "squashfs", "-o", "loop,ro", str(archive), str(mp)]
    else:
        raise ValueError(tool)
    run(cmd, stdout=subprocess.DEVNULL)
    for _ in range(500):
        if str(mp) in our_mounts():
            return
        time.sleep(0.01)
    die(f"{tool}: {mp} did not appear in /proc/self/mountinfo")


# --- data and archives ---------------------------------------------------------------------


def ensure_data() -> None:
    if TREE.is_dir() and IMAGE.is_file() and (DATA / "tree.stamp").exists():
        return
    log(f"no tree/image in {DATA}: running benchmarks/pack_read.sh to make them (slow, once)")
    env = dict(os.environ, HEXZ=HEXZ, BENCH_RUNS="1", BENCH_SLOW_RUNS="1", BENCH_DIR=str(DATA))
    run([str(ROOT / "benchmarks" / "pack_read.sh")], env=env, stdout=subprocess.DEVNULL)


def sqfs_suffix() -> str:
    return f"-b{SQFS_BLOCK}" if SQFS_BLOCK else ""


def archive_specs() -> dict:
    """(codec, dataset, kind) -> (path, pack command, name of pack_read.sh's output or None)."""
    sq = ["-noappend", "-quiet", "-no-progress"] + (["-b", SQFS_BLOCK] if SQFS_BLOCK else [])
    specs = {}
    for codec in CODECS:
        zstd3 = ["--compression", "zstd", "--level", "3"]
        hz = ["--compression", "lz4"] if codec == "lz4" else zstd3
        sc = ["-comp", "lz4"] if codec == "lz4" else ["-comp", "zstd", "-Xcompression-level", "3"]
        pr = "lz4" if codec == "lz4" else "zstd3"
        for ds, src in (("tree", TREE), ("img", IMAGE)):
            raw = ["--raw"] if ds == "img" else []
            name = f"{ds}-{codec}.hxz"
            specs[(codec, ds, "hexz")] = (
                ARCH / name,
                [HEXZ, "pack", str(src), str(ARCH / name), *raw, *hz, "--quiet"],
                f"{ds}-raw-{pr}.hxz" if ds == "img" else f"{ds}-{pr}.hxz",
            )
            name = f"{ds}-{codec}{sqfs_suffix()}.sqfs"
            specs[(codec, ds, "sqfs")] = (
                ARCH / name,
                ["mksquashfs", str(src), str(ARCH / name), *sc, *sq],
                None if SQFS_BLOCK else f"{ds}-{pr}.sqfs",
            )
    return specs


def ensure_archives() -> dict:
    ARCH.mkdir(parents=True, exist_ok=True)
    data_time = max((DATA / "tree.stamp").stat().st_mtime, IMAGE.stat().st_mtime)
    specs = archive_specs()
    info = {}
    for key, (path, cmd, theirs) in specs.items():
        if not (path.exists() and path.stat().st_mtime >= data_time):
            path.unlink(missing_ok=True)
            src = DATA / "out" / theirs if theirs else None
            if src and src.exists() and src.stat().st_mtime >= data_time:
                os.link(src, path)  # survives pack_read.sh wiping its out/ directory
                log(f"using {src}")
            else:
                log("packing: " + shlex.join(cmd))
                run(cmd, stdout=subprocess.DEVNULL)
        info[key] = describe(path, key[2])
    return info


def describe(path: Path, kind: str) -> dict:
    d = {"path": str(path), "bytes": path.stat().st_size}
    if kind == "hexz":
        out = subprocess.run([HEXZ, "inspect", str(path)], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("block size"):
                d["block_size"] = line.split(None, 2)[2].strip()
            if line.startswith("codecs"):
                d["codec"] = line.split()[1]
    else:
        out = subprocess.run(["unsquashfs", "-s", str(path)], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Block size"):
                d["block_size"] = f"{int(line.split()[2]) / 1024:.1f} KiB"
            if line.startswith("Compression"):
                d["codec"] = line.split()[1]
            if "compression-level" in line:
                d["codec"] += f" level {line.split()[1]}"
    return d


# --- the tests -----------------------------------------------------------------------------


def image_file(tool: str, mp: Path) -> Path:
    return mp / ("disk" if tool == "hexz" else IMAGE.name)


def big_files() -> list[str]:
    files = []
    for dirpath, _, names in os.walk(TREE):
        for n in names:
            p = Path(dirpath) / n
            if p.is_file() and not p.is_symlink():
                files.append((p.stat().st_size, str(p.relative_to(TREE))))
    files.sort(key=lambda t: (-t[0], t[1]))
    return [p for _, p in files[:BIG_FILES]]


def timed(cmd, cwd=None, shell=False) -> tuple[float, str]:
    # Its own process group, so that an interrupt stops the whole pipeline before unmounting.
    t0 = time.perf_counter()
    p = subprocess.Popen(
        cmd,
        cwd=cwd,
        shell=shell,
        stdout=subprocess.PIPE,
        text=True,
        executable="/bin/bash" if shell else None,
        start_new_session=True,
    )
    try:
        out, _ = p.communicate()
    except BaseException:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        raise
    secs = time.perf_counter() - t0
    if p.returncode != 0:
        raise subprocess.CalledProcessError(p.returncode, cmd)
    return secs, out


def random_reads(path: Path, offsets: list[int]) -> dict:
    lat = []
    fd = os.open(path, os.O_RDONLY)
    try:
        clock = time.perf_counter_ns
        t0 = clock()
        for off in offsets:
            a = clock()
            if len(os.pread(fd, 4096, off)) != 4096:
                raise RuntimeError(f"short read at {off} in {path}")
            lat.append(clock() - a)
        total = (clock() - t0) / 1e9
    finally:
        os.close(fd)
    lat.sort()
    return {
        "seconds": total,
        "iops": len(offsets) / total,
        "p50_us": lat[len(lat) // 2] / 1e3,
        "p99_us": lat[min(len(lat) - 1, len(lat) * 99 // 100)] / 1e3,
    }


def measure(test: str, tool: str, mp: Path, files: list[str], offsets: list[int]) -> dict:
    pid = daemon_pid(str(mp))
    cpu0 = cpu_seconds(pid)
    if test == "seq-image":
        f = image_file(tool, mp)
        secs, _ = timed(f"cat {shlex.quote(str(f))} > /dev/null", shell=True)
        res = {"seconds": secs, "bytes": f.stat().st_size}
    elif test == "seq-files":
        args = " ".join(shlex.quote(str(mp / p)) for p in files)
        secs, _ = timed(f"cat {args} > /dev/null", shell=True)
        res = {"seconds": secs, "bytes": sum((mp / p).stat().st_size for p in files)}
    elif test == "tar":
        secs, out = timed("tar cf - . | wc -c", cwd=mp, shell=True)
        res = {"seconds": secs, "bytes": int(out.strip())}
    elif test == "random":
        res = random_reads(image_file(tool, mp), offsets)
        res["bytes"] = 4096 * len(offsets)
    else:
        raise ValueError(test)
    res["daemon_cpu_s"] = cpu_seconds(pid) - cpu0
    if "iops" not in res:
        res["mib_s"] = res["bytes"] / res["seconds"] / 2**20
    return res


# --- medians ------------------------------------------------------------------------------


def median_of(rows, key):
    vals = [r[key] for r in rows]
    return statistics.median(vals) if vals else float("nan")


def summarize(rows: list[dict]) -> dict:
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["codec"], r["test"], r["cond"], r["tool"]), []).append(r)
    out = {}
    for (codec, test, cond, tool), rs in groups.items():
        m = {
            "runs": len(rs),
            "seconds": median_of(rs, "seconds"),
            "daemon_cpu_s": median_of(rs, "daemon_cpu_s"),
            "bytes": rs[0]["bytes"],
        }
        if test == "random":
            m.update(
                iops=median_of(rs, "iops"),
                p50_us=median_of(rs, "p50_us"),
                p99_us=median_of(rs, "p99_us"),
            )
        else:
            m["mib_s"] = median_of(rs, "mib_s")
        out[f"{codec}|{test}|{cond}|{tool}"] = m
    return out


# --- main ----------------------------------------------------------------------------------


def versions() -> str:
    def first(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True)
            return (r.stdout or r.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            return "?"

    sqf = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", "squashfuse"], capture_output=True, text=True
    ).stdout
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return (
        f"{first([HEXZ, '--version'])} (commit {commit}); squashfuse {sqf} (Debian); "
        f"{first(['mksquashfs', '-version'])}; {first(['tar', '--version'])}; "
        f"Linux {os.uname().release}"
    )


def main() -> int:
    for name, vals, allowed in (
        ("FUSE_BENCH_TOOLS", TOOLS, ALL_TOOLS),
        ("FUSE_BENCH_TESTS", TESTS, ALL_TESTS),
        ("FUSE_BENCH_CONDS", CONDS, ALL_CONDS),
        ("FUSE_BENCH_CODECS", CODECS, ALL_CODECS),
    ):
        bad = [v for v in vals if v not in allowed]
        if bad:
            die(f"{name}: unknown {bad} (choose from {','.join(allowed)})")
    if os.geteuid() != 0:
        die("needs root (mount, drop_caches)")
    if "warm" in CONDS and "cold" not in CONDS:
        die("FUSE_BENCH_CONDS: warm is the second run after cold; keep cold in")
    if not os.access(HEXZ, os.X_OK):
        die(f"no hexz binary at {HEXZ} (run: make build)")
    run([str(ROOT / "scripts" / "ensure-apt.sh"), "squashfuse", "squashfs-tools"])
    for tool in ("squashfuse", "squashfuse_ll", "mksquashfs", "unsquashfs", "tar", "losetup"):
        if not shutil.which(tool):
            die(f"{tool} not found")

    def on_term(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    STATE.mkdir(parents=True, exist_ok=True)
    MNT.mkdir(parents=True, exist_ok=True)
    unmount_all()  # leftovers of an interrupted run
    try:
        return bench()
    finally:
        unmount_all()
        left, loops = our_mounts(), our_loops()
        if left or loops:
            log(f"left behind: mounts {left}, loop devices {loops}")
            sys.exit(1)
        log("all unmounted (checked /proc/self/mountinfo and losetup -a)")


def bench() -> int:
    started = datetime.datetime.now(datetime.UTC)
    ensure_data()
    info = ensure_archives()
    files = big_files()
    size = IMAGE.stat().st_size
    rng = random.Random(SEED)
    offsets = [rng.randrange(size // 4096) * 4096 for _ in range(RANDOM_N)]
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "versions": versions(),
        "big_files": files,
        "random_n": RANDOM_N,
        "seed": SEED,
        "sqfs_block": SQFS_BLOCK or "default",
        "hexz_args": HEXZ_ARGS,
    }
    log(f"{meta['machine']}; load {meta['load']}; {RUNS} rounds; largest files: {files}")
    tsv = STATE / "results.tsv"
    cols = [
        "run",
        "codec",
        "test",
        "cond",
        "tool",
        "seconds",
        "bytes",
        "mib_s",
        "iops",
        "p50_us",
        "p99_us",
        "daemon_cpu_s",
    ]
    rows: list[dict] = []
    tar_bytes: dict = {}
    with open(tsv, "w") as out:
        out.write("\t".join(cols) + "\n")
        for rnd in range(1, RUNS + 1):
            for test in [t for t in ALL_TESTS if t in TESTS]:
                ds = "tree" if test in ("seq-files", "tar") else "img"
                for codec in [c for c in ALL_CODECS if c in CODECS]:
                    for tool in [t for t in ALL_TOOLS if t in TOOLS]:
                        arch = Path(info[(codec, ds, "hexz" if tool == "hexz" else "sqfs")]["path"])
                        mp = MNT / f"{tool}-{ds}"
                        results = []
                        if "cold" in CONDS:
                            unmount_all()
                            drop_caches()
                            mount(tool, arch, mp)
                            results.append(("cold", measure(test, tool, mp, files, offsets)))
                            if "warm" in CONDS:
                                results.append(("warm", measure(test, tool, mp, files, offsets)))
                        if "archive-cached" in CONDS:
                            unmount_all()
                            drop_caches()
                            run(["cat", str(arch)], stdout=subprocess.DEVNULL)
                            mount(tool, arch, mp)
                            results.append(
                                ("archive-cached", measure(test, tool, mp, files, offsets))
                            )
                        unmount_all()
                        for cond, res in results:
                            row = {
                                "run": rnd,
                                "codec": codec,
                                "test": test,
                                "cond": cond,
                                "tool": tool,
                                **res,
                            }
                            rows.append(row)
                            out.write(runs.tsv_row(row, cols))
                            out.flush()
                            if test == "tar":
                                tar_bytes.setdefault(res["bytes"], set()).add(tool)
                            speed = (
                                f"{res['iops']:,.0f} IOPS p50 {res['p50_us']:.0f} µs"
                                if "iops" in res
                                else f"{res['mib_s']:,.0f} MiB/s"
                            )
                            log(
                                f"round {rnd} {test} {codec} {tool} {cond}: "
                                f"{res['seconds']:.3f} s, {speed}, daemon CPU "
                                f"{res['daemon_cpu_s']:.2f} s"
                            )
    if len(tar_bytes) > 1:
        log(f"note: tar output sizes differ between tools: {tar_bytes}")
    meta["tar_bytes"] = {str(k): sorted(v) for k, v in tar_bytes.items()}
    doc = {
        "config": {
            "runs": RUNS,
            "codecs": CODECS,
            "tools": TOOLS,
            "tests": TESTS,
            "conds": CONDS,
            "random_n": RANDOM_N,
            "seed": SEED,
            "hexz_args": HEXZ_ARGS,
        },
        "meta": meta,
        "archives": {"|".join(k): v for k, v in info.items()},
        "medians": summarize(rows),
        "rows": rows,
    }
    run_dir = runs.write_run("fuse", doc, runs.command_line("make bench-fuse", ENV_VARS), started)
    md = fuse_report.report(json.loads((run_dir / "results.json").read_text()))
    (STATE / "results.md").write_text(md)
    print(md)
    log(f"wrote {tsv}, {run_dir / 'results.json'}, {STATE / 'results.md'}")
    if "--record" in sys.argv[1:] or os.environ.get("FUSE_BENCH_RECORD") == "1":
        fuse_report.update_docs()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as e:
        log(f"interrupted ({e}); unmounted everything")
        sys.exit(130)
