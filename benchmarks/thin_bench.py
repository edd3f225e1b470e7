#!/usr/bin/env python3
"""Thin snapshots and CDC: what a second version of the same data costs, in bytes and time, as a
thin Hexz archive (``hexz pack --parent``, fixed blocks and ``--chunking cdc``) against restic,
borg, a qcow2 overlay on a backing file and ``zstd --patch-from``, on three real version series
side by side in one run (docs/benchmarks.md, "Thin snapshots and CDC").

Run by ``make bench-thin``. Python standard library only; the record series writes its Hexz
archives through ``hexz.Writer`` in the Python of ``VENV`` (``make develop``).

The series (built once into ``THIN_BENCH_DIR/data``, rebuilt only when missing or when their
definition changes):

- ``image``: a VM disk image and the same image after a package upgrade. Two file trees of real
  Debian packages (``apt-get download`` + ``dpkg -x``): v1 has every package of ``PACKAGES`` at
  the oldest version the configured archives offer, v2 the newest (the point release and the
  security updates), with ``ADDED`` installed and ``REMOVED`` gone (vim-tiny replaced by nano).
  Each tree becomes a raw ext4 image of the same size with ``mkfs.ext4 -d`` (fixed UUID, hash
  seed and time: the images differ only by what the upgrade changed and where mkfs put it).
- ``records``: a data set of ``THIN_BENCH_SAMPLES`` samples (seeded JSON-like records: words,
  tags and a base64 blob; about 1.6 KB each) and its v2: 5% new samples inserted at random
  positions, 2% removed, 1% changed. Hexz packs them as records (``Writer.add_records`` of
  views into the memory-mapped shard, the timed process splitting it; v2 with ``parent=``;
  with ``chunking="cdc"`` one sample per block, ``record_block=1``); the other
  tools get each version as one shard file (every sample prefixed with its length, uint32 LE),
  as WebDataset or MDS would store it.
- ``source``: two consecutive source releases of a real project as trees (the Django 5.0.1 and
  5.0.2 sdists from PyPI, ``pip download --no-binary :all:``, extracted).

The tools, per series (v1 first, then v2 on top of it):

- ``hexz fixed thin`` / ``hexz cdc thin``: ``hexz pack [--chunking cdc] --parent v1.hxz``
  (``--raw`` for the image; ``hexz.Writer(chunking=..., parent=...)`` for the records); and the
  same without ``--parent`` (``hexz fixed full`` / ``hexz cdc full``: the reference for "% of a
  full archive" and for the read-time ratio of thin against non-thin).
- ``restic``: one repository (``restic init``; version 2, compression auto), ``restic backup`` of
  v1 then of v2.
- ``borg``: ``borg init --encryption=none``, ``borg create`` (lz4, default chunker) of v1 then v2.
- ``qcow2 backing`` (image only): ``qemu-img convert -O qcow2 v1.img base.qcow2``; v2 is an
  overlay holding only the clusters that differ from base.qcow2: ``qemu-img create -f qcow2 -b
  v2.img -F raw v2.qcow2`` then ``qemu-img rebase -b base.qcow2 -F qcow2 v2.qcow2`` (the rebase
  compares every cluster; ``qemu-img convert -B`` would copy every allocated cluster of the raw
  image into the overlay).
- ``zstd --patch-from``: ``zstd --long=31 --patch-from=V1 V2`` (trees: ``tar`` of each version
  first, the v2 tar inside the timed command); v1 for reference is ``zstd --long=31 V1``.

Every tool reads its input from the same path (a hard-linked copy of v1, then of v2, under
``work/<series>/stage/data``), so restic and borg see v2 as the next backup of the same path;
the copy has new inodes, so they read every byte of v2, as hexz does.

Measured (``/usr/bin/time -f '%e %U %S %M'`` around each command; ``THIN_BENCH_RUNS`` rounds,
each tool once per round, medians; inputs in the page cache):

- bytes added by v2: the thin archive, the growth of the restic/borg repository (``du -sb``),
  the qcow2 overlay, the patch; and v1's size for reference.
- write v2: wall s, CPU s (user + sys), peak RSS. restic and borg start each round from a copy
  of their repository (and cache) as it was after v1.
- read v2 in full: ``hexz cat`` to /dev/null (image: the stream ``disk``; records: the logical
  stream, every record), ``hexz extract`` (tree); ``restic dump`` / ``borg extract --stdout`` to
  /dev/null (tree: ``restic restore`` / ``borg extract`` into a directory); ``qemu-img convert -O
  raw`` to a file; ``zstd -d --patch-from`` to /dev/null (tree: into ``tar -x``).
- random 4 KiB read of v2: ``hexz cat --offset O --length 4096`` (a new process each time, the
  parent opened too) and ``qemu-io -r -c 'read O 4k'`` at ``RANDOM_READS`` seeded offsets, median;
  restic, borg and zstd have no random access without a restore or a mount.

Output: ``benchmarks/runs/<YYYY-MM-DD-HHMM>-thin/results.json`` (runs.write_run: every timed
repetition with its command and the 1-minute load average before it, the sizes, the derived
ratios, the goals met or missed, versions, machine) and a markdown table on stdout;
``benchmarks/thin_report.py`` renders the newest run.

Environment:
    HEXZ                hexz binary (default $CARGO_TARGET_DIR/release/hexz)
    VENV                Python venv with hexz (default ~/.cache/hexz/venv)
    THIN_BENCH_RUNS     rounds of every timed command (default 3)
    THIN_BENCH_QUICK    1 = a small variant to try the script: 20,000 samples, 12 packages
    THIN_BENCH_SAMPLES  samples of the record series (default 200000; quick: 20000)
    THIN_BENCH_SERIES   comma-separated subset of image,records,source (default all)
    THIN_BENCH_DIR      data and outputs (default ~/.cache/hexz/bench/thin)
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import math
import os
import random
import shlex
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import runs
from machine import first_line

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("HEXZ_CACHE", Path.home() / ".cache" / "hexz"))
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", CACHE / "target"))
HEXZ = os.environ.get("HEXZ", str(TARGET / "release" / "hexz"))
VENV = Path(os.environ.get("VENV", CACHE / "venv"))
QUICK = os.environ.get("THIN_BENCH_QUICK", "0") == "1"
RUNS = int(os.environ.get("THIN_BENCH_RUNS", "3"))
SAMPLES = int(os.environ.get("THIN_BENCH_SAMPLES", "20000" if QUICK else "200000"))
ALL_SERIES = ["image", "records", "source"]
SERIES = os.environ.get("THIN_BENCH_SERIES", ",".join(ALL_SERIES)).split(",")
BASE = Path(os.environ.get("THIN_BENCH_DIR", CACHE / "bench" / "thin"))
DATA = BASE / ("data-quick" if QUICK else "data")
WORK = BASE / "work"
ENV_VARS = [
    "HEXZ",
    "THIN_BENCH_RUNS",
    "THIN_BENCH_QUICK",
    "THIN_BENCH_SAMPLES",
    "THIN_BENCH_SERIES",
]
RANDOM_READS = 5
TIME_FMT = "%e %U %S %M"
MIB = 2**20

# --- the series' definitions ---------------------------------------------------------------

#: v1 of the image: these packages at their oldest version in the configured archives, v2 at
#: their newest (those with one version are the same in both).
PACKAGES = """
    apt bash ca-certificates coreutils curl dpkg e2fsprogs findutils grep gzip iproute2
    libapt-pkg6.0 libc-bin libc6 libcurl4 libexpat1 libglib2.0-0 liblzma5 libnss3
    libpam-modules libpam0g libperl5.36 libpython3.11 libpython3.11-minimal
    libpython3.11-stdlib libsqlite3-0 libssl3 libsystemd0 libudev1 libxml2 libzstd1
    openssh-client openssh-server openssl perl perl-base perl-modules-5.36 procps python3.11
    python3.11-minimal rsync sed sudo systemd tar tzdata udev util-linux vim-tiny xz-utils
    zlib1g
