#!/usr/bin/env python3
"""Remote-archive benchmark: Hexz read over HTTP and S3, against curl, boto3, and MosaicML
Streaming / LitData fed through ``torch.utils.data.DataLoader`` (docs/benchmarks.md, "Remote
archives"; its goals are in that section's introduction).

Run by ``make bench-remote``; any Python >= 3.11 can start it. Like ``loader_bench.py`` it
re-runs itself in the benchmark venv (``~/.cache/hexz/bench-venv``: torch, mosaicml-streaming,
litdata, boto3, numpy), creating or updating it when needed, and imports hexz from
``crates/loader/python`` (build the native module first: ``make develop``).

Every server runs on a free 127.0.0.1 port, started here and stopped on the way out (also on
Ctrl-C or SIGTERM):

- nginx (``/usr/sbin/nginx``, generated config, ``master_process off``, ``sendfile on``, an
  access log with the Range, the bytes sent and the connection of each request);
- ``hexz serve`` (its stderr access log, one line per request);
- moto_server (``~/.cache/hexz/venv/bin/moto_server``'s Python, ``make venv``), started through
  this script (``--moto``). Stock moto 5 copies the whole object (twice) for every GET, ranged
  or not (``FakeKey.value``), so a ranged GET of a 1 GB object costs about half a second
  whatever its size; the main S3 rows use a moto patched here to read just the requested range
  from the object's buffer (everything else is stock moto). A second, stock moto gives the
  "stock moto" rows, for scale;
- ``hexz-faultproxy --latency-ms N`` in front of nginx (and one with 0 ms, as a control for the
  proxy's own cost).

Measured (each row a median of REMOTE_BENCH_RUNS runs; every case of a table runs once per
round, the rounds one after another, so peers are interleaved; one unrecorded warm-up round
first checks that every client gets every byte):

1. the whole archive to /dev/null: ``hexz cat URL`` (logical stream, decompression included)
   against ``curl -s URL -o /dev/null`` (the archive's bytes), over nginx and ``hexz serve``;
2. the same from S3 (moto): ``hexz cat s3://...`` against boto3 ``download_file`` (to
   /dev/shm) and ``download_fileobj`` into a sink that drops the bytes;
3. time to the first 4 KiB, cold: a fresh ``hexz cat --length 4K`` process, and a fresh
   ``hexz.open(url)`` + ``read_at(0, 4096)`` in a warm Python process; requests counted in
   the server's log;
4. item 1 through ``hexz-faultproxy --latency-ms 20`` (REMOTE_BENCH_LATENCY_MS);
5. DataLoader epochs from S3 with latency (for "Training loader vs LitData"): the Rust S3 server ``s3s-fs`` (installed
   once into ``~/.cache/hexz/tools`` with ``cargo install s3s-fs --features binary``; SigV4 keys
   checked) behind ``hexz-faultproxy --latency-ms 20 --stats-every 1``, whose counters give the
   requests and the bytes each epoch fetched. Over loader_bench.py's data set (same generator,
   builders, sample count and sizes; samples carry their index, so the order yielded is
   checked and its shuffle quality measured): ``hexz.Dataset("s3://...")`` with
   ``sampler=ds.sampler(shuffle="block")``, without and with ``cache_dir=`` (``-cache`` rows),
   against MDS ``StreamingDataset(remote=..., local=tmp)`` and ``litdata.StreamingDataset``
   (own ``shuffle=True``, own local cache); two epochs each, in a fresh process: samples/s,
   first batch, requests, bytes fetched / bytes of samples, CPU-s, peak PSS, local disk.
   moto stays for items 2-4 (and the conformance tests); speed numbers of item 5 use s3s-fs.

Results: ``benchmarks/runs/<date>-remote/results.json`` (command, machine, versions) and
``bench-out/remote.md``; with ``--record`` the "Training loader vs LitData" section of
docs/benchmarks.md is regenerated from the newest runs (``loader_peers_report.py``).

The archive for items 1-4 (~1 GB, LZ4) packs ``~/.cache/hexz/bench/ext4.img`` and
``~/.cache/hexz/bench/tree`` (made by ``make bench``) as one directory; with REMOTE_BENCH_MB=N
it is a raw pack of the first ~2.9 N MiB of the image instead (about N MB), for a quick run.

Environment:
    REMOTE_BENCH_MB         archive size in MB for a quick run (default: the full ~1 GB one)
    REMOTE_BENCH_RUNS       timed rounds (default 5)
    REMOTE_BENCH_TTFB_RUNS  rounds of the first-4-KiB cases (default 10)
    REMOTE_BENCH_LATENCY_MS latency the fault proxy adds (default 20)
    REMOTE_BENCH_ITEMS      subset of read,ttfb,stock,loader (default: all)
    REMOTE_BENCH_SAMPLES    DataLoader data set: samples (default 200000, loader_bench's)
    REMOTE_BENCH_WORKERS    DataLoader num_workers values (default "0,2")
    REMOTE_BENCH_ORDERS     DataLoader orders (default "shuffle"; "seq,shuffle" adds sequential)
    REMOTE_BENCH_EPOCH_S    stop an epoch after this many seconds (default 60)
    REMOTE_BENCH_HEXZ_VARIANTS  Hexz shuffled rows from S3 (default "block,block-cache"; also
                            "global", "dataloader"; "-cache" adds cache_dir=)
    REMOTE_BENCH_FORMATS    DataLoader formats (default: hexz-lz4, hexz-zstd, hexz-raw,
                            webdataset, files, mds, litdata)
    REMOTE_BENCH_DIR        archive and state (default ~/.cache/hexz/remote-bench)
    REMOTE_BENCH_OUT        report directory (default bench-out/)
    HEXZ, HEXZ_FAULTPROXY, HEXZ_NGINX, HEXZ_MOTO_SERVER, HEXZ_S3S_FS   the programs

``--record`` appends the run to docs/benchmarks.md under ``DOC_HEADING``, "Remote archives" (also
REMOTE_BENCH_RECORD=1); ``--record-last`` appends the last report (bench-out/remote.md) without
running anything.

The code: ``remote_config.py`` (settings, environment variables, ``log``),
``remote_servers.py`` (the servers and the latency proxy), ``remote_data.py`` (the archive,
uploads to S3), ``remote_reads.py`` (items 1-4, and ``run_stage``), ``remote_loader.py`` (item
5) and ``remote_report.py`` (the report, ``--record``). This file holds ``main`` and the
``--stage KIND JSON`` and ``--moto PORT MODE`` entry points, which those modules run as fresh
processes of it.
"""

