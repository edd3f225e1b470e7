"""The data set of the Python loader benchmark (``loader_bench.py``) and writing it in each
format: N samples whose sizes and offsets into two 64 MiB corpora (compressible and
incompressible) are drawn once and saved under ``data_dir()``, each sample starting with its
index; ``build(fmt)`` writes them as a Hexz archive, plain files, WebDataset shards, MDS or
LitData (run as the ``build`` stage in a fresh process).
"""

from __future__ import annotations

import functools
import os
import shutil
import time
from pathlib import Path

import measure
from loader_config import CORPUS_BYTES, DATA, MAX, MIN, SEED, N, base, is_hexz, payload_kind

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