""".split()
QUICK_PACKAGES = """
    bash coreutils libc6 libpython3.11-stdlib libssl3 openssl python3.11-minimal rsync tar
    tzdata util-linux vim-tiny
""".split()
#: v2 installs these besides the upgrades, and drops REMOVED (vim-tiny replaced by nano).
ADDED = ["file", "less", "libmagic-mgc", "libmagic1", "nano", "wget"]
REMOVED = ["rsync", "vim-tiny"]
IMAGE_FACTOR = 1.3
MKFS_UUID = "5e3c6f3a-9d7b-4a61-8c1e-2b4f0d6a7e91"
MKFS_TIME = "1767225600"  # 2026-01-01, E2FSPROGS_FAKE_TIME: the images' own timestamps

SAMPLE_SEED = 16
INSERTED, REMOVED_SHARE, CHANGED = 0.05, 0.02, 0.01

SOURCE_PROJECT = "django"
SOURCE_VERSIONS = ("5.0.1", "5.0.2")


def log(msg: str) -> None:
    print(f"thin-bench: {msg}", file=sys.stderr, flush=True)


def die(msg: str) -> None:
    log(msg)
    sys.exit(1)


def sh(cmd, **kw) -> subprocess.CompletedProcess:
    """Runs an untimed step (a list, or a string for bash); raises with its stderr on failure."""
    argv = ["bash", "-c", cmd] if isinstance(cmd, str) else [str(c) for c in cmd]
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd!r} failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
    return r


def tree_bytes(path: Path) -> tuple[int, int]:
    """(bytes of regular files, number of entries) under ``path``."""
    total = count = 0
    for dirpath, dirnames, filenames in os.walk(path):
        count += len(dirnames) + len(filenames)
        for f in filenames:
            st = os.lstat(os.path.join(dirpath, f))
            if not os.path.islink(os.path.join(dirpath, f)):
                total += st.st_size
    return total, count


def du(path: Path) -> int:
    return int(sh(["du", "-sb", path]).stdout.split()[0])


def size_of(path: Path) -> int:
    return du(path) if path.is_dir() else path.stat().st_size


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(8 << 20):
            h.update(b)
    return h.hexdigest()


def page_in(path: Path) -> None:
    """Reads ``path`` (a file or a tree) so that it is in the page cache."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    for p in files:
        if p.is_symlink():
            continue
        with open(p, "rb") as f:
            while f.read(8 << 20):
                pass


def stamped(d: Path, key: dict) -> bool:
    """Whether ``d`` holds a finished build of ``key`` (its ``series.json`` says so)."""
    p = d / "series.json"
    if not p.exists():
        return False
    try:
        return json.loads(p.read_text()).get("key") == key
    except ValueError:
        return False


def finish(d: Path, key: dict, desc: dict) -> dict:
    (d / "series.json").write_text(json.dumps({"key": key, **desc}, indent=1) + "\n")
    return desc


def load_desc(d: Path) -> dict:
    doc = json.loads((d / "series.json").read_text())
    doc.pop("key")
    return doc


# --- series (a): the VM image ----------------------------------------------------------------


def versions_of(pkg: str) -> list[str]:
    """The versions of ``pkg`` the configured archives offer, oldest first."""
    out = sh(["apt-cache", "madison", pkg]).stdout
    vs = sorted({line.split("|")[1].strip() for line in out.splitlines() if "|" in line})
    if not vs:
        raise RuntimeError(f"no versions of {pkg} (apt-get update?)")

    # dpkg's order (insertion sort: a handful of versions)
    ordered: list[str] = []
    for v in vs:
        i = 0
        while (
            i < len(ordered)
            and subprocess.run(
                ["dpkg", "--compare-versions", v, "gt", ordered[i]], check=False
            ).returncode
            == 0
        ):
            i += 1
        ordered.insert(i, v)
    return ordered