# The docstring and main's log lines keep their long lines.
# ruff: noqa: E501

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import runs
from remote_config import (
    ALL_ITEMS,
    DOC_HEADING,
    ENV_VARS,
    FAULTPROXY,
    HEXZ,
    HEXZ_PY,
    ITEMS,
    LATENCY_MS,
    MOTO_SERVER,
    NGINX,
    OUT,
    REQS,
    ROOT,
    VENV,
    log,
)
from remote_data import make_archive, upload
from remote_loader import bench_loader, stage_loader
from remote_reads import (
    bench_reads,
    bench_stock,
    bench_ttfb,
    stage_boto3,
    stage_py_open,
)
from remote_report import record, report, versions
from remote_servers import (
    ensure_s3s_fs,
    moto_main,
    start_moto,
    start_nginx,
    start_proxy,
    start_s3s_fs,
    start_serve,
)

# --- the venv ------------------------------------------------------------------------------


def ensure_venv() -> None:
    """Re-executes this script in the benchmark venv (loader_bench.py's, same stamp), creating
    or updating it when needed."""
    vpy = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    want = f"{sys.version.split()[0]} {hashlib.sha256(REQS.read_bytes()).hexdigest()}"
    stamp = VENV / ".hexz-bench-stamp"
    if not (vpy.exists() and stamp.exists() and stamp.read_text().strip() == want):
        if not vpy.exists():
            log(f"creating {VENV} with {sys.executable}")
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        log(f"installing {REQS.name} into {VENV} (torch, mosaicml-streaming, litdata, boto3)")
        pip = [
            str(vpy),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ]
        subprocess.run([*pip, "--upgrade", "pip"], check=True, stdin=subprocess.DEVNULL)
        subprocess.run([*pip, "-r", str(REQS)], check=True, stdin=subprocess.DEVNULL)
        stamp.write_text(want + "\n")
    os.execv(str(vpy), [str(vpy), str(Path(__file__).resolve()), *sys.argv[1:]])


# --- main ----------------------------------------------------------------------------------


def check_tools(need_archive: bool) -> None:
    """The programs the chosen items need (item 5 alone needs just the proxy; s3s-fs is
    installed on first use)."""
    missing = []
    tools = [(FAULTPROXY, "cargo build --release -p hexz-faultproxy")]
    if need_archive:
        tools += [
            (HEXZ, "cargo build --release -p hexz-cli (make build)"),
            (NGINX, "apt-get install nginx-light (make apt-build)"),
            (MOTO_SERVER, "make venv (moto[server] from requirements-dev.txt)"),
        ]
    for p, hint in tools:
        if not p.exists():
            missing.append(f"{p} ({hint})")
    if not shutil.which("curl"):
        missing.append("curl (apt-get install curl)")
    if missing:
        raise SystemExit("remote-bench: missing: " + "; ".join(missing))


