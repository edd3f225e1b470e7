"""Settings of the Python loader benchmark (``loader_bench.py``): paths, the LOADER_BENCH_*
environment variables (documented in loader_bench.py's docstring), the formats and Hexz variants
and their labels, and small helpers on format names (``base``, ``payload_kind``, ``is_hexz``) and
``log``. Importing it puts ``crates/loader/python`` (or HEXZ_PYTHON_PATH) and ``benchmarks/`` on
``sys.path``; it imports only the standard library. ``loader_bench`` re-exports every name here.
"""

from __future__ import annotations

import os
import sys
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
    "block": "`ds.sampler(shuffle=True)` (block, the default)",
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
