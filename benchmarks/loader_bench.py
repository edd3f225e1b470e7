#!/usr/bin/env python3
"""Python loader benchmark: Hexz against plain files, WebDataset, MosaicML Streaming (MDS) and
LitData, all fed through ``torch.utils.data.DataLoader``, side by side on the same data in one
run (docs/benchmarks.md, "Python loader" and "Training loader vs LitData").

Run by ``make bench-loader``; any Python >= 3.11 can start it. It creates its own venv
(``~/.cache/hexz/bench-venv``, from ``benchmarks/requirements-peers.txt``, skipped when the stamp
is current) and re-runs itself there. Hexz is imported from ``crates/loader/python`` (build the
native module first: ``make develop``).

The data set: N samples, sizes uniform in [MIN, MAX], each starting with its own index as a
little-endian uint64 (``measure.index_prefix``), so the benchmark reads back from every sample
any loader yields which one it was. Two kinds of payload after the index:

- compressible (the default): each 256-byte row is 128 random bytes written twice, so LZ4 and
  Zstd both get about 2x;
- incompressible (formats ending in ``-raw``): random bytes, same sizes; Hexz stores them with
  ``compression="lz4"``, which keeps incompressible blocks raw.

Formats (LOADER_BENCH_FORMATS): ``hexz-lz4``, ``hexz-zstd``, ``hexz-raw`` (``Writer.add_records``,
one record per sample); ``files`` (one file per sample, 1000 per directory); ``webdataset`` (tar
shards of 10,000 samples); ``mds`` (one ``bytes`` column, no compression, 64 MiB shards);
``litdata`` (``litdata.optimize``, 64 MB chunks, no compression); any peer with ``-raw`` appended
(``files-raw``, ``litdata-raw`` by default; ``mds-raw``, ``webdataset-raw`` on request) is the same
peer over the incompressible payload. Pack/convert time of each is recorded.

Each read configuration runs in a fresh process, page cache warm (every file of the format read
once first): one epoch through ``DataLoader(batch_size=64)`` with ``num_workers`` 0 and 2.

- Hexz, ``collate_fn=hexz.collate`` (one tensor, or a ``hexz.Ragged`` for variable-length samples;
  the keep-the-list collate if hexz has no ``collate`` yet): ``sampler=ds.sampler(shuffle=True)``
  (the block shuffle, the default), ``ds.sampler(shuffle="global")`` (a full permutation),
  ``DataLoader(ds, shuffle=True)`` (torch's permutation), sequential ``ds.sampler(shuffle=False)``
  and ``DataLoader(ds)``. A variant the installed hexz does not offer is skipped, with a message.
- Peers keep a collate that returns the list of samples: plain files with ``shuffle=True`` (a full
  permutation); WebDataset (iterable only) with ``shardshuffle`` plus a 1000-sample buffer; MDS and
  LitData with their own ``shuffle=True``. Sequential: no shuffling anywhere.

Reported per configuration: samples/s, MB/s, CPU seconds of the epoch (process + workers, user +
sys), peak PSS of the process tree (sampled every 0.1 s), time to the first batch (from creating
the dataset), whether the epoch yielded every sample exactly once, the shuffle quality of the
order actually yielded (``measure.shuffle_quality``: regions per batch and mean jump) and, for
Hexz with num_workers=0, read amplification (bytes decoded / bytes returned, from the archive's
``stats()`` when it has one). ``Reader.read_at`` of 4 KiB is timed per call (p50, p99), warm.

Results: ``benchmarks/runs/<date>-loader/results.json`` (with the command and the machine),
``bench-out/loader.md``; with LOADER_BENCH_RECORD=1 (default at full size) the "Training loader vs
LitData" section of docs/benchmarks.md and its plot are regenerated from the newest runs
(``loader_peers_report.py``).

Environment:
    LOADER_BENCH_SAMPLES   samples (default 200000; 20000 for a quick run)
    LOADER_BENCH_MIN       smallest sample in bytes (default 4096)
    LOADER_BENCH_MAX       largest sample in bytes (default 16384)
    LOADER_BENCH_WORKERS   num_workers values (default "0,2")
    LOADER_BENCH_FORMATS   subset, comma-separated (default: all of
                           hexz-lz4,hexz-zstd,hexz-raw,files,files-raw,webdataset,mds,litdata,litdata-raw)
    LOADER_BENCH_VARIANTS  Hexz variants (default: all of global,block,dataloader,
                           seq-sampler,seq-dataloader)
    LOADER_BENCH_ORDERS    orders (default "shuffle,seq")
    LOADER_BENCH_EPOCH_S   stop an epoch after this many seconds (default 300)
    LOADER_BENCH_READAT    read_at calls (default 100000; 0 skips them)
    LOADER_BENCH_DIR       data and formats (default ~/.cache/hexz/loader-bench)
    LOADER_BENCH_OUT       report directory (default bench-out/)
    LOADER_BENCH_REBUILD   1 = rebuild every format (else reuse the ones built for the same data)
    LOADER_BENCH_RECORD    1 = regenerate docs/benchmarks.md's "Training loader vs LitData"
                           section (default: 1 at full size)
    LOADER_BENCH_VENV      the venv (default ~/.cache/hexz/bench-venv)
    HEXZ_PYTHON_PATH       where `import hexz` comes from (default crates/loader/python)

The code: ``loader_config.py`` (settings, environment variables, format names, ``log``),
``loader_data.py`` (the data set; building each format), ``loader_read.py`` (the loaders, an
epoch, the ``read`` and ``read_at`` stages) and ``loader_report.py`` (the Markdown report). This
file holds ``main``, the ``--stage KIND JSON`` entry point (each stage a fresh process of it) and
``build_all``; it re-exports every name of those modules, so ``import loader_bench`` (ddp_bench.py,
remote_loader.py) reaches them all as before, and ``build_all`` reads ``FORMATS`` from this
module (remote_loader.py sets ``loader_bench.FORMATS`` before calling it).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import measure
import runs

# Every name of the former single-file loader_bench.py stays reachable as loader_bench.NAME
# (ddp_bench.py and remote_loader.py use this script as a module); hence the unused imports.
from loader_config import (  # noqa: F401
    ALL_FORMATS,
    BASE_LABEL,
    BATCH,
    CACHE,
    CORPUS_BYTES,
    DATA,
    ENV_VARS,
    EPOCH_S,
    FORMATS,
    HEXZ_PY,
    HEXZ_SEQ_VARIANTS,
    HEXZ_SHUFFLE_VARIANTS,
    KNOWN_FORMATS,
    MAX,
    MIN,
    ORDERS,
    OUT,
    PEER_BASES,
    READAT_CALLS,
    REBUILD,
    RECORD,
    REQS,
    ROOT,
    SEED,
    VARIANT_LABEL,
    VARIANTS,
    VENV,
    WORKERS,
    N,
    _list,
    base,
    is_hexz,
    label,
    log,
    payload_kind,
)
from loader_data import (  # noqa: F401
    _data,
    _litdata_fn,
    _load,
    build,
    data_dir,
    data_key,
    disk_bytes,
    fmt_path,
    make_data,
    sample,
    total_bytes,
)
from loader_read import (  # noqa: F401
    FilesDataset,
    Skip,
    _wds_bin,
    archive_stats,
    epoch,
    hexz_loader,
    hexz_sampler,
    keep,
    keep_picklable,
    make_loader,
    order_summary,
    peer_collate,
    peer_module,
    read_amplification,
    run_read,
    run_read_at,
    warm,
)
from loader_report import (  # noqa: F401
    _f,
    find,
    read_row,
    report,
    row_name,
)
from machine import machine  # noqa: F401

# --- the venv ------------------------------------------------------------------------------


def ensure_venv() -> None:
    """Re-executes this script in the benchmark venv, creating or updating it when needed."""
    vpy = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    want = f"{sys.version.split()[0]} {hashlib.sha256(REQS.read_bytes()).hexdigest()}"
    stamp = VENV / ".hexz-bench-stamp"
    if not (vpy.exists() and stamp.exists() and stamp.read_text().strip() == want):
        if not vpy.exists():
            log(f"creating {VENV} with {sys.executable}")
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        log(f"installing {REQS.name} into {VENV} (torch, webdataset, mosaicml-streaming, litdata)")
        pip = [str(vpy), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True, stdin=subprocess.DEVNULL)
        subprocess.run([*pip, "-r", str(REQS)], check=True, stdin=subprocess.DEVNULL)
        stamp.write_text(want + "\n")
    os.execv(str(vpy), [str(vpy), str(Path(__file__).resolve()), *sys.argv[1:]])


# --- orchestration -------------------------------------------------------------------------


def stage(kind: str, cfg: dict) -> dict:
    """Runs one stage in a fresh process; returns its JSON result (or an error)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HEXZ_PY), env.get("PYTHONPATH")]))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--stage", kind, json.dumps(cfg)]
    t0 = time.perf_counter()
    limit = EPOCH_S + 600 if kind != "build" else None
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out_s, err_s = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        out_s, err_s = proc.communicate()
        err_s += f"\ntimed out after {limit:.0f} s (killed)"
    p = subprocess.CompletedProcess(cmd, proc.returncode, out_s, err_s)
    wall = time.perf_counter() - t0
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
    if p.returncode != 0 or not lines:
        err = (p.stderr.strip().splitlines() or ["(no output)"])[-1]
        log(f"{kind} {cfg} failed (exit {p.returncode}): {err}")
        sys.stderr.write(p.stderr[-3000:])
        return {**cfg, "error": err}
    out = json.loads(lines[-1][len("RESULT ") :])
    out["wall_s"] = wall
    return out


