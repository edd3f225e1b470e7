"""Reading in the Python loader benchmark (``loader_bench.py``): the ``DataLoader`` of each
configuration (Hexz variants through ``hexz_loader``, also used for S3 by remote_loader.py; plain
files, WebDataset, MDS, LitData), one timed epoch with the order it yielded (``epoch``,
``order_summary``), the ``read`` stage (``run_read``: CPU, PSS, first batch, read amplification)
and the ``read_at`` stage (per-call latency of ``Reader.read_at``).
"""

from __future__ import annotations

import gc
import inspect
import time
from pathlib import Path

import measure
from loader_config import BATCH, EPOCH_S, READAT_CALLS, N, base, is_hexz
from loader_data import fmt_path

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
