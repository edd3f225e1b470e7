#!/usr/bin/env python3
"""Encryption and signatures benchmark: what ``--encrypt`` costs on pack, read, verify and open,
on one data set, LZ4 (``hexz pack``'s default codec) at 64 KiB blocks (docs/benchmarks.md,
"Encryption and signatures").

Run by ``make bench-crypto``. Python standard library only (the optional Python-reader rows
run ``hexz.open`` in a subprocess, see below).

Data: the first CRYPTO_BENCH_MB MiB of the ext4 image of ``benchmarks/pack_read.sh``
(``~/.cache/hexz/bench/ext4.img``, 1.6 GB; made by pack_read.sh first when missing), copied to
``~/.cache/hexz/crypto-bench/data.img`` (a hard link when the whole image is asked for). It is
packed with ``hexz pack --raw`` (the stream ``disk``) twice: plain, and ``--encrypt
--key-file KEY`` with a hex key file (64 hex digits and a newline, docs/keys.md).

Measured, every case once per round, the plain and encrypted cases of a pair back to back
(their order alternating between rounds), medians over the rounds; wall time, and the child's
CPU time (user + system) and peak RSS from ``wait4``:

1. ``pack``: ``hexz pack --raw -q DATA OUT`` against the same with ``--encrypt --key-file KEY``
   (input in the page cache; the pack fsyncs its output, so the disk is in these times).
2. ``read``: ``hexz cat [--key-file KEY] ARCHIVE disk > /dev/null``, the archive in the page cache
   (warm), and cold: the archive's pages dropped first with ``posix_fadvise(DONTNEED)`` on that
   file alone (nothing else leaves the page cache; no root needed). The read overhead
   (encrypted / plain - 1) is judged against the goal ``READ_GOAL`` (at most 25% slower), on the
   warm ``hexz cat`` row.
   Also, when ``import hexz`` works (the venv of ``make develop``, or ``crates/loader/python``
   with a built ``_native`` module): ``hexz.open(path[, key=KEYFILE]).open("disk")`` read with
   ``read_at`` in 8 MiB chunks, timed inside the process (open + read, not the interpreter).
3. ``verify``: ``hexz verify -q [--key-file KEY] ARCHIVE`` (every block's crc32c, decompression
   and BLAKE3 content hash, keyed when encrypted) against ``b3sum --num-threads 2 DATA``
   (BLAKE3 of the unpacked bytes, multi-threaded like hexz; Debian package b3sum), all warm.
4. ``open``: ``hexz inspect`` of a tiny archive (one 64 KiB file) plain, with a raw key file and
   with a passphrase (``HEXZ_PASSWORD``) at the default Argon2id parameters (64 MiB, t=3, p=4):
   passphrase minus raw key is the key derivation.

Output: ``~/.cache/hexz/crypto-bench/results.tsv`` (every run), ``summary.json`` (medians) and
``results.md`` (tables), printed at the end. MB = 10^6 bytes; MB/s of the unpacked data. Each run
also writes ``benchmarks/runs/<YYYY-MM-DD-HHMM>-crypto/results.json`` (runs.write_run: every
measurement of every round with the 1-minute load average just before it, the medians, the goal
verdict, the command, the machine); ``benchmarks/crypto_report.py`` renders the newest one into
docs/benchmarks.md.

Environment:
    HEXZ                 hexz binary (default $CARGO_TARGET_DIR/release/hexz)
    CRYPTO_BENCH_MB      MiB of the image to use (default 1024; 0 = the whole image; 100: quick)
    CRYPTO_BENCH_RUNS    rounds (default 5; at least 5 for the docs)
    CRYPTO_BENCH_TESTS   pack,read,verify,open,sign (default all)
    CRYPTO_BENCH_PYTHON  0 = skip the hexz.open rows (default: include them when importable)
    CRYPTO_BENCH_DIR     state (default ~/.cache/hexz/crypto-bench)
    BENCH_DIR            pack_read.sh's data (default ~/.cache/hexz/bench)
    VENV                 Python venv with hexz (default ~/.cache/hexz/venv)
    B3SUM                b3sum binary (default: from PATH)
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

import runs
from crypto_tables import READ_GOAL, goal_verdict, report, summarize
from machine import first_line, machine

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("HEXZ_CACHE", Path.home() / ".cache" / "hexz"))
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", CACHE / "target"))
HEXZ = os.environ.get("HEXZ", str(TARGET / "release" / "hexz"))
SIZE_MB = int(os.environ.get("CRYPTO_BENCH_MB", "1024"))
RUNS = int(os.environ.get("CRYPTO_BENCH_RUNS", "5"))
ALL_TESTS = ["pack", "read", "verify", "open", "sign"]
TESTS = os.environ.get("CRYPTO_BENCH_TESTS", ",".join(ALL_TESTS)).split(",")
WANT_PYTHON = os.environ.get("CRYPTO_BENCH_PYTHON", "1") != "0"
STATE = Path(os.environ.get("CRYPTO_BENCH_DIR", CACHE / "crypto-bench"))
DATA = Path(os.environ.get("BENCH_DIR", CACHE / "bench"))
VENV = Path(os.environ.get("VENV", CACHE / "venv"))
B3SUM = os.environ.get("B3SUM") or shutil.which("b3sum") or "b3sum"
IMAGE = DATA / "ext4.img"
INPUT = STATE / "data.img"
KEY = STATE / "bench.key"
PASSWORD = "crypto-bench passphrase, not a secret"
PLAIN = STATE / "plain.hxz"
ENC = STATE / "enc.hxz"
TINY = STATE / "tiny"
SIGNED = STATE / "signed.hxz"
SIGN_KEY = STATE / "keys" / "bench.key"
SIGN_PUB = STATE / "keys" / "bench.pub"
ENV_VARS = [
    "HEXZ",
    "CRYPTO_BENCH_MB",
    "CRYPTO_BENCH_RUNS",
    "CRYPTO_BENCH_TESTS",
    "CRYPTO_BENCH_PYTHON",
    "B3SUM",
]

PY_READ = r"""
import sys, time, hexz
path, key = sys.argv[1], (sys.argv[2] or None)
t0 = time.perf_counter()
r = hexz.open(path, key=key) if key else hexz.open(path)
e = r.open("disk")
off, n, chunk = 0, 0, 8 << 20
while off < e.size:
    n += len(e.read_at(off, chunk))
    off += chunk