def download(pkg: str, version: str, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    tag = f"{pkg}={version}"
    for p in into.glob(f"{pkg}_*.deb"):
        info = sh(["dpkg-deb", "-f", p, "Package", "Version"]).stdout.split("\n")
        if info[0].split(": ", 1)[1] == pkg and info[1].split(": ", 1)[1] == version:
            return p
    before = set(into.glob("*.deb"))
    sh(["apt-get", "download", "-q", tag], cwd=into)
    (new,) = set(into.glob("*.deb")) - before
    return new


def build_image(d: Path) -> dict:
    packages = QUICK_PACKAGES if QUICK else PACKAGES
    key = {
        "packages": packages,
        "added": ADDED,
        "removed": REMOVED,
        "factor": IMAGE_FACTOR,
        "uuid": MKFS_UUID,
        "time": MKFS_TIME,
    }
    if stamped(d, key):
        return load_desc(d)
    log(f"image series: downloading {len(packages) + len(ADDED)} Debian packages into {d}")
    if d.exists():
        shutil.rmtree(d)
    debs = d / "debs"
    chosen = {"v1": {}, "v2": {}}
    for pkg in sorted(set(packages) | set(ADDED)):
        vs = versions_of(pkg)
        if pkg in packages:
            chosen["v1"][pkg] = vs[0]
        if (pkg in packages and pkg not in REMOVED) or pkg in ADDED:
            chosen["v2"][pkg] = vs[-1]
    trees = {}
    for ver, pkgs in chosen.items():
        tree = d / f"{ver}.tree"
        tree.mkdir(parents=True)
        for pkg, version in sorted(pkgs.items()):
            deb = download(pkg, version, debs)
            sh(["dpkg-deb", "-x", deb, tree])
        trees[ver] = tree_bytes(tree)
        log(
            f"{ver}: {len(pkgs)} packages, {trees[ver][0] / MIB:.0f} MiB in {trees[ver][1]} entries"
        )
    biggest = max(b for b, _ in trees.values())
    mib = math.ceil(biggest * IMAGE_FACTOR / MIB / 16) * 16
    inodes = max(n for _, n in trees.values()) * 5 // 4 + 1024
    env = dict(os.environ, E2FSPROGS_FAKE_TIME=MKFS_TIME)
    for ver in chosen:
        img = d / f"{ver}.img"
        sh(
            [
                "mkfs.ext4",
                "-q",
                "-F",
                "-N",
                str(inodes),
                "-U",
                MKFS_UUID,
                "-E",
                f"hash_seed={MKFS_UUID},root_owner=0:0",
                "-d",
                d / f"{ver}.tree",
                img,
                f"{mib}M",
            ],
            env=env,
        )
    upgraded = sorted(
        p for p in chosen["v1"] if chosen["v2"].get(p, chosen["v1"][p]) != chosen["v1"][p]
    )
    same = sorted(p for p in chosen["v1"] if chosen["v2"].get(p) == chosen["v1"][p])
    desc = {
        "description": (
            f"raw ext4 images ({mib} MiB each, mkfs.ext4 -d) of two trees of Debian bookworm "
            f"packages (apt-get download + dpkg -x): v1 {len(chosen['v1'])} packages at their "
            f"oldest available version; v2 {len(upgraded)} of them upgraded to the newest "
            f"(point release and security updates), {len(same)} unchanged, "
            f"{', '.join(sorted(set(ADDED) - set(REMOVED)))} added, {', '.join(REMOVED)} removed "
            "(vim-tiny replaced by nano)"
        ),
        "v1_bytes": (d / "v1.img").stat().st_size,
        "v2_bytes": (d / "v2.img").stat().st_size,
        "image_mib": mib,
        "tree_bytes": {v: trees[v][0] for v in trees},
        "tree_entries": {v: trees[v][1] for v in trees},
        "packages": chosen,
        "upgraded": {p: [chosen["v1"][p], chosen["v2"][p]] for p in upgraded},
        "unchanged": same,
        "added": sorted(set(ADDED) - set(REMOVED)),
        "removed": REMOVED,
        "v1_sha256": sha256_file(d / "v1.img"),
        "v2_sha256": sha256_file(d / "v2.img"),
        "mkfs": f"E2FSPROGS_FAKE_TIME={MKFS_TIME} mkfs.ext4 -q -F -N {inodes} -U {MKFS_UUID} "
        f"-E hash_seed={MKFS_UUID},root_owner=0:0 -d vN.tree vN.img {mib}M",
    }
    for ver in chosen:
        shutil.rmtree(d / f"{ver}.tree")  # the images are what is measured
    return finish(d, key, desc)


# --- series (b): the records -----------------------------------------------------------------


class Samples:
    """Seeded JSON-like samples: Zipf-distributed words (a 5,000-word vocabulary), a few tags
    and fields, and a base64 blob of random bytes (about a quarter of each sample)."""

    def __init__(self, seed: int):
        vocab_rng = random.Random(seed)
        letters = "abcdefghijklmnopqrstuvwxyz"
        self.words = [
            "".join(vocab_rng.choices(letters, k=vocab_rng.randint(2, 11))) for _ in range(5000)
        ]
        weights = [1 / (r + 1) for r in range(len(self.words))]
        acc, self.cum = 0.0, []
        for w in weights:
            acc += w
            self.cum.append(acc)
        self.tags = [f"tag-{w}" for w in self.words[:300]]
        self.langs = ["en", "de", "fr", "es", "it", "pt", "nl", "sv", "pl", "ja"]

    def make(self, rng: random.Random, ident: int) -> bytes:
        text = " ".join(rng.choices(self.words, cum_weights=self.cum, k=rng.randint(40, 240)))
        doc = {
            "id": ident,
            "user": f"user{rng.randrange(50000):05d}",
            "ts": 1700000000 + rng.randrange(10**8),
            "lang": rng.choice(self.langs),
            "score": round(rng.random(), 4),
            "tags": rng.sample(self.tags, rng.randint(1, 6)),
            "text": text,
            "blob": base64.b64encode(rng.randbytes(rng.randint(64, 512))).decode(),
        }
        return json.dumps(doc, separators=(",", ":")).encode()


def write_shard(path: Path, samples: list[bytes]) -> tuple[int, str]:
    """Every sample prefixed by its length (uint32 LE); returns (bytes of samples, sha256 of
    their concatenation: what ``hexz cat`` of the archive writes)."""
    h = hashlib.sha256()
    n = 0
    with open(path, "wb") as f:
        for s in samples:
            f.write(struct.pack("<I", len(s)))
            f.write(s)
            h.update(s)
            n += len(s)
    return n, h.hexdigest()


def build_records(d: Path) -> dict:
    key = {
        "samples": SAMPLES,
        "seed": SAMPLE_SEED,
        "edits": [INSERTED, REMOVED_SHARE, CHANGED],
        "generator": 1,
    }
    if stamped(d, key):
        return load_desc(d)
    log(f"records series: generating {SAMPLES} samples and v2 in {d}")
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    gen = Samples(SAMPLE_SEED)
    rng = random.Random(SAMPLE_SEED + 1)
    v1 = [gen.make(rng, i) for i in range(SAMPLES)]
    edit = random.Random(SAMPLE_SEED + 2)
    n_rm, n_ch, n_in = (round(SAMPLES * x) for x in (REMOVED_SHARE, CHANGED, INSERTED))
    picked = edit.sample(range(SAMPLES), n_rm + n_ch)
    removed, changed = set(picked[:n_rm]), set(picked[n_rm:])
    kept = [gen.make(edit, i) if i in changed else s for i, s in enumerate(v1) if i not in removed]
    slots = sorted(edit.randrange(len(kept) + 1) for _ in range(n_in))
    v2: list[bytes] = []
    j = 0
    for pos in range(len(kept) + 1):
        while j < len(slots) and slots[j] == pos:
            v2.append(gen.make(edit, SAMPLES + j))
            j += 1
        if pos < len(kept):
            v2.append(kept[pos])
    b1, h1 = write_shard(d / "v1.shard", v1)
    b2, h2 = write_shard(d / "v2.shard", v2)
    desc = {
        "description": (
            f"{SAMPLES:,} seeded JSON-like samples (Zipf words, tags, a base64 blob; "
            f"mean {b1 / SAMPLES:.0f} B); v2: {n_in:,} inserted at random positions, "
            f"{n_rm:,} removed, {n_ch:,} changed (regenerated), {len(v2):,} samples"
        ),
        "samples": {"v1": len(v1), "v2": len(v2)},
        "inserted": n_in,
        "removed": n_rm,
        "changed": n_ch,
        "record_bytes": {"v1": b1, "v2": b2},
        "v1_bytes": (d / "v1.shard").stat().st_size,
        "v2_bytes": (d / "v2.shard").stat().st_size,
        "records_sha256": {"v1": h1, "v2": h2},
        "shard": "each sample prefixed with its length (uint32 LE), concatenated",
    }
    return finish(d, key, desc)


# --- series (c): the source releases ----------------------------------------------------------


def build_source(d: Path) -> dict:
    key = {"project": SOURCE_PROJECT, "versions": list(SOURCE_VERSIONS)}
    if stamped(d, key):
        return load_desc(d)
    log(f"source series: {SOURCE_PROJECT} {' and '.join(SOURCE_VERSIONS)} sdists into {d}")
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    sdists = {}
    for ver, version in zip(("v1", "v2"), SOURCE_VERSIONS, strict=True):
        dl = d / f"{ver}.dl"
        sh(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--no-binary",
                ":all:",
                f"{SOURCE_PROJECT}=={version}",
                "-d",
                dl,
            ]
        )
        (sdist,) = list(dl.glob("*.tar.gz"))
        tree = d / ver
        tree.mkdir()
        sh(["tar", "-xzf", sdist, "-C", tree, "--strip-components=1"])
        sdists[ver] = {"file": sdist.name, "bytes": sdist.stat().st_size}
    t1, t2 = tree_bytes(d / "v1"), tree_bytes(d / "v2")
    desc = {
        "description": (
            f"{SOURCE_PROJECT} {SOURCE_VERSIONS[0]} and {SOURCE_VERSIONS[1]} source releases "
            f"(sdists from PyPI, extracted): {t1[1]:,} and {t2[1]:,} entries"
        ),
        "v1_bytes": t1[0],
        "v2_bytes": t2[0],
        "entries": {"v1": t1[1], "v2": t2[1]},
        "sdists": sdists,
    }
    return finish(d, key, desc)


