"""Settings of the remote-archive benchmark (``remote_bench.py``): paths, programs, the
REMOTE_BENCH_* environment variables (documented in remote_bench.py's docstring), the
credentials given to the S3 servers, and two helpers every part uses (``log``, ``mib``).
Importing it puts ``crates/loader/python`` (or HEXZ_PYTHON_PATH) and ``benchmarks/`` on
``sys.path``; it imports only the standard library, and no module imports remote_bench.py.
"""

# Docstrings and comments keep their long lines.
# ruff: noqa: E501

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
for p in (str(HEXZ_PY), str(ROOT / "benchmarks")):
    if p not in sys.path:
        sys.path.insert(0, p)

# The entry script: stages and the moto server run as fresh processes of it.
SCRIPT = Path(__file__).resolve().parent / "remote_bench.py"

TARGET = Path(os.environ.get("CARGO_TARGET_DIR", CACHE / "target"))
HEXZ = Path(os.environ.get("HEXZ", TARGET / "release" / "hexz"))
FAULTPROXY = Path(os.environ.get("HEXZ_FAULTPROXY", TARGET / "release" / "hexz-faultproxy"))
NGINX = Path(os.environ.get("HEXZ_NGINX", "/usr/sbin/nginx"))
MOTO_SERVER = Path(os.environ.get("HEXZ_MOTO_SERVER", CACHE / "venv" / "bin" / "moto_server"))
TOOLS = CACHE / "tools"
S3S_FS_VERSION = "0.14.1"
S3S_FS = Path(os.environ.get("HEXZ_S3S_FS", TOOLS / "bin" / "s3s-fs"))

MB = int(os.environ.get("REMOTE_BENCH_MB", "0") or 0)
RUNS = int(os.environ.get("REMOTE_BENCH_RUNS", "5"))
TTFB_RUNS = int(os.environ.get("REMOTE_BENCH_TTFB_RUNS", "10"))
LATENCY_MS = int(os.environ.get("REMOTE_BENCH_LATENCY_MS", "20"))
ALL_ITEMS = ["read", "ttfb", "stock", "loader"]
ITEMS = [
    i.strip()
    for i in os.environ.get("REMOTE_BENCH_ITEMS", ",".join(ALL_ITEMS)).split(",")
    if i.strip()
]
SAMPLES = int(os.environ.get("REMOTE_BENCH_SAMPLES", "200000"))
WORKERS = [int(w) for w in os.environ.get("REMOTE_BENCH_WORKERS", "0,2").split(",") if w.strip()]
ORDERS = [
    o.strip() for o in os.environ.get("REMOTE_BENCH_ORDERS", "shuffle").split(",") if o.strip()
]
EPOCH_S = float(os.environ.get("REMOTE_BENCH_EPOCH_S", "60"))
HEXZ_S3_VARIANTS = [
    v.strip()
    for v in os.environ.get("REMOTE_BENCH_HEXZ_VARIANTS", "block,block-cache").split(",")
    if v.strip()
]
DATA = Path(os.environ.get("REMOTE_BENCH_DIR", CACHE / "remote-bench"))
OUT = Path(os.environ.get("REMOTE_BENCH_OUT", ROOT / "bench-out"))
BENCH_DATA = CACHE / "bench"
BUCKET = "bench"
BATCH = 64
DOC_HEADING = "## Remote archives"
ENV_VARS = [
    "REMOTE_BENCH_MB",
    "REMOTE_BENCH_RUNS",
    "REMOTE_BENCH_ITEMS",
    "REMOTE_BENCH_SAMPLES",
    "REMOTE_BENCH_WORKERS",
    "REMOTE_BENCH_ORDERS",
    "REMOTE_BENCH_EPOCH_S",
    "REMOTE_BENCH_LATENCY_MS",
    "REMOTE_BENCH_HEXZ_VARIANTS",
    "REMOTE_BENCH_FORMATS",
    "HEXZ_PYTHON_PATH",
]
# Credentials for moto (it accepts any); the AWS config files of the machine are kept out.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "hexzbench",
    "AWS_SECRET_ACCESS_KEY": "hexzbench",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent/hexz-bench-aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/hexz-bench-aws-credentials",
}


def log(msg: str) -> None:
    print(f"remote-bench: {msg}", file=sys.stderr, flush=True)


def mib(n: int) -> str:
    return f"{n / 2**20:,.0f}"