def stage_main(kind: str, cfg: dict) -> None:
    if kind == "build":
        res = build(cfg["fmt"])
        import resource

        res["peak_rss"] = (
            max(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
            )
            * 1024
        )
    elif kind == "read":
        res = run_read(cfg)
    elif kind == "read_at":
        res = run_read_at(cfg)
    else:
        raise ValueError(kind)
    print("RESULT " + json.dumps(res), flush=True)


def versions() -> dict:
    from importlib.metadata import version

    try:
        import hexz

        v = {"python": platform.python_version(), "hexz": hexz.__version__}
    except ImportError:
        v = {"python": platform.python_version(), "hexz": "not importable"}
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run(
        [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--", "crates"], capture_output=True, text=True, check=False
    )
    if head.returncode == 0:
        v["hexz"] += (
            f" (commit {head.stdout.strip()}{', crates/ modified' if dirty.stdout.strip() else ''})"
        )
    for pkg in ("torch", "numpy", "webdataset", "mosaicml-streaming", "litdata"):
        try:
            v[pkg] = version(pkg)
        except Exception:
            v[pkg] = "?"
    return v


def build_all(ver: dict) -> dict:
    """Builds (or reuses) every format of FORMATS; the build results by format."""
    builds = {}
    cache_file = data_dir() / "builds.json"
    cached = json.loads(cache_file.read_text()) if cache_file.exists() and not REBUILD else {}
    for fmt in FORMATS:
        # Plain files depend on no library's version (peer_module names hexz for them).
        dep = "" if base(fmt) == "files" else ver.get(peer_module(fmt), "")
        key = f"{fmt} {ver.get('hexz') if is_hexz(fmt) else dep}"
        if key in cached and fmt_path(fmt).exists() and "error" not in cached[key]:
            builds[fmt] = cached[key]
            log(f"build {fmt}: reusing ({cached[key]['pack_s']:.1f} s when built)")
            continue
        log(f"build {fmt} ...")
        res = stage("build", {"fmt": fmt})
        builds[fmt] = res
        if "error" not in res:
            cached[key] = res
            cache_file.write_text(json.dumps(cached, indent=1))
            log(f"build {fmt}: {res['pack_s']:.1f} s, {res['disk_bytes'] / 2**20:.0f} MiB")
    return builds


def read_configs(builds: dict) -> list[dict]:
    configs = []
    for fmt in FORMATS:
        if "error" in builds[fmt]:
            continue
        for order in ORDERS:
            if is_hexz(fmt):
                wanted = HEXZ_SHUFFLE_VARIANTS if order == "shuffle" else HEXZ_SEQ_VARIANTS
                variants = [v for v in wanted if v in VARIANTS]
            else:
                variants = ["peer"]
            for w in WORKERS:
                for v in variants:
                    configs.append({"fmt": fmt, "workers": w, "order": order, "variant": v})
    return configs


def log_read(r: dict) -> None:
    cfg = f"{r['fmt']:<11} {r['order']:<7} w={r['workers']} {r['variant']:<14}"
    if "skipped" in r:
        log(f"read {cfg} skipped: {r['skipped']}")
        return
    if "error" in r:
        return
    perm = measure.describe_epoch(r["epoch_check"], r.get("capped", False))
    amp = f", read amp {r['read_amp']:.2f}" if r.get("read_amp") else ""
    log(
        f"read {cfg} {r['samples_s']:>9,.0f} samples/s, {r['cpu_s']:.1f} CPU-s,"
        f" PSS {r['peak_pss'] / 2**20:,.0f} MiB, first batch {r['first_batch_total_s']:.2f} s,"
        f" {r['regions_per_batch']:.1f} regions/batch,"
        f" jump {r['mean_jump']:.3f}{amp}; {perm}"
    )


def main() -> int:
    ensure_venv()
    try:
        import hexz  # noqa: F401
    except ImportError as e:
        if any(is_hexz(f) for f in FORMATS):
            log(f"cannot import hexz from {HEXZ_PY} ({e}): build it first with `make develop`")
            return 1
    bad = [f for f in FORMATS if f not in KNOWN_FORMATS]
    if bad:
        log(f"unknown formats {bad}; choose from {KNOWN_FORMATS}")
        return 2
    started = datetime.datetime.now(datetime.UTC)
    load_start = os.getloadavg()
    t_start = time.perf_counter()
    log(f"data set: {N} samples of {MIN}-{MAX} bytes in {data_dir()}")
    make_data()
    payload = total_bytes()
    ver = versions()
    builds = build_all(ver)
    results = []
    for cfg in read_configs(builds):
        res = stage("read", cfg)
        results.append(res)
        log_read(res)
    lz4_ok = "hexz-lz4" in FORMATS and "error" not in builds["hexz-lz4"]
    read_at = stage("read_at", {}) if lz4_ok and READAT_CALLS else None
    elapsed = time.perf_counter() - t_start
    doc = {
        "samples": N,
        "sizes": [MIN, MAX],
        "batch": BATCH,
        "payload_bytes": payload,
        "formats": FORMATS,
        "workers": WORKERS,
        "elapsed_s": elapsed,
        "load_avg_start": load_start,
        "versions": ver,
        "builds": builds,
        "reads": results,
        "read_at": read_at,
    }
    run_dir = runs.write_run(
        "loader", doc, runs.command_line("make bench-loader", ENV_VARS), started
    )
    md = report(doc, started)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "loader.md").write_text(md)
    print(md)
    log(f"wrote {run_dir / 'results.json'} and {OUT / 'loader.md'}")
    if RECORD:
        import loader_peers_report

        loader_peers_report.update_docs()
        log(
            'regenerated the "Training loader vs LitData" section of docs/benchmarks.md'
            " from the newest runs"
        )
    else:
        log(
            "docs/benchmarks.md not touched"
            " (LOADER_BENCH_RECORD=1, or `python benchmarks/loader_peers_report.py`)"
        )
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--stage":
        stage_main(sys.argv[2], json.loads(sys.argv[3]) if len(sys.argv) > 3 else {})
    else:
        sys.exit(main())