BUILDERS = {"image": build_image, "records": build_records, "source": build_source}


# --- measuring ---------------------------------------------------------------------------------

WRITER_PY = r"""
import mmap, struct, sys, time, hexz
src, out, chunking, parent = sys.argv[1:5]
# Mapped, not read into memory: the samples are views of the page cache, as the other tools
# stream the file rather than copy it whole first.
with open(src, "rb") as f:
    data = memoryview(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ))
samples, off = [], 0
while off < len(data):
    (n,) = struct.unpack_from("<I", data, off)
    samples.append(data[off + 4 : off + 4 + n])  # no copy
    off += 4 + n
t0 = time.perf_counter()
# With content-defined chunking, one sample per block (record_block=1): an edit then dirties
# that sample's block only (the full archive is ~9% larger than with the default 4 KiB blocks).
record_block = 1 if chunking == "cdc" else 4096
with hexz.Writer(out, chunking=chunking, parent=parent or None, record_block=record_block) as w:
    w.add_records(samples, "samples")
print(time.perf_counter() - t0)
"""


def timed(cmd, cwd: Path, env: dict | None = None, stdout=None) -> dict:
    """Runs ``cmd`` (argv list, or a bash string) under ``/usr/bin/time``: wall seconds (timed
    here around /usr/bin/time, whose own ``%e`` has 10 ms steps: kept as ``time_e_s``), CPU
    seconds (user + sys) and peak RSS from ``%U %S %M``, the 1-minute load average just before."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        argv = ["bash", "-c", cmd] if isinstance(cmd, str) else [str(c) for c in cmd]
        load1 = os.getloadavg()[0]
        t0 = time.perf_counter()
        r = subprocess.run(
            ["/usr/bin/time", "-f", TIME_FMT, "-o", tf.name, *argv],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE if stdout == "pipe" else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        secs = time.perf_counter() - t0
        if r.returncode != 0:
            raise RuntimeError(f"{cmd!r} failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
        wall, user, sys_s, rss = tf.read().strip().splitlines()[-1].split()
    res = {
        "wall_s": secs,
        "time_e_s": float(wall),
        "cpu_s": float(user) + float(sys_s),
        "user_s": float(user),
        "sys_s": float(sys_s),
        "rss_kb": int(rss),
        "load1": load1,
    }
    if stdout == "pipe":
        res["stdout"] = r.stdout
    return res


def summary(reps: list[dict]) -> dict:
    walls = [r["wall_s"] for r in reps]
    return {
        "median_s": statistics.median(walls),
        "min_s": min(walls),
        "max_s": max(walls),
        "cpu_s": statistics.median(r["cpu_s"] for r in reps),
        "rss_kb": max(r["rss_kb"] for r in reps),
        "runs": len(reps),
        "reps": reps,
    }


def cmd_text(cmd) -> str:
    if isinstance(cmd, str):
        return cmd
    return " ".join(shlex.quote(str(c)) for c in cmd)


class Tool:
    """One tool on one series: how v1 is made, how v2 is written and read, and sizes."""

    name = ""

    def __init__(self, series: str, w: Path, desc: dict):
        self.series, self.w, self.desc = series, w, desc
        self.dir = w / self.slug()
        self.stage = w / "stage"
        self.data = self.stage / "data"
        self.out = w / "read-out"
        self.commands: dict[str, str] = {}
        self.v1_bytes: int | None = None
        self.v1_time: dict | None = None

    def slug(self) -> str:
        return self.name.replace(" ", "-").replace("--", "")

    # every tool overrides these
    def make_v1(self) -> None: ...
    def before_write(self) -> None: ...
    def write_v2(self): ...
    def added(self) -> int: ...
    def read_v2(self): ...
    def after_read(self) -> None:
        if self.out.exists():
            shutil.rmtree(self.out)
        self.out.mkdir()

    def random_read(self, offset: int):
        return None

    def env(self) -> dict | None:
        return None

    def note(self, what: str, cmd) -> None:
        self.commands[what] = cmd_text(cmd)


class Hexz(Tool):
    def __init__(self, series, w, desc, chunking: str, thin: bool):
        self.chunking, self.thin = chunking, thin
        self.name = f"hexz {chunking} {'thin' if thin else 'full'}"
        super().__init__(series, w, desc)
        self.dir = w / "hexz"
        self.v1 = self.dir / f"v1-{chunking}.hxz"
        self.v2 = self.dir / f"v2-{chunking}-{'thin' if thin else 'full'}.hxz"

    def pack(self, out: Path, parent: Path | None):
        if self.series == "records":
            shard = self.data
            return [
                VENV / "bin" / "python",
                "-c",
                WRITER_PY,
                shard,
                out.name,
                self.chunking,
                parent.name if parent else "",
            ]
        extra = ["--raw"] if self.series == "image" else []
        chunk = ["--chunking", "cdc"] if self.chunking == "cdc" else []
        par = ["--parent", parent.name] if parent else []
        return [HEXZ, "pack", "-q", *extra, *chunk, *par, self.data, out.name]

    def make_v1(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        cmd = self.pack(self.v1, None)
        self.note("write v1", cmd)
        if not self.v1.exists():  # both hexz rows of a chunking share v1
            self.v1_time = timed(cmd, cwd=self.dir)
        self.v1_bytes = self.v1.stat().st_size

    def write_v2(self):
        return self.pack(self.v2, self.v1 if self.thin else None)

    def added(self) -> int:
        return self.v2.stat().st_size

    def read_v2(self):
        if self.series == "source":
            return [HEXZ, "extract", "-q", self.v2, self.out]
        entry = ["disk"] if self.series == "image" else []
        return [HEXZ, "cat", "-q", self.v2, *entry]

    def random_read(self, offset: int):
        entry = ["disk"] if self.series == "image" else []
        return [
            HEXZ,
            "cat",
            "-q",
            "--offset",
            str(offset),
            "--length",
            "4096",
            self.v2,
            *entry,
        ]


class Restic(Tool):
    name = "restic"

    def env(self) -> dict:
        return dict(os.environ, RESTIC_PASSWORD="thin-bench, not a secret")

    def base(self) -> list:
        return ["restic", "-q", "-r", self.dir / "repo", "--cache-dir", self.dir / "cache"]

    def make_v1(self) -> None:
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        sh([*self.base(), "init"], env=self.env())
        cmd = [*self.base(), "backup", "--host", "bench", self.data]
        self.note("init", [*self.base(), "init"])
        self.note("write v1", cmd)
        self.v1_time = timed(cmd, cwd=self.stage, env=self.env())
        for d in ("repo", "cache"):
            sh(["cp", "-a", self.dir / d, self.dir / f"{d}-v1"])
        self.v1_bytes = du(self.dir / "repo-v1")

    def before_write(self) -> None:
        for d in ("repo", "cache"):
            shutil.rmtree(self.dir / d)
            sh(["cp", "-a", self.dir / f"{d}-v1", self.dir / d])

    def write_v2(self):
        return [*self.base(), "backup", "--host", "bench", self.data]

    def added(self) -> int:
        return du(self.dir / "repo") - du(self.dir / "repo-v1")

    def read_v2(self):
        if self.series == "source":
            return [*self.base(), "restore", "latest", "--target", self.out]
        return [*self.base(), "dump", "latest", self.data]


class Borg(Tool):
    name = "borg"

    def env(self) -> dict:
        return dict(
            os.environ,
            BORG_BASE_DIR=str(self.dir / "base"),
            BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK="yes",
            BORG_RELOCATED_REPO_ACCESS_IS_OK="yes",
        )

    def make_v1(self) -> None:
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        init = ["borg", "init", "--encryption=none", self.dir / "repo"]
        sh(init, env=self.env())
        cmd = ["borg", "create", "--compression", "lz4", f"{self.dir / 'repo'}::v1", "data"]
        self.note("init", init)
        self.note("write v1", cmd)
        self.v1_time = timed(cmd, cwd=self.stage, env=self.env())
        for d in ("repo", "base"):
            sh(["cp", "-a", self.dir / d, self.dir / f"{d}-v1"])
        self.v1_bytes = du(self.dir / "repo-v1")

    def before_write(self) -> None:
        for d in ("repo", "base"):
            shutil.rmtree(self.dir / d)
            sh(["cp", "-a", self.dir / f"{d}-v1", self.dir / d])

    def write_v2(self):
        return ["borg", "create", "--compression", "lz4", f"{self.dir / 'repo'}::v2", "data"]

    def added(self) -> int:
        return du(self.dir / "repo") - du(self.dir / "repo-v1")

    def read_v2(self):
        if self.series == "source":
            return ["borg", "extract", f"{self.dir / 'repo'}::v2"]
        return ["borg", "extract", "--stdout", f"{self.dir / 'repo'}::v2", "data"]

    def read_cwd(self) -> Path:
        return self.out


class Qcow2(Tool):
    name = "qcow2 backing"

    def make_v1(self) -> None:
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        cmd = ["qemu-img", "convert", "-O", "qcow2", self.desc["_v1"], "base.qcow2"]
        self.note("write v1", cmd)
        self.v1_time = timed(cmd, cwd=self.dir)
        self.v1_bytes = (self.dir / "base.qcow2").stat().st_size

    def before_write(self) -> None:
        (self.dir / "v2.qcow2").unlink(missing_ok=True)

    def write_v2(self):
        return (
            f"qemu-img create -q -f qcow2 -b {self.desc['_v2']} -F raw v2.qcow2"
            " && qemu-img rebase -b base.qcow2 -F qcow2 v2.qcow2"
        )

    def added(self) -> int:
        return (self.dir / "v2.qcow2").stat().st_size

    def read_v2(self):
        return ["qemu-img", "convert", "-O", "raw", "v2.qcow2", self.out / "v2.raw"]

    def random_read(self, offset: int):
        return ["qemu-io", "-r", "-f", "qcow2", "-c", f"read {offset} 4k", "v2.qcow2"]


class Zstd(Tool):
    name = "zstd --patch-from"

    def tree(self) -> bool:
        return self.series == "source"

    def make_v1(self) -> None:
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        if self.tree():
            tar = f"tar -C {self.stage} --sort=name -cf v1.tar data"
            cmd = f"{tar} && zstd -q -f --long=31 v1.tar -o v1.zst"
            self.ref = "v1.tar"
        else:
            cmd = f"zstd -q -f --long=31 {self.desc['_v1']} -o v1.zst"
            self.ref = str(self.desc["_v1"])
        self.note("write v1", cmd)
        self.v1_time = timed(cmd, cwd=self.dir)
        self.v1_bytes = (self.dir / "v1.zst").stat().st_size

    def write_v2(self):
        patch = f"zstd -q -f --long=31 --patch-from={self.ref}"
        if self.tree():
            return f"tar -C {self.stage} --sort=name -cf v2.tar data && {patch} v2.tar -o v2.patch"
        return f"{patch} {self.desc['_v2']} -o v2.patch"

    def added(self) -> int:
        return (self.dir / "v2.patch").stat().st_size

    def read_v2(self):
        dec = f"zstd -q -d -c --long=31 --patch-from={self.ref} v2.patch"
        if self.tree():
            return f"{dec} | tar -x -C {self.out}"
        return dec


def tools_for(series: str, w: Path, desc: dict) -> list[Tool]:
    out: list[Tool] = [
        Hexz(series, w, desc, "fixed", True),
        Hexz(series, w, desc, "cdc", True),
        Hexz(series, w, desc, "fixed", False),
        Hexz(series, w, desc, "cdc", False),
        Restic(series, w, desc),
        Borg(series, w, desc),
    ]
    if series == "image":
        out.append(Qcow2(series, w, desc))
    out.append(Zstd(series, w, desc))
    return out


def stage(t: Tool, src: Path) -> None:
    """``stage/data``: a fresh hard-linked copy of ``src`` (new inodes for a tree's files)."""
    if t.data.is_dir() and not t.data.is_symlink():
        shutil.rmtree(t.data)
    elif t.data.exists():
        t.data.unlink()
    t.stage.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        sh(["cp", "-a", src, t.data])  # a real copy: hard links would share inodes with v1's
    else:
        os.link(src, t.data)


def logical_size(archive: Path, cwd: Path) -> int:
    return json.loads(sh([HEXZ, "inspect", "--json", archive], cwd=cwd).stdout)["logical_size"]


def check_hexz(series: str, t: Hexz, desc: dict) -> str:
    """Reads the thin v2 back and compares it with v2."""
    if series == "image":
        r = subprocess.run(
            f"{HEXZ} cat -q {t.v2} disk | sha256sum", shell=True, capture_output=True, text=True
        )
        ok = r.stdout.split()[0] == desc["v2_sha256"]
    elif series == "records":
        r = subprocess.run(
            f"{HEXZ} cat -q {t.v2} | sha256sum", shell=True, capture_output=True, text=True
        )
        ok = r.stdout.split()[0] == desc["records_sha256"]["v2"]
    else:
        t.after_read()
        sh([HEXZ, "extract", "-q", t.v2, t.out])
        ok = subprocess.run(["diff", "-r", "--no-dereference", desc["_v2"], t.out]).returncode == 0
        t.after_read()
    return "identical to v2" if ok else "DIFFERS from v2"


def run_series(series: str, desc: dict) -> dict:
    w = WORK / series
    if w.exists():
        shutil.rmtree(w)
    w.mkdir(parents=True)
    d = DATA / series
    if series == "image":
        desc["_v1"], desc["_v2"] = d / "v1.img", d / "v2.img"
    elif series == "records":
        desc["_v1"], desc["_v2"] = d / "v1.shard", d / "v2.shard"
    else:
        desc["_v1"], desc["_v2"] = d / "v1", d / "v2"
    tools = tools_for(series, w, desc)
    res: dict = {}
    # v1 for every tool
    stage(tools[0], desc["_v1"])
    page_in(tools[0].data)
    for t in tools:
        log(f"{series}: {t.name}: v1")
        t.make_v1()
        t.out.mkdir(exist_ok=True)
    # v2, written RUNS times, the tools taking turns
    stage(tools[0], desc["_v2"])
    writes: dict[str, list] = {t.name: [] for t in tools}
    for rnd in range(RUNS):
        for t in tools:
            t.before_write()
            page_in(t.data)
            cmd = t.write_v2()
            t.note("write v2", cmd)
            cwd = t.stage if isinstance(t, Restic | Borg) else t.dir
            m = timed(cmd, cwd=cwd, env=t.env(), stdout="pipe")
            out = m.pop("stdout", "").strip()
            if isinstance(t, Hexz) and series == "records" and out:
                m["writer_s"] = float(out.splitlines()[-1])
            m["cmd"] = cmd_text(cmd)
            writes[t.name].append(m)
            log(f"{series} round {rnd + 1}: {t.name} write v2 {m['wall_s']:.2f} s")
    checks = {}
    for t in tools:
        if isinstance(t, Hexz):
            checks[t.name] = check_hexz(series, t, desc)
            log(f"{series}: {t.name} v2 read back: {checks[t.name]}")
    # full reads
    reads: dict[str, list] = {t.name: [] for t in tools}
    for rnd in range(RUNS):
        for t in tools:
            t.after_read()
            cmd = t.read_v2()
            t.note("read v2", cmd)
            cwd = t.out if isinstance(t, Borg) and series == "source" else t.dir
            m = timed(cmd, cwd=cwd, env=t.env())
            m["cmd"] = cmd_text(cmd)
            reads[t.name].append(m)
            log(f"{series} round {rnd + 1}: {t.name} read v2 {m['wall_s']:.2f} s")
        for t in tools:
            t.after_read()
    # random 4 KiB reads
    hexz_tools = [t for t in tools if isinstance(t, Hexz)]
    size = logical_size(hexz_tools[0].v2, w / "hexz")
    rng = random.Random(f"{series}-offsets")
    offsets = [rng.randrange(0, max(1, size - 4096)) // 4096 * 4096 for _ in range(RANDOM_READS)]
    randoms: dict[str, list] = {}
    for t in tools:
        if t.random_read(0) is None:
            continue
        reps = []
        for _ in range(RUNS):
            for off in offsets:
                cmd = t.random_read(off)
                m = timed(cmd, cwd=t.dir, env=t.env())
                m["cmd"] = cmd_text(cmd)
                m["offset"] = off
                reps.append(m)
        t.note("random 4 KiB read", t.random_read(offsets[0]))
        randoms[t.name] = reps
    for t in tools:
        entry = {
            "v1_bytes": t.v1_bytes,
            "v1_write": t.v1_time,
            "added_bytes": t.added(),
            "write": summary(writes[t.name]),
            "read": summary(reads[t.name]),
            "random_4k": summary(randoms[t.name]) if t.name in randoms else None,
            "commands": t.commands,
        }
        if isinstance(t, Hexz):
            entry["check"] = checks[t.name]
            ins = json.loads(sh([HEXZ, "inspect", "--json", t.v2], cwd=t.dir).stdout)
            entry["inspect"] = {
                k: ins.get(k)
                for k in (
                    "file_size",
                    "logical_size",
                    "blocks",
                    "stored_blocks",
                    "stored_data_bytes",
                    "parent_blocks",
                    "parent_bytes",
                    "dedup_blocks",
                    "zero_blocks",
                    "chain",
                )
                if k in ins
            }
            if "writer_s" in writes[t.name][0]:
                entry["writer_s_median"] = statistics.median(m["writer_s"] for m in writes[t.name])
        res[t.name] = entry
    out = {k: v for k, v in desc.items() if not k.startswith("_")}
    out["random_offsets"] = offsets
    out["logical_size"] = size
    out["tools"] = res
    out["derived"] = derive(res)
    shutil.rmtree(w / "stage")
    return out


def cpu_snapshot() -> tuple[list[int], float]:
    """Busy jiffies of the whole machine (/proc/stat) and the CPU seconds of this process and
    its children so far."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    t = os.times()
    return fields, t.user + t.system + t.children_user + t.children_system


def cpu_use(a: tuple, b: tuple, wall_s: float) -> dict:
    """CPU time on the whole machine between two snapshots, and how much of it was not this
    benchmark's (other processes on the shared machine)."""
    hz = os.sysconf("SC_CLK_TCK")
    d = [(y - x) / hz for x, y in zip(a[0], b[0], strict=False)]
    # user nice system idle iowait irq softirq steal (guest time is already in user)
    busy = d[0] + d[1] + d[2] + d[5] + d[6]
    ours = b[1] - a[1]
    other = max(0.0, busy - ours)
    return {
        "wall_s": wall_s,
        "busy_cpu_s": busy,
        "benchmark_cpu_s": ours,
        "other_cpu_s": other,
        "other_cores": other / wall_s if wall_s else None,
        "steal_s": d[7] if len(d) > 7 else None,
        "iowait_s": d[4],
    }


# --- ratios and goals ----------------------------------------------------------------------


def _r(a, b):
    return None if a is None or b in (None, 0) else a / b


def derive(res: dict) -> dict:
    """The ratios the goals are judged on, per chunking."""
    peers = [res[p] for p in ("restic", "borg") if p in res]
    best_peer = min(peers, key=lambda e: e["added_bytes"]) if peers else None
    best_name = next(p for p in ("restic", "borg") if res.get(p) is best_peer) if peers else None
    out: dict = {"best_backup_tool": best_name}
    for ch in ("fixed", "cdc"):
        thin, full = res[f"hexz {ch} thin"], res[f"hexz {ch} full"]
        out[ch] = {
            "added_pct_of_full": 100 * _r(thin["added_bytes"], full["added_bytes"]),
            "bytes_vs_best_backup": _r(thin["added_bytes"], best_peer and best_peer["added_bytes"]),
            "write_vs_restic": _r(thin["write"]["median_s"], res["restic"]["write"]["median_s"]),
            "write_vs_borg": _r(thin["write"]["median_s"], res["borg"]["write"]["median_s"]),
            "read_thin_vs_full": _r(thin["read"]["median_s"], full["read"]["median_s"]),
        }
    # Packing with content-defined chunks against fixed blocks: v2 written whole, each way.
    out["cdc"]["pack_cdc_vs_fixed"] = _r(
        res["hexz cdc full"]["write"]["median_s"], res["hexz fixed full"]["write"]["median_s"]
    )
    return out


#: (key, text, target, sense): met when the value is <= or >= the target.
GOALS = [
    ("bytes", "bytes added by v2 within 5% of the best of restic/borg (hexz ÷ best)", 1.05, "<="),
    ("full", "bytes added by v2 ≤ 10% of a full archive, records series (%)", 10.0, "<="),
    ("write", "writing v2 ≥ 2× faster than restic and than borg (faster peer ÷ hexz)", 2.0, ">="),
    ("read", "reading v2 in full within 1.2× of a non-thin archive (thin ÷ full)", 1.2, "<="),
    ("pack", "packing with CDC at most 1.3× the time of fixed blocks (cdc ÷ fixed)", 1.3, "<="),
]


def goals(series: dict) -> list[dict]:
    """Every goal, per chunking, per series: the measured value, the target, met or not."""
    out = []
    for ch in ("fixed", "cdc"):
        for key, text, target, sense in GOALS:
            for name, s in series.items():
                dv = s["derived"][ch]
                if key == "bytes":
                    v = dv["bytes_vs_best_backup"]
                elif key == "full":
                    if name != "records":
                        continue
                    v = dv["added_pct_of_full"]
                elif key == "pack":
                    # FastCDC cuts file and stream bytes; records are cut per record
                    if ch != "cdc" or name == "records":
                        continue
                    v = dv["pack_cdc_vs_fixed"]
                elif key == "write":
                    # the speed-up over the faster of restic and borg
                    v = min(1 / dv["write_vs_restic"], 1 / dv["write_vs_borg"])
                else:
                    v = dv["read_thin_vs_full"]
                ok = v <= target if sense == "<=" else v >= target
                out.append(
                    {
                        "goal": key,
                        "text": text,
                        "chunking": ch,
                        "series": name,
                        "value": v,
                        "target": target,
                        "sense": sense,
                        "met": bool(ok),
                    }
                )
    return out


# --- the table ---------------------------------------------------------------------------------


def fmt_bytes(n: int | None) -> str:
    return "n/a" if n is None else f"{n / MIB:.2f}"


def table(series: dict) -> str:
    lines = []
    for name, s in series.items():
        lines += [
            f"### {name}: {s['description']}",
            "",
            f"v1 {s['v1_bytes'] / MIB:.1f} MiB, v2 {s['v2_bytes'] / MIB:.1f} MiB of input.",
            "",
            "| Tool | v1 (MiB) | added by v2 (MiB) | % of full hexz v2 | write v2 (s) | CPU (s) "
            "| peak RSS (MiB) | read v2 (s) | random 4 KiB (ms) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for tool, e in s["tools"].items():
            # hexz rows against the full archive of their chunking, the others against CDC's
            full = s["tools"]["hexz fixed full" if "fixed" in tool else "hexz cdc full"]
            rnd = e["random_4k"]
            rnd_ms = "n/a" if rnd is None else f"{rnd['median_s'] * 1000:.0f}"
            lines.append(
                f"| {tool} | {fmt_bytes(e['v1_bytes'])} | {fmt_bytes(e['added_bytes'])} "
                f"| {100 * e['added_bytes'] / full['added_bytes']:.1f}% "
                f"| {e['write']['median_s']:.2f} | {e['write']['cpu_s']:.2f} "
                f"| {e['write']['rss_kb'] / 1024:.0f} | {e['read']['median_s']:.2f} | {rnd_ms} |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    bad = [s for s in SERIES if s not in ALL_SERIES]
    if bad:
        die(f"THIN_BENCH_SERIES: unknown {bad} (choose from {','.join(ALL_SERIES)})")
    if RUNS < 1:
        die("THIN_BENCH_RUNS must be >= 1")
    if not os.access(HEXZ, os.X_OK):
        die(f"no hexz binary at {HEXZ} (run: make build)")
    if "--parent" not in sh([HEXZ, "pack", "--help"]).stdout:
        die(f"{HEXZ} has no `pack --parent` (thin archives): rebuild it")
    tools = ["restic", "borg", "zstd", "qemu-img", "qemu-io", "mkfs.ext4", "tar", "apt-get"]
    missing = [t for t in tools if not shutil.which(t)] + (
        [] if os.access("/usr/bin/time", os.X_OK) else ["/usr/bin/time"]
    )
    if missing:
        die(f"missing {missing} (Debian: restic borgbackup zstd qemu-utils e2fsprogs time)")
    if "records" in SERIES:
        probe = "import hexz, inspect; assert 'parent' in inspect.signature(hexz.Writer).parameters"
        if subprocess.run([VENV / "bin" / "python", "-c", probe], check=False).returncode:
            die(f"{VENV}/bin/python has no hexz with Writer(parent=) (make develop)")
    os.environ["PATH"] += ":/usr/sbin:/sbin"
    descs = {}
    for s in SERIES:
        d = DATA / s
        d.parent.mkdir(parents=True, exist_ok=True)
        descs[s] = BUILDERS[s](d)
    started = datetime.datetime.now(datetime.UTC)
    load_start = os.getloadavg()
    cpu_start = cpu_snapshot()
    t0 = time.monotonic()
    results = {}
    for s in SERIES:
        log(f"series {s}: {descs[s]['description']}")
        t1 = time.monotonic()
        results[s] = run_series(s, dict(descs[s]))
        results[s]["elapsed_s"] = time.monotonic() - t1
    elapsed = time.monotonic() - t0
    cpu = cpu_use(cpu_start, cpu_snapshot(), elapsed)
    load1 = [
        m["load1"]
        for s in results.values()
        for e in s["tools"].values()
        for part in ("write", "read", "random_4k")
        if e[part]
        for m in e[part]["reps"]
    ]
    commit = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).stdout.strip()
    dirty = bool(sh(["git", "-C", ROOT, "status", "--short"]).stdout.strip())
    hexz_py = subprocess.run(
        [VENV / "bin" / "python", "-c", "import hexz._native as n; print(n.__file__)"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    doc = {
        "quick": QUICK,
        "runs": RUNS,
        "samples": SAMPLES,
        "series_run": SERIES,
        "hexz_binary": HEXZ,
        "hexz_sha256": sha256_file(Path(HEXZ)),
        "hexz_python_native": hexz_py,
        "hexz_python_native_sha256": sha256_file(Path(hexz_py)) if hexz_py else None,
        "git": {"commit": commit, "dirty": dirty},
        "versions": {
            "hexz": first_line([HEXZ, "--version"]),
            "restic": first_line(["restic", "version"]),
            "borg": first_line(["borg", "--version"]),
            "qemu-img": first_line(["qemu-img", "--version"]),
            "zstd": first_line(["zstd", "--version"]).strip("* ").replace(", by Yann Collet", ""),
            "mkfs.ext4": first_line(["mkfs.ext4", "-V"]),
            "tar": first_line(["tar", "--version"]),
        },
        "page_cache": "warm (inputs read before every write; archives and repositories warm)",
        "elapsed_s": elapsed,
        "cpus": os.cpu_count(),
        "load_avg_start": load_start,
        "load_avg_end": os.getloadavg(),
        "cpu_while_running": cpu,
        "load1_while_timing": {
            "min": min(load1),
            "median": statistics.median(load1),
            "max": max(load1),
            "samples": len(load1),
        },
        "series": results,
        "goals": goals(results),
    }
    via_make = "MAKELEVEL" in os.environ
    cmd = runs.command_line("make bench-thin" if via_make else "benchmarks/thin_bench.py", ENV_VARS)
    run_dir = runs.write_run("thin", doc, cmd, started)
    print(table(results))
    print("| Goal | Chunking | Series | Measured | Target | Result |")
    print("|---|---|---|---:|---:|---|")
    for g in doc["goals"]:
        print(
            f"| {g['text']} | {g['chunking']} | {g['series']} | {g['value']:.3g} "
            f"| {g['target']:g} | {'met' if g['met'] else '**missed**'} |"
        )
    log(f"wrote {run_dir / 'results.json'} ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