def main() -> int:
    if "--record-last" in sys.argv[1:]:
        record((OUT / "remote.md").read_text())
        log(
            f"appended {OUT / 'remote.md'} to {ROOT / 'docs' / 'benchmarks.md'} under {DOC_HEADING!r}"
        )
        return 0
    ensure_venv()
    rec = "--record" in sys.argv[1:] or os.environ.get("REMOTE_BENCH_RECORD") == "1"
    bad = [i for i in ITEMS if i not in ALL_ITEMS]
    if bad:
        log(f"unknown items {bad}; choose from {ALL_ITEMS}")
        return 2
    need_archive = bool({"read", "ttfb", "stock"} & set(ITEMS))
    check_tools(need_archive)
    if "loader" in ITEMS or "ttfb" in ITEMS:
        try:
            import hexz  # noqa: F401
        except ImportError as e:
            log(f"cannot import hexz from {HEXZ_PY} ({e}): build it first with `make develop`")
            return 1
    started = datetime.datetime.now(datetime.UTC)
    load0 = os.getloadavg()
    t_start = time.perf_counter()
    arch, meta = make_archive() if need_archive else (None, {})
    if need_archive:
        log(f"archive {arch}: {meta['bytes']:,} bytes, logical {meta['logical']:,}")
    ver = versions()
    res: dict = {}
    tmp = Path(tempfile.mkdtemp(prefix="hexz-remote-bench-"))
    servers: list = []

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    try:
        if need_archive:
            ng = start_nginx(arch.parent, tmp / "nginx")
            servers.append(ng)
            sv = start_serve(arch, tmp / "serve")
            servers.append(sv)
            mo = start_moto(tmp / "moto", patched=True)
            servers.append(mo)
            p20 = start_proxy(ng.port, LATENCY_MS, tmp / "proxy")
            servers.append(p20)
            p0 = start_proxy(ng.port, 0, tmp / "proxy0")
            servers.append(p0)
            srv = {"nginx": ng, "serve": sv, "moto": mo, "proxy": p20, "proxy0": p0}
            log(
                f"servers: nginx :{ng.port}, hexz serve :{sv.port}, moto :{mo.port}, proxy {LATENCY_MS} ms :{p20.port}, proxy 0 ms :{p0.port}"
            )
            endpoint = f"http://127.0.0.1:{mo.port}"
            if {"read", "ttfb"} & set(ITEMS):
                t0 = time.perf_counter()
                upload(endpoint, arch, arch.name)
                log(f"uploaded the archive to moto in {time.perf_counter() - t0:.1f} s")
            stock = None
            if "stock" in ITEMS:
                stock = start_moto(tmp / "moto-stock", patched=False)
                servers.append(stock)
                upload(f"http://127.0.0.1:{stock.port}", arch, arch.name)
        if "read" in ITEMS:
            res["read"] = bench_reads(arch, meta, srv, tmp)
        if "ttfb" in ITEMS:
            res["ttfb"] = bench_ttfb(arch, srv, stock)
        if "stock" in ITEMS and stock is not None:
            res["stock"] = bench_stock(arch, stock)
            stock.stop()
        if "loader" in ITEMS:
            ensure_s3s_fs()
            s3 = start_s3s_fs(tmp / "s3s-fs")
            servers.append(s3)
            ps3 = start_proxy(s3.port, LATENCY_MS, tmp / "proxy-s3", stats=True)
            servers.append(ps3)
            log(f"s3s-fs :{s3.port}, behind a {LATENCY_MS} ms proxy :{ps3.port}")
            res["loader"] = bench_loader(s3, ps3, tmp, tmp / "s3s-fs" / "root")
    finally:
        for s in reversed(servers):
            with contextlib.suppress(Exception):
                s.stop()
        keep = os.environ.get("REMOTE_BENCH_KEEP_LOGS") == "1"
        if keep:
            log(f"server logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.perf_counter() - t_start
    md = report(res, meta, ver, started, elapsed, (load0, os.getloadavg()))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "remote.md").write_text(md)
    (OUT / "remote.json").write_text(
        json.dumps({"archive": meta, "results": res, "versions": ver}, indent=1, default=str)
    )
    doc = {
        "items": ITEMS,
        "elapsed_s": elapsed,
        "versions": ver,
        "archive": meta,
        "results": res,
    }
    if "loader" in res:
        doc["s3_loader"] = res["loader"]
    run_dir = runs.write_run(
        "remote", doc, runs.command_line("make bench-remote", ENV_VARS), started
    )
    print(md)
    log(f"wrote {run_dir / 'results.json'}, {OUT / 'remote.md'} and {OUT / 'remote.json'}")
    if rec and "loader" in res:
        import loader_peers_report

        loader_peers_report.update_docs()
        log(
            'regenerated the "Training loader vs LitData" section of docs/benchmarks.md'
            " from the newest runs"
        )
    if rec:
        record(md)
        log(f"appended the run to {ROOT / 'docs' / 'benchmarks.md'} under {DOC_HEADING!r}")
    else:
        log("not recorded in docs/benchmarks.md (--record or REMOTE_BENCH_RECORD=1 to record)")
    return 0


def stage_main(kind: str, cfg: dict) -> None:
    fn = {"boto3": stage_boto3, "py_open": stage_py_open, "loader": stage_loader}[kind]
    print("RESULT " + json.dumps(fn(cfg)), flush=True)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--moto":
        moto_main(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 3 and sys.argv[1] == "--stage":
        stage_main(sys.argv[2], json.loads(sys.argv[3]))
    else:
        try:
            sys.exit(main())
        except KeyboardInterrupt:
            log("interrupted; servers stopped")
            sys.exit(130)