print(time.perf_counter() - t0, n)
"""


def log(msg: str) -> None:
    print(f"crypto-bench: {msg}", file=sys.stderr, flush=True)


def die(msg: str) -> None:
    log(msg)
    sys.exit(1)


def run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kw)


def timed(cmd, env=None, stdout=None) -> dict:
    """Runs CMD; wall seconds, CPU seconds (user + system) and peak RSS of the child."""
    with open(os.devnull, "wb") as null:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, env=env, stdout=stdout or null, stdin=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        secs = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    out = p.stdout.read().decode() if stdout == subprocess.PIPE else ""
    if p.returncode != 0:
        raise subprocess.CalledProcessError(p.returncode, cmd)
    return {
        "seconds": secs,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "rss_mib": ru.ru_maxrss / 1024,
        "out": out,
    }


def page_in(path: Path) -> None:
    with open(path, "rb") as f:
        while f.read(8 << 20):
            pass


def page_out(path: Path) -> None:
    """Drops PATH's pages from the page cache (that file only)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


# --- data and archives ---------------------------------------------------------------------


def ensure_data() -> int:
    if not IMAGE.is_file():
        log(f"no {IMAGE}: running benchmarks/pack_read.sh to make it (slow, once)")
        env = dict(os.environ, HEXZ=HEXZ, BENCH_RUNS="1", BENCH_SLOW_RUNS="1", BENCH_DIR=str(DATA))
        run([str(ROOT / "benchmarks" / "pack_read.sh")], env=env, stdout=subprocess.DEVNULL)
    full = IMAGE.stat().st_size
    want = full if SIZE_MB <= 0 else min(full, SIZE_MB << 20)
    stamp = STATE / "data.stamp"
    key = f"{IMAGE} {full} {IMAGE.stat().st_mtime_ns} {want}"
    if not (INPUT.exists() and stamp.exists() and stamp.read_text() == key):
        INPUT.unlink(missing_ok=True)
        for p in (PLAIN, ENC):
            p.unlink(missing_ok=True)
        if want == full:
            os.link(IMAGE, INPUT)
            log(f"data: {INPUT} (hard link to the whole image)")
        else:
            log(f"data: first {want >> 20} MiB of {IMAGE} -> {INPUT}")
            with open(IMAGE, "rb") as src, open(INPUT, "wb") as dst:
                left = want
                while left:
                    buf = src.read(min(left, 8 << 20))
                    dst.write(buf)
                    left -= len(buf)
        stamp.write_text(key)
    if not KEY.exists():
        fd = os.open(KEY, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(os.urandom(32).hex() + "\n")
    return want


def pack_cmd(out: Path, encrypted: bool) -> list[str]:
    enc = ["--encrypt", "--key-file", str(KEY)] if encrypted else []
    return [HEXZ, "pack", "--raw", "-q", *enc, str(INPUT), str(out)]


def key_args(encrypted: bool) -> list[str]:
    return ["--key-file", str(KEY)] if encrypted else []


def ensure_archives() -> None:
    for path, enc in ((PLAIN, False), (ENC, True)):
        if not path.exists() or path.stat().st_mtime < INPUT.stat().st_mtime:
            log("packing: " + " ".join(pack_cmd(path, enc)))
            run(pack_cmd(path, enc))


def ensure_signed() -> None:
    """A key pair (hexz keygen) and a signed copy of the plain archive (hexz sign --output)."""
    if not SIGN_KEY.exists():
        run([HEXZ, "keygen", "-q", "--output-dir", str(SIGN_KEY.parent), "--name", "bench"])
    if not SIGNED.exists() or SIGNED.stat().st_mtime < PLAIN.stat().st_mtime:
        run(
            [
                HEXZ,
                "sign",
                "-q",
                str(PLAIN),
                "--signing-key",
                str(SIGN_KEY),
                "--output",
                str(SIGNED),
            ]
        )


def ensure_tiny() -> dict:
    """A 64 KiB file packed plain, with the raw key, and with the passphrase."""
    TINY.mkdir(parents=True, exist_ok=True)
    src = TINY / "file.bin"
    if not src.exists():
        with open(INPUT, "rb") as f:
            f.seek(1 << 20)
            src.write_bytes(f.read(64 << 10))
    out = {
        "plain": TINY / "plain.hxz",
        "raw key": TINY / "key.hxz",
        "passphrase": TINY / "pass.hxz",
    }
    env_pw = dict(os.environ, HEXZ_PASSWORD=PASSWORD)
    for name, path in out.items():
        if path.exists():
            continue
        extra = {
            "plain": [],
            "raw key": ["--encrypt", "--key-file", str(KEY)],
            "passphrase": ["--encrypt"],
        }[name]
        run(
            [HEXZ, "pack", "-q", *extra, str(src), str(path)],
            env=env_pw if name == "passphrase" else None,
        )
    return out


def kdf_params(path: Path) -> str:
    """The header's kdf fields (docs/FORMAT.md §3: byte 49, then m, t, p as u32 at 52)."""
    with open(path, "rb") as f:
        head = f.read(128)
    m, t, p = struct.unpack_from("<III", head, 52)
    kind = {0: "none", 1: "Argon2id", 2: "raw key"}.get(head[49], f"kdf {head[49]}")
    return f"{kind}, m = {m} KiB, t = {t}, p = {p}" if head[49] == 1 else kind


def python_cmd() -> tuple[list[str], dict, str] | None:
    """How to run hexz.open: the venv's hexz, else crates/loader/python with its built module."""
    py = VENV / "bin" / "python"
    if not py.exists():
        py = Path(sys.executable)
    # key= is a parameter of hexz.Reader, or (newer) one of the OpenOptions fields that
    # Reader takes as keyword arguments.
    probe = (
        "import hexz, inspect; sig = lambda f: inspect.signature(f).parameters; "
        "assert 'key' in sig(hexz.Reader) or 'key' in sig(hexz.OpenOptions)"
    )
    for extra, where in (
        ({}, f"{py}"),
        (
            {"PYTHONPATH": str(ROOT / "crates" / "loader" / "python")},
            f"{py} with PYTHONPATH=crates/loader/python",
        ),
    ):
        env = dict(os.environ, **extra)
        r = subprocess.run([str(py), "-c", probe], check=False, env=env, capture_output=True)
        if r.returncode == 0:
            return [str(py), "-c", PY_READ], env, where
    return None


# --- the cases -----------------------------------------------------------------------------


def cases(tiny: dict, py) -> list[tuple[str, str, list[str], dict | None, str]]:
    """(test, variant, command, env, warm|cold); plain and encrypted of a pair next to each
    other."""
    out = []
    if "pack" in TESTS:
        out.append(("pack", "plain", pack_cmd(PLAIN, False), None, "warm"))
        out.append(("pack", "encrypted", pack_cmd(ENC, True), None, "warm"))
    if "read" in TESTS:
        for cond in ("warm", "cold"):
            for name, path, enc in (("plain", PLAIN, False), ("encrypted", ENC, True)):
                out.append(
                    (
                        "read hexz cat",
                        name,
                        [HEXZ, "cat", "-q", *key_args(enc), str(path), "disk"],
                        None,
                        cond,
                    )
                )
        if py:
            cmd, env, _ = py
            out.append(("read hexz.open", "plain", [*cmd, str(PLAIN), ""], env, "warm"))
            out.append(("read hexz.open", "encrypted", [*cmd, str(ENC), str(KEY)], env, "warm"))
    if "verify" in TESTS:
        out.append(("verify", "plain", [HEXZ, "verify", "-q", str(PLAIN)], None, "warm"))
        out.append(
            ("verify", "encrypted", [HEXZ, "verify", "-q", *key_args(True), str(ENC)], None, "warm")
        )
        out.append(("verify", "b3sum", [B3SUM, "--num-threads", "2", str(INPUT)], None, "warm"))
    if "sign" in TESTS:
        # The same signed archive read without and with the public key (every frame and
        # block hash then checked on read), verified likewise, and signed again in place.
        pub = ["--verify-key", str(SIGN_PUB)]
        out.append(
            ("read signed", "unchecked", [HEXZ, "cat", "-q", str(SIGNED), "disk"], None, "warm")
        )
        out.append(
            (
                "read signed",
                "--verify-key",
                [HEXZ, "cat", "-q", *pub, str(SIGNED), "disk"],
                None,
                "warm",
            )
        )
        out.append(("verify signed", "no key", [HEXZ, "verify", "-q", str(SIGNED)], None, "warm"))
        out.append(
            (
                "verify signed",
                "--verify-key",
                [HEXZ, "verify", "-q", str(SIGNED), *pub],
                None,
                "warm",
            )
        )
        out.append(
            (
                "sign",
                "in place",
                [HEXZ, "sign", "-q", "--in-place", str(SIGNED), "--signing-key", str(SIGN_KEY)],
                None,
                "warm",
            )
        )
        out.append(
            (
                "sign",
                "atomic copy",
                [HEXZ, "sign", "-q", str(SIGNED), "--signing-key", str(SIGN_KEY)],
                None,
                "warm",
            )
        )
    if "open" in TESTS:
        env_pw = dict(os.environ, HEXZ_PASSWORD=PASSWORD)
        env_pw.pop("HEXZ_KEY", None)
        out.append(("open", "plain", [HEXZ, "inspect", str(tiny["plain"])], None, "warm"))
        out.append(
            (
                "open",
                "raw key",
                [HEXZ, "inspect", *key_args(True), str(tiny["raw key"])],
                None,
                "warm",
            )
        )
        out.append(
            ("open", "passphrase", [HEXZ, "inspect", str(tiny["passphrase"])], env_pw, "warm")
        )
    return out


def measure(test, variant, cmd, env, cond) -> dict:
    if test == "pack":
        page_in(INPUT)
    elif test in ("read signed", "verify signed"):
        page_in(SIGNED)
    elif test.startswith("read") or test == "verify":
        target = INPUT if variant == "b3sum" else (ENC if variant == "encrypted" else PLAIN)
        page_out(target) if cond == "cold" else page_in(target)
    py = test == "read hexz.open"
    res = timed(cmd, env=env, stdout=subprocess.PIPE if py else None)
    if py:
        secs, n = res["out"].split()
        res["process_s"], res["seconds"] = res["seconds"], float(secs)
        if int(n) != INPUT.stat().st_size:
            raise RuntimeError(f"hexz.open read {n} bytes, expected {INPUT.stat().st_size}")
    res.pop("out")
    return res


# --- main ----------------------------------------------------------------------------------


def main() -> int:
    bad = [t for t in TESTS if t not in ALL_TESTS]
    if bad:
        die(f"CRYPTO_BENCH_TESTS: unknown {bad} (choose from {','.join(ALL_TESTS)})")
    if RUNS < 1:
        die("CRYPTO_BENCH_RUNS must be >= 1")
    if not os.access(HEXZ, os.X_OK):
        die(f"no hexz binary at {HEXZ} (run: make build)")
    if "verify" in TESTS and not shutil.which(B3SUM):
        die(f"{B3SUM} not found (Debian package b3sum, or B3SUM=path)")
    STATE.mkdir(parents=True, exist_ok=True)
    want = ensure_data()
    ensure_archives()
    tiny = ensure_tiny()
    if "sign" in TESTS:
        ensure_signed()
    py = python_cmd() if WANT_PYTHON and "read" in TESTS else None
    if WANT_PYTHON and "read" in TESTS and not py:
        log("hexz does not import (make develop): skipping the hexz.open rows")
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        check=False,
        capture_output=True,
        text=True,
    ).stdout.strip()
    started = datetime.datetime.now(datetime.UTC)
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "load_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "versions": f"{first_line([HEXZ, '--version'])} ({HEXZ}, HEAD {commit}); "
        f"{first_line([B3SUM, '--version'])}" + (f"; hexz.open via {py[2]}" if py else ""),
        "input": f"first {want >> 20} MiB of {IMAGE}"
        if want < IMAGE.stat().st_size
        else str(IMAGE),
        "input_bytes": want,
        "kdf": kdf_params(tiny["passphrase"]),
        "runs": RUNS,
    }
    log(f"{meta['machine']}; load {meta['load_start']}; {RUNS} rounds; {meta['input']}")
    todo = cases(tiny, py)
    cols = ["run", "test", "variant", "cond", "seconds", "cpu_s", "rss_mib", "process_s"]
    rows: list[dict] = []
    tsv = STATE / "results.tsv"
    with open(tsv, "w") as out:
        out.write("\t".join(cols) + "\n")
        for rnd in range(1, RUNS + 1):
            # Pairs (same test and condition) back to back, their order flipped every round.
            groups: dict = {}
            for c in todo:
                groups.setdefault((c[0], c[4]), []).append(c)
            for group in groups.values():
                for test, variant, cmd, env, cond in group if rnd % 2 else group[::-1]:
                    load1 = os.getloadavg()[0]
                    res = measure(test, variant, cmd, env, cond)
                    row = {
                        "run": rnd,
                        "test": test,
                        "variant": variant,
                        "cond": cond,
                        **res,
                        "load1": load1,
                        "cmd": [str(c) for c in cmd],
                    }
                    rows.append(row)
                    out.write(runs.tsv_row(row, cols))
                    out.flush()
                    log(
                        f"round {rnd} {test} {variant} {cond}: {res['seconds']:.3f} s, "
                        f"CPU {res['cpu_s']:.2f} s"
                    )
    meta["load_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    meta["plain_bytes"], meta["enc_bytes"] = PLAIN.stat().st_size, ENC.stat().st_size
    summary = summarize(rows)
    with open(STATE / "summary.json", "w") as f:
        json.dump({"meta": meta, "medians": summary}, f, indent=1)
    md = report(summary, meta)
    (STATE / "results.md").write_text(md)
    print(md)
    load1 = [r["load1"] for r in rows]
    doc = {
        "meta": meta,
        "rounds": RUNS,
        "tests": TESTS,
        "size_mb": SIZE_MB,
        "hexz_binary": HEXZ,
        "git": commit,
        "read_goal": READ_GOAL,
        "load_avg_start": [float(x) for x in meta["load_start"].split()],
        "load_avg_end": [float(x) for x in meta["load_end"].split()],
        "load1_while_timing": {
            "min": min(load1),
            "median": statistics.median(load1),
            "max": max(load1),
            "samples": len(load1),
        }
        if load1
        else None,
        "cpus": os.cpu_count(),
        "measurements": rows,
        "medians": summary,
        "goal": goal_verdict(summary),
    }
    # `make bench-crypto` when make ran it, else the script (the variables set, either way).
    via_make = "MAKELEVEL" in os.environ
    cmd = runs.command_line(
        "make bench-crypto" if via_make else "benchmarks/crypto_bench.py", ENV_VARS
    )
    run_dir = runs.write_run("crypto", doc, cmd, started)
    log(
        f"wrote {tsv}, {STATE / 'summary.json'}, {STATE / 'results.md'}, {run_dir / 'results.json'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
