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
(``issue11_report.py``).

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
"""

from __future__ import annotations

import datetime
import functools
import gc
import hashlib
import inspect
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("HEXZ_CACHE", Path.home() / ".cache" / "hexz"))
VENV = Path(os.environ.get("LOADER_BENCH_VENV", CACHE / "bench-venv"))
REQS = ROOT / "benchmarks" / "requirements-peers.txt"
# Where `import hexz` comes from (HEXZ_PYTHON_PATH: another checkout or a built copy).
HEXZ_PY = Path(os.environ.get("HEXZ_PYTHON_PATH", ROOT / "crates" / "loader" / "python"))
for _p in (str(HEXZ_PY), str(ROOT / "benchmarks")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import measure  # noqa: E402
import runs  # noqa: E402
from machine import machine  # noqa: E402


def _list(var: str, default: str) -> list[str]:
    return [x.strip() for x in os.environ.get(var, default).split(",") if x.strip()]


N = int(os.environ.get("LOADER_BENCH_SAMPLES", "200000"))
MIN = int(os.environ.get("LOADER_BENCH_MIN", "4096"))
MAX = int(os.environ.get("LOADER_BENCH_MAX", "16384"))
SEED = 1234
WORKERS = [int(w) for w in _list("LOADER_BENCH_WORKERS", "0,2")]
ALL_FORMATS = [
    "hexz-lz4",
    "hexz-zstd",
    "hexz-raw",
    "files",
    "files-raw",
    "webdataset",
    "mds",
    "litdata",
    "litdata-raw",
]
PEER_BASES = ["files", "webdataset", "mds", "litdata"]
KNOWN_FORMATS = ALL_FORMATS + ["webdataset-raw", "mds-raw"]
FORMATS = _list("LOADER_BENCH_FORMATS", ",".join(ALL_FORMATS))
HEXZ_SHUFFLE_VARIANTS = ["global", "block", "dataloader"]
HEXZ_SEQ_VARIANTS = ["seq-sampler", "seq-dataloader"]
VARIANTS = _list("LOADER_BENCH_VARIANTS", ",".join(HEXZ_SHUFFLE_VARIANTS + HEXZ_SEQ_VARIANTS))
ORDERS = _list("LOADER_BENCH_ORDERS", "shuffle,seq")
EPOCH_S = float(os.environ.get("LOADER_BENCH_EPOCH_S", "300"))
READAT_CALLS = int(os.environ.get("LOADER_BENCH_READAT", "100000"))
DATA = Path(os.environ.get("LOADER_BENCH_DIR", CACHE / "loader-bench"))
OUT = Path(os.environ.get("LOADER_BENCH_OUT", ROOT / "bench-out"))
REBUILD = os.environ.get("LOADER_BENCH_REBUILD", "0") == "1"
RECORD = os.environ.get("LOADER_BENCH_RECORD", "1" if N >= 200000 else "0") == "1"
ENV_VARS = [
    "LOADER_BENCH_SAMPLES",
    "LOADER_BENCH_MIN",
    "LOADER_BENCH_MAX",
    "LOADER_BENCH_WORKERS",
    "LOADER_BENCH_FORMATS",
    "LOADER_BENCH_VARIANTS",
    "LOADER_BENCH_ORDERS",
    "LOADER_BENCH_EPOCH_S",
    "HEXZ_PYTHON_PATH",
]
BATCH = 64
CORPUS_BYTES = 64 << 20
BASE_LABEL = {
    "hexz-lz4": "Hexz LZ4",
    "hexz-zstd": "Hexz Zstd",
    "hexz-raw": "Hexz raw",
    "files": "plain files",
    "webdataset": "WebDataset",
    "mds": "MosaicML MDS",
    "litdata": "LitData",
}
VARIANT_LABEL = {
    "global": '`ds.sampler(shuffle="global")`',
    "block": '`ds.sampler(shuffle=True)` (block, the default)',
    "dataloader": "`DataLoader(ds, shuffle=True)`",
    "seq-sampler": "`ds.sampler(shuffle=False)`",
    "seq-dataloader": "`DataLoader(ds)`",
    "peer": "",
}


def label(fmt: str) -> str:
    if fmt in BASE_LABEL:
        return BASE_LABEL[fmt]
    return BASE_LABEL[base(fmt)] + " (incompressible)"


def base(fmt: str) -> str:
    """``files-raw`` -> ``files``; Hexz formats keep their name."""
    return fmt if fmt.startswith("hexz-") else fmt.removesuffix("-raw")


def payload_kind(fmt: str) -> str:
    """``raw`` (incompressible samples) or ``comp``."""
    return "raw" if fmt.endswith("-raw") else "comp"


def is_hexz(fmt: str) -> bool:
    return fmt.startswith("hexz-")


def log(msg: str) -> None:
    print(f"loader-bench: {msg}", file=sys.stderr, flush=True)


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


# --- the data set --------------------------------------------------------------------------

_data: dict = {}


def data_key() -> str:
    # "idx": every sample starts with its index (data of older runs lacks it and is rebuilt).
    return f"idx-n{N}-s{MIN}-{MAX}-seed{SEED}"


def data_dir() -> Path:
    return DATA / data_key()


def make_data() -> None:
    """Sizes, offsets into two 64 MiB corpora (compressible, incompressible), saved once."""
    import numpy as np

    d = data_dir()
    if (d / "offsets.npy").exists() and (d / "corpus-raw.npy").exists():
        return
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    half = rng.integers(0, 256, size=(CORPUS_BYTES // 256, 128), dtype=np.uint8)
    np.save(d / "corpus.npy", np.concatenate([half, half], axis=1).reshape(-1))
    np.save(d / "sizes.npy", rng.integers(MIN, MAX + 1, size=N, dtype=np.int64))
    np.save(d / "offsets.npy", rng.integers(0, CORPUS_BYTES - MAX, size=N, dtype=np.int64))
    np.save(d / "corpus-raw.npy", rng.integers(0, 256, size=CORPUS_BYTES, dtype=np.uint8))


def _load() -> dict:
    if not _data:
        import numpy as np

        d = data_dir()
        _data["comp"] = np.load(d / "corpus.npy", mmap_mode="r")
        _data["raw"] = np.load(d / "corpus-raw.npy", mmap_mode="r")
        _data["sizes"] = np.load(d / "sizes.npy")
        _data["offsets"] = np.load(d / "offsets.npy")
    return _data


def sample(i: int, kind: str = "comp") -> bytes:
    """Sample ``i``: its index (8 bytes, little-endian), then bytes of the corpus of ``kind``."""
    d = _load()
    o, n = int(d["offsets"][i]), int(d["sizes"][i])
    return measure.index_prefix(i) + d[kind][o + measure.INDEX_BYTES : o + n].tobytes()


def total_bytes() -> int:
    return int(_load()["sizes"].sum())


def fmt_path(fmt: str) -> Path:
    d = data_dir()
    if is_hexz(fmt):
        return d / f"{fmt}.hxz"
    suffix = "-raw" if payload_kind(fmt) == "raw" else ""
    return d / (
        {"webdataset": "wds", "files": "files", "mds": "mds", "litdata": "litdata"}[base(fmt)]
        + suffix
    )


def disk_bytes(p: Path) -> int:
    if p.is_file():
        return p.stat().st_size
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


# --- building ------------------------------------------------------------------------------


def _litdata_fn(i: int, kind: str) -> bytes:
    return sample(i, kind)


def build(fmt: str) -> dict:
    """Writes the data set in one format; returns the time it took."""
    out = fmt_path(fmt)
    if out.is_dir():
        shutil.rmtree(out)
    elif out.exists():
        out.unlink()
    _load()
    kind = payload_kind(fmt)
    samples = functools.partial(sample, kind=kind)
    t0 = time.perf_counter()
    if is_hexz(fmt):
        import hexz

        codec = "lz4" if fmt == "hexz-raw" else fmt.split("-")[1]
        with hexz.Writer(str(out), compression=codec) as w:
            w.add_records((samples(i) for i in range(N)), name="samples")
    elif base(fmt) == "files":
        for i in range(N):
            sub = out / f"{i // 1000:04d}"
            if i % 1000 == 0:
                sub.mkdir(parents=True)
            with open(sub / f"{i:08d}.bin", "wb") as f:
                f.write(samples(i))
        os.sync()
    elif base(fmt) == "webdataset":
        import webdataset as wds

        out.mkdir(parents=True)
        with wds.ShardWriter(str(out / "shard-%05d.tar"), maxcount=10000, verbose=0) as sink:
            for i in range(N):
                sink.write({"__key__": f"{i:08d}", "bin": samples(i)})
    elif base(fmt) == "mds":
        from streaming import MDSWriter

        with MDSWriter(
            out=str(out), columns={"data": "bytes"}, compression=None, size_limit=1 << 26
        ) as w:
            for i in range(N):
                w.write({"data": samples(i)})
    elif base(fmt) == "litdata":
        import litdata

        litdata.optimize(
            fn=functools.partial(_litdata_fn, kind=kind),
            inputs=list(range(N)),
            output_dir=str(out),
            chunk_bytes="64MB",
            num_workers=os.cpu_count() or 1,
            verbose=False,
        )
    else:
        raise ValueError(fmt)
    return {"pack_s": time.perf_counter() - t0, "disk_bytes": disk_bytes(out)}


# --- reading -------------------------------------------------------------------------------


class Skip(Exception):
    """A configuration the installed hexz cannot run (an API not there yet)."""


def keep(batch):
    """collate_fn: the batch as a plain list of samples (no stacking)."""
    return batch


def keep_picklable(batch):
    """collate_fn for num_workers > 0: the same list, with memoryviews (LitData's samples)
    turned into bytes, since a worker must pickle the batch to send it."""
    return [bytes(x) if isinstance(x, memoryview) else x for x in batch]


def peer_collate(workers: int):
    return keep_picklable if workers else keep


class FilesDataset:
    """Map-style dataset over one file per sample."""

    def __init__(self, root: Path, n: int) -> None:
        self.paths = [str(root / f"{i // 1000:04d}" / f"{i:08d}.bin") for i in range(n)]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> bytes:
        with open(self.paths[i], "rb") as f:
            return f.read()


def _wds_bin(s):
    return s["bin"]


def hexz_sampler(ds, variant: str):
    """The sampler of a Hexz variant (None: the DataLoader's own); Skip when this hexz lacks it."""
    arg = {"global": "global", "block": "block", "seq-sampler": False}.get(variant)
    if arg is None:
        return None
    if arg == "block" and "block_samples" not in inspect.signature(ds.sampler).parameters:
        # An older sampler would take "block" as a true value and shuffle globally.
        raise Skip('ds.sampler(shuffle="block") is not in this hexz (no block shuffle yet)')
    try:
        return ds.sampler(shuffle=arg, seed=0)
    except (TypeError, ValueError) as e:
        raise Skip(f"ds.sampler(shuffle={arg!r}) is not available in this hexz ({e})") from e


def hexz_loader(path: str, workers: int, variant: str, **open_kw):
    """``(DataLoader, Dataset)`` of one Hexz variant, with ``hexz.collate`` where hexz has it.
    ``open_kw`` go to ``hexz.Dataset`` (``endpoint=``, ``cache_dir=`` for remote reads)."""
    import torch.utils.data as tud

    import hexz

    try:
        ds = hexz.Dataset(path, **open_kw)
    except TypeError as e:
        raise Skip(f"hexz.Dataset does not take {sorted(open_kw)} yet ({e})") from e
    collate = getattr(hexz, "collate", None) or peer_collate(workers)
    kw = dict(batch_size=BATCH, num_workers=workers, collate_fn=collate)
    sampler = hexz_sampler(ds, variant)
    if sampler is not None:
        return tud.DataLoader(ds, sampler=sampler, **kw), ds
    return tud.DataLoader(ds, shuffle=variant == "dataloader", **kw), ds


def make_loader(fmt: str, workers: int, order: str, variant: str):
    """``(DataLoader, Hexz Dataset or None)`` of one configuration, over local files."""
    import torch.utils.data as tud

    shuffle = order == "shuffle"
    p = fmt_path(fmt)
    if is_hexz(fmt):
        return hexz_loader(str(p), workers, variant)
    kw = dict(batch_size=BATCH, num_workers=workers, collate_fn=peer_collate(workers))
    if base(fmt) == "files":
        return tud.DataLoader(FilesDataset(p, N), shuffle=shuffle, **kw), None
    if base(fmt) == "webdataset":
        import webdataset as wds

        urls = sorted(str(u) for u in p.glob("shard-*.tar"))
        ds = wds.WebDataset(
            urls, shardshuffle=len(urls) if shuffle else False, empty_check=False, seed=0
        )
        if shuffle:
            ds = ds.shuffle(1000)
        return tud.DataLoader(ds.map(_wds_bin), **kw), None
    if base(fmt) == "mds":
        from streaming import StreamingDataset
        from streaming.base.util import clean_stale_shared_memory

        clean_stale_shared_memory()
        ds = StreamingDataset(local=str(p), shuffle=shuffle, batch_size=BATCH, shuffle_seed=0)
        return tud.DataLoader(ds, **kw), None
    if base(fmt) == "litdata":
        import litdata

        ds = litdata.StreamingDataset(str(p), shuffle=shuffle, seed=0)
        return litdata.StreamingDataLoader(ds, **kw), None
    raise ValueError(fmt)


def peer_module(fmt: str) -> str:
    return {"webdataset": "webdataset", "mds": "streaming", "litdata": "litdata"}.get(
        base(fmt), "hexz"
    )


def warm(p: Path) -> None:
    files = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file())
    buf = bytearray(8 << 20)
    for f in files:
        with open(f, "rb", buffering=0) as fh:
            while fh.readinto(buf):
                pass


def archive_stats(ds) -> dict | None:
    """The archive's read counters (``bytes_decoded``, ``bytes_returned``) when hexz has them."""
    fn = getattr(ds, "stats", None)
    if fn is None:
        return None
    try:
        st = fn()
    except Exception:
        return None
    if not isinstance(st, dict) or "bytes_decoded" not in st:
        return None
    return {k: st[k] for k in ("bytes_decoded", "bytes_returned") if k in st}


def read_amplification(before: dict | None, after: dict | None) -> float | None:
    """Bytes decoded / bytes returned between two ``archive_stats``; None when unknown."""
    if not before or not after or "bytes_returned" not in after:
        return None
    ret = after["bytes_returned"] - before.get("bytes_returned", 0)
    dec = after["bytes_decoded"] - before.get("bytes_decoded", 0)
    return dec / ret if ret > 0 else None


def epoch(loader, limit_s: float) -> dict:
    """Iterates one epoch: samples, bytes, the order yielded, time to the first batch."""
    t0 = time.perf_counter()
    n = b = 0
    order: list[int] = []
    first = None
    capped = False
    for batch in loader:
        if first is None:
            first = time.perf_counter() - t0
        n += len(batch)
        b += measure.batch_nbytes(batch)
        order.extend(measure.batch_indices(batch))
        if time.perf_counter() - t0 > limit_s:
            capped = True
            break
    dt = time.perf_counter() - t0
    return {
        "samples": n,
        "bytes": b,
        "seconds": dt,
        "first_batch_s": first,
        "capped": capped,
        "order": order,
    }


def order_summary(order: list[int], n: int, capped: bool) -> dict:
    """The epoch check (every sample once?) and the shuffle quality of the order yielded."""
    check = measure.check_epoch(order, n)
    if capped:
        check["note"] = "epoch capped (LOADER_BENCH_EPOCH_S)"
    return {"epoch_check": check, **measure.shuffle_quality(order, n)}


def run_read(cfg: dict) -> dict:
    import importlib

    import torch.utils.data  # noqa: F401  (imports are not timed)

    fmt, workers, order, variant = cfg["fmt"], cfg["workers"], cfg["order"], cfg["variant"]
    importlib.import_module(peer_module(fmt))
    warm(fmt_path(fmt))
    mon = measure.TreeMonitor().start()
    t_open = time.perf_counter()
    try:
        loader, ds = make_loader(fmt, workers, order, variant)
    except Skip as e:
        mon.stop()
        return {**cfg, "skipped": str(e)}
    open_s = time.perf_counter() - t_open
    st0 = archive_stats(ds) if ds is not None and workers == 0 else None
    ep = epoch(loader, EPOCH_S)
    st1 = archive_stats(ds) if st0 is not None else None
    collate = getattr(loader, "collate_fn", None)
    del loader
    gc.collect()
    usage = mon.stop()
    dt = ep["seconds"]
    return {
        **cfg,
        **{k: v for k, v in ep.items() if k != "order"},
        **order_summary(ep["order"], N, ep["capped"]),
        **usage,
        "open_s": open_s,
        "first_batch_total_s": open_s + (ep["first_batch_s"] or dt),
        "samples_s": ep["samples"] / dt,
        "mb_s": ep["bytes"] / dt / 1e6,
        "collate": getattr(collate, "__module__", "?") + "." + getattr(collate, "__name__", "?"),
        "read_amp": read_amplification(st0, st1),
        "archive_stats": st1,
    }


def run_read_at(_cfg: dict) -> dict:
    """Reader.read_at of 4 KiB: per-call latency, warm."""
    import numpy as np

    import hexz

    path = str(fmt_path("hexz-lz4"))
    warm(Path(path))
    r = hexz.Reader(path)
    size = len(r)
    rng = np.random.default_rng(7)
    calls = READAT_CALLS
    clock = time.perf_counter_ns
    res = {}

    def timed(fn, offsets):
        lat = np.empty(len(offsets), dtype=np.int64)
        for k, o in enumerate(offsets):
            t = clock()
            fn(o, 4096)
            lat[k] = clock() - t
        return lat

    # Cache-resident: random 4 KiB-aligned offsets in the first 16 MiB (the default block
    # cache holds 64 MiB), after one pass that loads those blocks.
    window = min(size, 16 << 20) // 4096
    offs = [int(o) * 4096 for o in rng.integers(0, window, size=calls)]
    for o in range(0, window * 4096, 4096):
        r.read_at(o, 4096)
    overhead = np.median(timed(lambda o, n: None, offs[:10000]))
    for name, fn in (("reader", r.read_at), ("native", r._check().read_at)):
        lat = timed(fn, offs)
        res[name] = {
            "p50_us": float(np.percentile(lat, 50)) / 1e3,
            "p99_us": float(np.percentile(lat, 99)) / 1e3,
            "mean_us": float(lat.mean()) / 1e3,
        }
    # Anywhere in the archive: mostly block-cache misses (page cache warm, LZ4 decode of a
    # 64 KiB block per call).
    offs = [int(o) for o in rng.integers(0, size - 4096, size=min(calls, 20000))]
    lat = timed(r.read_at, offs)
    res["uncached"] = {
        "p50_us": float(np.percentile(lat, 50)) / 1e3,
        "p99_us": float(np.percentile(lat, 99)) / 1e3,
        "mean_us": float(lat.mean()) / 1e3,
    }
    res["timer_overhead_us"] = float(overhead) / 1e3
    res["calls"] = calls
    return res


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
        import issue11_report

        issue11_report.update_docs()
        log(
            'regenerated the "Training loader vs LitData" section of docs/benchmarks.md'
            " from the newest runs"
        )
    else:
        log(
            "docs/benchmarks.md not touched"
            " (LOADER_BENCH_RECORD=1, or `python benchmarks/issue11_report.py`)"
        )
    return 0


# --- report --------------------------------------------------------------------------------


def row_name(r: dict) -> str:
    v = VARIANT_LABEL.get(r["variant"], r["variant"])
    return label(r["fmt"]) + (f", {v}" if v else "")


def _f(x, spec: str, scale: float = 1.0) -> str:
    return "n/a" if x is None else format(x / scale, spec)


def read_row(r: dict, litdata: dict | None) -> str:
    if "skipped" in r:
        return f"| {row_name(r)} | {r['workers']} | skipped: {r['skipped'][:90]} |" + " |" * 9
    if "error" in r:
        return f"| {row_name(r)} | {r['workers']} | failed: {r['error'][:90]} |" + " |" * 9
    once = measure.describe_epoch(r["epoch_check"], r.get("capped", False))
    x = f"{r['samples_s'] / litdata['samples_s']:.2f}x" if litdata else "–"
    return (
        f"| {row_name(r)} | {r['workers']} | {r['samples_s']:,.0f} | {x} | {r['mb_s']:,.0f}"
        f" | {r['cpu_s']:.1f} | {r['peak_pss'] / 2**20:,.0f} | {r['first_batch_total_s']:.2f}"
        f" | {r['regions_per_batch']:.1f}"
        f" | {r['mean_jump']:.3f} | {_f(r.get('read_amp'), '.2f')} | {once} |"
    )


def find(results: list, fmt: str, order: str, workers: int, variant: str = "peer") -> dict | None:
    for r in results:
        if (r.get("fmt"), r.get("order"), r.get("workers"), r.get("variant")) == (
            fmt,
            order,
            workers,
            variant,
        ):
            return r if "samples_s" in r else None
    return None


def report(doc: dict, started: datetime.datetime) -> str:
    results, builds, payload = doc["reads"], doc["builds"], doc["payload_bytes"]
    lines: list[str] = []
    a = lines.append
    a(f"### Loader run of {started:%Y-%m-%d %H:%M} UTC")
    a("")
    a(
        f"- Command: `{runs.command_line('make bench-loader', ENV_VARS)}`,"
        f" {doc['elapsed_s'] / 60:.0f} min in all."
    )
    a(f"- Machine: {machine()}; load average {doc['load_avg_start'][0]:.1f} at the start.")
    a("- Versions: " + ", ".join(f"{k} {v}" for k, v in doc["versions"].items()) + ".")
    a(
        f"- Data: {N:,} samples of {MIN:,}–{MAX:,} bytes ({payload / 1e9:.2f} GB), each starting"
        " with its index; compressible (rows of 128 random bytes written twice) or, for `-raw`"
        " formats, random bytes."
    )
    collates = sorted(
        {r["collate"] for r in results if is_hexz(r.get("fmt", "")) and "collate" in r}
    )
    if collates:
        a(
            f"- Hexz `collate_fn`: {', '.join(f'`{c}`' for c in collates)}"
            " (`hexz.collate` where hexz has it, else the list of samples); peers: the list."
        )
    a("")
    a("| Format | Pack (s) | On disk (MiB) | vs payload |")
    a("|---|---:|---:|---:|")
    for fmt in FORMATS:
        b = builds.get(fmt, {})
        if not b or "error" in b:
            a(f"| {label(fmt)} | failed: {b.get('error', '?')} | | |")
            continue
        a(
            f"| {label(fmt)} | {b['pack_s']:.1f} | {b['disk_bytes'] / 2**20:,.0f}"
            f" | {b['disk_bytes'] / payload:.2f}x |"
        )
    a("")
    head = (
        "| Configuration | num_workers | Samples/s | × LitData | MB/s | CPU-s | Peak PSS (MiB)"
        " | First batch (s)"
        " | Regions/batch | Mean jump | Read amp. | Each sample once |"
    )
    for order, title in (("shuffle", "shuffled"), ("seq", "sequential")):
        rows = [r for r in results if r.get("order") == order]
        if not rows:
            continue
        a(f"#### Reads, {title}")
        a("")
        a(head)
        a("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in rows:
            ref_fmt = (
                "litdata-raw"
                if payload_kind(r["fmt"]) == "raw" or r["fmt"] == "hexz-raw"
                else "litdata"
            )
            a(read_row(r, find(results, ref_fmt, order, r["workers"])))
        a("")
    a(
        f"Regions/batch: distinct 1/256ths of the original order among the {BATCH} samples of a"
        f" batch (sequential 1, full random permutation {measure.expected_regions():.1f}); mean"
        " jump: mean |i[k+1] − i[k]| / N (full permutation ≈ 0.333). × LitData: against LitData"
        " with the same order and num_workers (incompressible rows against LitData over the"
        " incompressible data). CPU-s: user + sys of the process and its workers for the epoch;"
        " PSS summed over the process tree. Read amp.:"
        " bytes decoded / bytes returned (Hexz, num_workers=0, when the archive reports it)."
    )
    a("")
    ra = doc.get("read_at")
    if ra:
        a("#### `Reader.read_at` of 4 KiB (Hexz LZ4 archive), per call")
        a("")
        a("| Case | p50 (µs) | p99 (µs) | mean (µs) |")
        a("|---|---:|---:|---:|")
        for key in ("reader", "native", "uncached"):
            s = ra[key]
            a(f"| {key} | {s['p50_us']:.2f} | {s['p99_us']:.2f} | {s['mean_us']:.2f} |")
        a("")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--stage":
        stage_main(sys.argv[2], json.loads(sys.argv[3]) if len(sys.argv) > 3 else {})
    else:
        sys.exit(main())
