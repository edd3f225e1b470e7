#!/usr/bin/env python3
"""Python loader benchmark (issue 3): Hexz against plain files, WebDataset, MosaicML Streaming
and LitData, all fed through ``torch.utils.data.DataLoader``.

Run by ``make bench-loader``; any Python >= 3.11 can start it. It creates its own venv
(``~/.cache/hexz/bench-venv``, from ``benchmarks/requirements-peers.txt``, skipped when the stamp
is current) and re-runs itself there. Hexz is imported from ``crates/loader/python`` (build the
native module first: ``make develop``).

One data set for every format: N samples of random-but-compressible bytes (each 256-byte row
is 128 random bytes written twice, so LZ4 and Zstd both get about 2x), sizes uniform in
[MIN, MAX]. It is written as

- Hexz archives, LZ4 and Zstd (``Writer.add_records``: one record per sample);
- plain files on disk, one file per sample (1000 per directory);
- WebDataset tar shards (10,000 samples per shard);
- MosaicML Streaming MDS shards (one ``bytes`` column, no compression, 64 MiB shards);
- LitData optimized chunks (``litdata.optimize``, 64 MB chunks, no compression);

and the pack/convert time of each is recorded. Each read configuration then runs in a fresh
process, page cache warm (every file of the format is read once first): one epoch through
``DataLoader(batch_size=64, collate_fn=<keep the list of samples>)`` with ``num_workers`` 0 and
2, shuffled and sequential. Hexz also runs with ``sampler=dataset.sampler(...)``, which
announces the order so Rust threads prefetch ahead. WebDataset is iterable-only: its shuffled
runs use ``shardshuffle`` plus a 1000-sample shuffle buffer. MDS and LitData shuffle through
their own ``shuffle=True``. Reported: samples/s, MB/s (payload bytes), peak RSS of the process
tree (main process + DataLoader workers, summed). Finally ``Reader.read_at`` of 4 KiB is timed
per call (p50, p99), warm.

Environment:
    LOADER_BENCH_SAMPLES   samples (default 200000; 20000 for a quick run)
    LOADER_BENCH_MIN       smallest sample in bytes (default 4096)
    LOADER_BENCH_MAX       largest sample in bytes (default 16384)
    LOADER_BENCH_WORKERS   num_workers values (default "0,2")
    LOADER_BENCH_FORMATS   subset, comma-separated (default: all of
                           hexz-lz4,hexz-zstd,files,webdataset,mds,litdata)
    LOADER_BENCH_EPOCH_S   stop an epoch after this many seconds (default 300)
    LOADER_BENCH_READAT    read_at calls (default 100000)
    LOADER_BENCH_DIR       data and formats (default ~/.cache/hexz/loader-bench)
    LOADER_BENCH_OUT       report directory (default bench-out/)
    LOADER_BENCH_REBUILD   1 = rebuild every format (else reuse the ones built for the same data)
    LOADER_BENCH_RECORD    1 = append the results to docs/benchmarks.md (default: 1 at full size)
    LOADER_BENCH_VENV      the venv (default ~/.cache/hexz/bench-venv)
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("HEXZ_CACHE", Path.home() / ".cache" / "hexz"))
VENV = Path(os.environ.get("LOADER_BENCH_VENV", CACHE / "bench-venv"))
REQS = ROOT / "benchmarks" / "requirements-peers.txt"
HEXZ_PY = ROOT / "crates" / "loader" / "python"
if str(HEXZ_PY) not in sys.path:
    sys.path.insert(0, str(HEXZ_PY))

N = int(os.environ.get("LOADER_BENCH_SAMPLES", "200000"))
MIN = int(os.environ.get("LOADER_BENCH_MIN", "4096"))
MAX = int(os.environ.get("LOADER_BENCH_MAX", "16384"))
SEED = 1234
WORKERS = [int(w) for w in os.environ.get("LOADER_BENCH_WORKERS", "0,2").split(",") if w.strip()]
ALL_FORMATS = ["hexz-lz4", "hexz-zstd", "files", "webdataset", "mds", "litdata"]
FORMATS = [
    f.strip() for f in os.environ.get("LOADER_BENCH_FORMATS", ",".join(ALL_FORMATS)).split(",") if f.strip()
]
EPOCH_S = float(os.environ.get("LOADER_BENCH_EPOCH_S", "300"))
READAT_CALLS = int(os.environ.get("LOADER_BENCH_READAT", "100000"))
DATA = Path(os.environ.get("LOADER_BENCH_DIR", CACHE / "loader-bench"))
OUT = Path(os.environ.get("LOADER_BENCH_OUT", ROOT / "bench-out"))
REBUILD = os.environ.get("LOADER_BENCH_REBUILD", "0") == "1"
RECORD = os.environ.get("LOADER_BENCH_RECORD", "1" if N >= 200000 else "0") == "1"
BATCH = 64
CORPUS_BYTES = 64 << 20
PEERS = ["webdataset", "mds", "litdata"]
LABEL = {
    "hexz-lz4": "Hexz LZ4",
    "hexz-zstd": "Hexz Zstd",
    "files": "plain files",
    "webdataset": "WebDataset",
    "mds": "MosaicML MDS",
    "litdata": "LitData",
}
DOC_HEADING = "## Python loader (issue 3)"


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

_corpus = None
_sizes = None
_offsets = None


def data_key() -> str:
    return f"n{N}-s{MIN}-{MAX}-seed{SEED}"


def data_dir() -> Path:
    return DATA / data_key()


def make_data() -> None:
    import numpy as np

    d = data_dir()
    if (d / "offsets.npy").exists():
        return
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    half = rng.integers(0, 256, size=(CORPUS_BYTES // 256, 128), dtype=np.uint8)
    corpus = np.concatenate([half, half], axis=1).reshape(-1)
    sizes = rng.integers(MIN, MAX + 1, size=N, dtype=np.int64)
    offsets = rng.integers(0, len(corpus) - MAX, size=N, dtype=np.int64)
    np.save(d / "corpus.npy", corpus)
    np.save(d / "sizes.npy", sizes)
    np.save(d / "offsets.npy", offsets)


def _load() -> None:
    global _corpus, _sizes, _offsets
    if _corpus is None:
        import numpy as np

        d = data_dir()
        _corpus = np.load(d / "corpus.npy", mmap_mode="r")
        _sizes = np.load(d / "sizes.npy")
        _offsets = np.load(d / "offsets.npy")


def sample(i: int) -> bytes:
    _load()
    o = int(_offsets[i])
    return _corpus[o : o + int(_sizes[i])].tobytes()


def total_bytes() -> int:
    _load()
    return int(_sizes.sum())


def fmt_path(fmt: str) -> Path:
    d = data_dir()
    return {
        "hexz-lz4": d / "hexz-lz4.hxz",
        "hexz-zstd": d / "hexz-zstd.hxz",
        "files": d / "files",
        "webdataset": d / "wds",
        "mds": d / "mds",
        "litdata": d / "litdata",
    }[fmt]


def disk_bytes(p: Path) -> int:
    if p.is_file():
        return p.stat().st_size
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


# --- building ------------------------------------------------------------------------------


def _litdata_fn(i: int) -> bytes:
    return sample(i)


def build(fmt: str) -> dict:
    """Writes the data set in one format; returns the time it took."""
    out = fmt_path(fmt)
    if out.is_dir():
        shutil.rmtree(out)
    elif out.exists():
        out.unlink()
    _load()
    t0 = time.perf_counter()
    if fmt.startswith("hexz-"):
        import hexz

        with hexz.Writer(str(out), compression=fmt.split("-")[1]) as w:
            w.add_records((sample(i) for i in range(N)), name="samples")
    elif fmt == "files":
        for i in range(N):
            sub = out / f"{i // 1000:04d}"
            if i % 1000 == 0:
                sub.mkdir(parents=True)
            with open(sub / f"{i:08d}.bin", "wb") as f:
                f.write(sample(i))
    elif fmt == "webdataset":
        import webdataset as wds

        out.mkdir(parents=True)
        with wds.ShardWriter(str(out / "shard-%05d.tar"), maxcount=10000, verbose=0) as sink:
            for i in range(N):
                sink.write({"__key__": f"{i:08d}", "bin": sample(i)})
    elif fmt == "mds":
        from streaming import MDSWriter

        with MDSWriter(out=str(out), columns={"data": "bytes"}, compression=None, size_limit=1 << 26) as w:
            for i in range(N):
                w.write({"data": sample(i)})
    elif fmt == "litdata":
        import litdata

        litdata.optimize(
            fn=_litdata_fn,
            inputs=list(range(N)),
            output_dir=str(out),
            chunk_bytes="64MB",
            num_workers=os.cpu_count() or 1,
            verbose=False,
        )
    else:
        raise ValueError(fmt)
    if fmt == "files":
        os.sync()
    return {"pack_s": time.perf_counter() - t0, "disk_bytes": disk_bytes(out)}


# --- reading -------------------------------------------------------------------------------


def keep(batch):
    """collate_fn: the batch as a plain list of samples (no stacking)."""
    return batch


def keep_picklable(batch):
    """collate_fn for num_workers > 0: the same list, with memoryviews (LitData's samples)
    turned into bytes, since a worker must pickle the batch to send it."""
    return [bytes(x) if isinstance(x, memoryview) else x for x in batch]


def nbytes(x) -> int:
    if isinstance(x, (bytes, bytearray, memoryview)):
        return len(x)
    if isinstance(x, dict):
        return sum(nbytes(v) for k, v in x.items() if not str(k).startswith("__"))
    if isinstance(x, (tuple, list)):
        return sum(nbytes(v) for v in x)
    return int(x.nbytes)


class FilesDataset:
    """Map-style dataset over one file per sample."""

    def __init__(self, root: Path, n: int) -> None:
        self.paths = [str(root / f"{i // 1000:04d}" / f"{i:08d}.bin") for i in range(n)]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> bytes:
        with open(self.paths[i], "rb") as f:
            return f.read()


class WindowShuffle:
    """A LitData/MDS-style shuffle, defined here (not part of hexz): windows of 512
    consecutive samples in random order, then a random order within each group of 8 windows
    (a 4096-sample shuffle buffer). Reads stay local, so each decoded block serves several
    samples; the order is less random than a full permutation."""

    def __init__(self, n: int, seed: int = 0, window: int = 512, group: int = 8) -> None:
        self.n, self.seed, self.window, self.group = n, seed, window, group

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        import numpy as np

        rng = np.random.default_rng(self.seed)
        w = self.window
        wins = rng.permutation((self.n + w - 1) // w)
        for g in range(0, len(wins), self.group):
            idx = np.concatenate(
                [np.arange(k * w, min(self.n, (k + 1) * w)) for k in wins[g : g + self.group]]
            )
            yield from rng.permutation(idx).tolist()


def _wds_bin(s):
    return s["bin"]


def make_loader(fmt: str, workers: int, order: str, variant: str):
    import torch.utils.data as tud

    shuffle = order == "shuffle"
    p = fmt_path(fmt)
    kw = dict(batch_size=BATCH, num_workers=workers, collate_fn=keep_picklable if workers else keep)
    if fmt.startswith("hexz-"):
        import hexz

        ds = hexz.Dataset(str(p))
        if variant == "sampler":
            return tud.DataLoader(ds, sampler=ds.sampler(shuffle=shuffle, seed=0), **kw)
        if variant == "window":
            return tud.DataLoader(ds, sampler=WindowShuffle(len(ds)), **kw)
        return tud.DataLoader(ds, shuffle=shuffle, **kw)
    if fmt == "files":
        return tud.DataLoader(FilesDataset(p, N), shuffle=shuffle, **kw)
    if fmt == "webdataset":
        import webdataset as wds

        urls = sorted(str(u) for u in p.glob("shard-*.tar"))
        ds = wds.WebDataset(urls, shardshuffle=len(urls) if shuffle else False, empty_check=False, seed=0)
        if shuffle:
            ds = ds.shuffle(1000)
        return tud.DataLoader(ds.map(_wds_bin), **kw)
    if fmt == "mds":
        from streaming import StreamingDataset
        from streaming.base.util import clean_stale_shared_memory

        clean_stale_shared_memory()
        ds = StreamingDataset(local=str(p), shuffle=shuffle, batch_size=BATCH, shuffle_seed=0)
        return tud.DataLoader(ds, **kw)
    if fmt == "litdata":
        import litdata

        ds = litdata.StreamingDataset(str(p), shuffle=shuffle, seed=0)
        return litdata.StreamingDataLoader(ds, **kw)
    raise ValueError(fmt)


class RssPeak:
    """Samples the RSS of this process and its children (summed) on a thread."""

    def __init__(self, every: float = 0.05) -> None:
        import psutil

        self.proc = psutil.Process()
        self.peak = 0
        self.every = every
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def sample(self) -> None:
        import psutil

        total = 0
        procs = [self.proc]
        try:
            procs += self.proc.children(recursive=True)
        except psutil.Error:
            pass
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        self.peak = max(self.peak, total)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.sample()

    def stop(self) -> int:
        self.sample()
        self._stop.set()
        self._t.join()
        return self.peak


def warm(p: Path) -> None:
    files = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file())
    buf = bytearray(8 << 20)
    for f in files:
        with open(f, "rb", buffering=0) as fh:
            while fh.readinto(buf):
                pass


def run_read(cfg: dict) -> dict:
    import resource

    import importlib

    import torch.utils.data  # noqa: F401  (imports are not timed)

    fmt, workers, order, variant = cfg["fmt"], cfg["workers"], cfg["order"], cfg["variant"]
    mod = {"webdataset": "webdataset", "mds": "streaming", "litdata": "litdata"}.get(fmt, "hexz")
    importlib.import_module(mod)
    warm(fmt_path(fmt))
    rss = RssPeak()
    t_open = time.perf_counter()
    loader = make_loader(fmt, workers, order, variant)
    t0 = time.perf_counter()
    open_s = t0 - t_open
    n = b = 0
    first = None
    capped = False
    for batch in loader:
        if first is None:
            first = time.perf_counter() - t0
        n += len(batch)
        b += sum(nbytes(x) for x in batch)
        if time.perf_counter() - t0 > EPOCH_S:
            capped = True
            break
    dt = time.perf_counter() - t0
    peak = rss.stop()
    del loader
    self_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        **cfg,
        "samples": n,
        "bytes": b,
        "seconds": dt,
        "first_batch_s": first,
        "open_s": open_s,
        "capped": capped,
        "samples_s": n / dt,
        "mb_s": b / dt / 1e6,
        "peak_rss": max(peak, self_max),
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
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
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

    import hexz

    v = {"python": platform.python_version(), "hexz": hexz.__version__}
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--", "crates"], capture_output=True, text=True, check=False
    )
    if head.returncode == 0:
        v["hexz"] += f" (commit {head.stdout.strip()}{', crates/ modified' if dirty.stdout.strip() else ''})"
    for pkg in ("torch", "numpy", "webdataset", "mosaicml-streaming", "litdata"):
        try:
            v[pkg] = version(pkg)
        except Exception:
            v[pkg] = "?"
    return v


def machine() -> str:
    def sh(cmd: str) -> str:
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
        except Exception:
            return ""

    model = sh("lscpu | sed -n 's/^Model name: *//p'") or platform.processor()
    mem = sh("free -h | awk '/^Mem:/ {print $2}'")
    return f"{os.cpu_count()} vCPUs ({model}), {mem} RAM, Linux {platform.release()}"


def main() -> int:
    ensure_venv()
    try:
        import hexz  # noqa: F401
    except ImportError as e:
        log(f"cannot import hexz from {HEXZ_PY} ({e}): build it first with `make develop`")
        return 1
    bad = [f for f in FORMATS if f not in ALL_FORMATS]
    if bad:
        log(f"unknown formats {bad}; choose from {ALL_FORMATS}")
        return 2
    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = os.getloadavg()
    t_start = time.perf_counter()
    import numpy as np  # noqa: F401

    log(f"data set: {N} samples of {MIN}-{MAX} bytes in {data_dir()}")
    make_data()
    payload = total_bytes()
    ver = versions()

    # Build (or reuse) every format.
    builds = {}
    cache_file = data_dir() / "builds.json"
    cached = json.loads(cache_file.read_text()) if cache_file.exists() and not REBUILD else {}
    for fmt in FORMATS:
        key = f"{fmt} {ver.get('hexz') if fmt.startswith('hexz') else ver.get(fmt, '')}"
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

    # Read configurations.
    configs = []
    for fmt in FORMATS:
        if "error" in builds[fmt]:
            continue
        for order in ("shuffle", "seq"):
            for w in WORKERS:
                configs.append({"fmt": fmt, "workers": w, "order": order, "variant": "dataloader"})
                if fmt.startswith("hexz-"):
                    configs.append({"fmt": fmt, "workers": w, "order": order, "variant": "sampler"})
                    if order == "shuffle":
                        configs.append({"fmt": fmt, "workers": w, "order": order, "variant": "window"})
    results = []
    for cfg in configs:
        res = stage("read", cfg)
        results.append(res)
        if "error" in res:
            continue
        log(
            f"read {cfg['fmt']:<10} {cfg['order']:<7} w={cfg['workers']} {cfg['variant']:<10} "
            f"{res['samples_s']:>9,.0f} samples/s {res['mb_s']:>7,.0f} MB/s "
            f"rss {res['peak_rss'] / 2**20:>6,.0f} MiB ({res['samples']} samples, {res['seconds']:.1f} s)"
        )
    read_at = stage("read_at", {}) if "hexz-lz4" in FORMATS and "error" not in builds["hexz-lz4"] else None
    elapsed = time.perf_counter() - t_start

    load = (load_start, os.getloadavg())
    md = report(builds, results, read_at, payload, ver, started, elapsed, load)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "loader.md").write_text(md)
    (OUT / "loader.json").write_text(
        json.dumps({"builds": builds, "reads": results, "read_at": read_at, "versions": ver}, indent=1)
    )
    print(md)
    log(f"wrote {OUT / 'loader.md'}")
    if RECORD:
        record(md)
        log(f"appended the results to {ROOT / 'docs' / 'benchmarks.md'} under {DOC_HEADING!r}")
    else:
        log("not recorded in docs/benchmarks.md (LOADER_BENCH_RECORD=1 to record a reduced run)")
    return 0


# --- report --------------------------------------------------------------------------------


def _row_name(r: dict) -> str:
    name = LABEL[r["fmt"]]
    if r["variant"] == "sampler":
        name += ", `sampler=ds.sampler()`"
    elif r["variant"] == "window":
        name += ", windowed shuffle†"
    return name


def report(builds, results, read_at, payload, ver, started, elapsed, load=None) -> str:
    ok = [r for r in results if "error" not in r]
    cmd = "make bench-loader"
    env_bits = []
    if N != 200000:
        env_bits.append(f"LOADER_BENCH_SAMPLES={N}")
    if (MIN, MAX) != (4096, 16384):
        env_bits.append(f"LOADER_BENCH_MIN={MIN} LOADER_BENCH_MAX={MAX}")
    if WORKERS != [0, 2]:
        env_bits.append(f"LOADER_BENCH_WORKERS={','.join(map(str, WORKERS))}")
    if FORMATS != ALL_FORMATS:
        env_bits.append(f"LOADER_BENCH_FORMATS={','.join(FORMATS)}")
    if env_bits:
        cmd = " ".join(env_bits) + " " + cmd
    lines = []
    a = lines.append
    a(f"### Run of {started:%Y-%m-%d %H:%M} UTC")
    a("")
    a(f"- Command: `{cmd}` (script: `benchmarks/loader_bench.py`), {elapsed / 60:.0f} min in all.")
    a(f"- Machine: {machine()}; shared with other engineers' builds and tests while this ran, so")
    a("  absolute figures are noisy; rows were measured one after another in one run.")
    if load:
        a(f"  Load average (1 min) {load[0][0]:.1f} at the start, {load[1][0]:.1f} at the end.")
    a("- Versions: " + ", ".join(f"{k} {v}" for k, v in ver.items()) + ".")
    a(
        f"- Data set: {N:,} samples, sizes uniform {MIN:,}–{MAX:,} bytes ({payload / 1e9:.2f} GB of"
        " payload), random but compressible (each 256-byte row is 128 random bytes written twice)."
    )
    a(
        f"- Reads: one epoch, `DataLoader(batch_size={BATCH}, collate_fn=<list of samples>)`, page cache warm"
        " (every file read once first), each configuration in a fresh process; samples/s and MB/s"
        " (payload) include starting the workers; peak RSS is the process tree's (main + workers, summed,"
        " so pages shared by forked workers count twice)."
    )
    a(
        "- Shuffle: map-style datasets (Hexz, plain files) with `shuffle=True` (a full random permutation);"
        " Hexz's `sampler=` rows use `dataset.sampler(shuffle=...)`; WebDataset (iterable only) with"
        " `shardshuffle` over its shards plus a 1000-sample shuffle buffer; MDS and LitData with their own"
        " `shuffle=True`. Sequential: no shuffling anywhere."
    )
    a("")
    a("#### Pack / convert")
    a("")
    a("| Format | Time (s) | Samples/s | On disk (MiB) | vs payload | Peak RSS (MiB) |")
    a("|---|---:|---:|---:|---:|---:|")
    for fmt in FORMATS:
        bld = builds.get(fmt, {})
        if "error" in bld or not bld:
            a(f"| {LABEL[fmt]} | failed: {bld.get('error', '?')} | | | | |")
            continue
        a(
            f"| {LABEL[fmt]} | {bld['pack_s']:.1f} | {N / bld['pack_s']:,.0f} | {bld['disk_bytes'] / 2**20:,.0f}"
            f" | {bld['disk_bytes'] / payload:.2f}x | {bld.get('peak_rss', 0) / 2**20:,.0f} |"
        )
    a("")
    a("Hexz packs with `Writer(compression=...)` + `add_records` (compression on every core); LitData's")
    a("`optimize` runs one worker per core; the others write from one Python process.")
    a("")

    def best(pred):
        rows = [r for r in ok if pred(r)]
        return max(rows, key=lambda r: r["samples_s"]) if rows else None

    for order, title in (("shuffle", "Shuffled"), ("seq", "Sequential")):
        a(f"#### Reads, {title.lower()}")
        a("")
        a("| Format | num_workers | Samples/s | MB/s | Peak RSS (MiB) | × best peer | × plain files |")
        a("|---|---:|---:|---:|---:|---:|---:|")
        for w in WORKERS:
            bp = best(lambda r: r["fmt"] in PEERS and r["workers"] == w and r["order"] == order)
            pf = best(lambda r: r["fmt"] == "files" and r["workers"] == w and r["order"] == order)
            for r in results:
                if r.get("order") != order or r.get("workers") != w:
                    continue
                if "error" in r:
                    a(f"| {_row_name(r)} | {w} | failed: {r['error'][:80]} | | | | |")
                    continue
                xp = f"{r['samples_s'] / bp['samples_s']:.2f}x" if bp else "–"
                xf = f"{r['samples_s'] / pf['samples_s']:.2f}x" if pf else "–"
                note = " (capped)" if r.get("capped") else ""
                if r["samples"] != N and not r.get("capped"):
                    note += f" ({r['samples']:,} samples)"
                a(
                    f"| {_row_name(r)}{note} | {w} | {r['samples_s']:,.0f} | {r['mb_s']:,.0f}"
                    f" | {r['peak_rss'] / 2**20:,.0f} | {xp} | {xf} |"
                )
        a("")
        a(
            "× best peer: against the fastest of WebDataset, MDS and LitData with the same order and"
            " num_workers; × plain files: against plain files with the same order and num_workers."
        )
        if order == "shuffle":
            a("")
            a(
                "† A sampler defined in the benchmark, not in hexz: windows of 512 consecutive samples in"
                " random order, shuffled within groups of 8 windows (a 4096-sample buffer), about what"
                " LitData's and MDS's `shuffle=True` do (they shuffle chunk order and within a few chunks;"
                " WebDataset shuffles shards and a 1000-sample buffer). Hexz's own rows and plain files"
                " draw a full random permutation, which is a stronger shuffle and costs a block decode"
                " per sample (64 KiB blocks, 4–16 KB samples)."
            )
        a("")

    if read_at:
        a("#### `Reader.read_at` of 4 KiB (Hexz LZ4 archive), per call")
        a("")
        a("| Case | p50 (µs) | p99 (µs) | mean (µs) |")
        a("|---|---:|---:|---:|")
        cases = (
            ("reader", "`Reader.read_at`, block cache warm (random offsets in 16 MiB)"),
            ("native", "same offsets, the native method alone (`Reader._check().read_at`)"),
            ("uncached", "`Reader.read_at`, random offsets over the whole archive (LZ4 block decode)"),
        )
        for key, text in cases:
            s = read_at[key]
            a(f"| {text} | {s['p50_us']:.2f} | {s['p99_us']:.2f} | {s['mean_us']:.2f} |")
        a("")
        a(
            f"{read_at['calls']:,} calls (20,000 for the uncached row), each timed alone with"
            f" `time.perf_counter_ns` (about {read_at['timer_overhead_us'] * 1000:.0f} ns of that is the"
            " timer and the loop)."
        )
        a("")

    # Goals.
    a("#### Goals")
    a("")
    hz_sh = best(
        lambda r: r["fmt"].startswith("hexz") and r["order"] == "shuffle" and r["variant"] != "window"
    )
    peer_sh = best(lambda r: r["fmt"] in PEERS and r["order"] == "shuffle")
    if hz_sh and peer_sh:
        x = hz_sh["samples_s"] / peer_sh["samples_s"]
        a(
            f"- Shuffled samples/s ≥ 1.5× the best peer: **{'met' if x >= 1.5 else 'missed'}** — best Hexz"
            f" {hz_sh['samples_s']:,.0f}/s ({_row_name(hz_sh)}, num_workers={hz_sh['workers']}) vs best peer"
            f" {peer_sh['samples_s']:,.0f}/s ({_row_name(peer_sh)}, num_workers={peer_sh['workers']}): {x:.2f}x."
        )
        for w in WORKERS:
            h = best(
                lambda r: (
                    r["fmt"].startswith("hexz")
                    and r["order"] == "shuffle"
                    and r["workers"] == w
                    and r["variant"] != "window"
                )
            )
            p = best(lambda r: r["fmt"] in PEERS and r["order"] == "shuffle" and r["workers"] == w)
            if h and p:
                a(
                    f"  - num_workers={w}: Hexz {h['samples_s']:,.0f}/s ({_row_name(h)}) vs {_row_name(p)}"
                    f" {p['samples_s']:,.0f}/s: {h['samples_s'] / p['samples_s']:.2f}x."
                )
        hw = best(
            lambda r: r["fmt"].startswith("hexz") and r["order"] == "shuffle" and r["variant"] == "window"
        )
        if hw:
            x = hw["samples_s"] / peer_sh["samples_s"]
            a(
                f"  - With a shuffle as local as the peers' (windowed shuffle†, not a hexz feature): best"
                f" {hw['samples_s']:,.0f}/s ({_row_name(hw)}, num_workers={hw['workers']}): {x:.2f}x the best peer."
            )
    for w in WORKERS:
        pf = best(lambda r: r["fmt"] == "files" and r["order"] == "seq" and r["workers"] == w)
        if not pf:
            continue
        for fmt in ("hexz-lz4", "hexz-zstd"):
            h = best(
                lambda r: (
                    r["fmt"] == fmt
                    and r["order"] == "seq"
                    and r["workers"] == w
                    and r["variant"] == "dataloader"
                )
            )
            if h:
                x = h["samples_s"] / pf["samples_s"]
                a(
                    f"- Sequential no worse than plain files ({LABEL[fmt]}, num_workers={w},"
                    f" `shuffle=False`): **{'met' if x >= 1.0 else 'missed'}** — {h['samples_s']:,.0f}/s vs"
                    f" {pf['samples_s']:,.0f}/s: {x:.2f}x."
                )
    if read_at:
        p50 = read_at["reader"]["p50_us"]
        a(
            f"- `read_at` 4 KiB warm p50 ≤ 5 µs: **{'met' if p50 <= 5 else 'missed'}** — p50"
            f" {p50:.2f} µs, p99 {read_at['reader']['p99_us']:.2f} µs."
        )
    a("")
    return "\n".join(lines) + "\n"


def record(md: str) -> None:
    """Adds this run to docs/benchmarks.md, at the end of the "Python loader" section."""
    doc = ROOT / "docs" / "benchmarks.md"
    if doc.exists():
        text = doc.read_text()
    else:
        text = "# Benchmarks\n\n## Machine\n\n" + machine_section() + "\n"
    intro = (
        f"{DOC_HEADING}\n\n"
        "`make bench-loader` (`benchmarks/loader_bench.py`) packs one synthetic data set into Hexz\n"
        "archives (LZ4, Zstd), plain files, WebDataset shards, MosaicML MDS shards and LitData chunks,\n"
        "then reads each through `torch.utils.data.DataLoader` (batch 64, num_workers 0 and 2, shuffled\n"
        "and sequential). Goals from issue 3: shuffled samples/s at least 1.5x the best peer; sequential\n"
        "no worse than plain files; `Reader.read_at` of 4 KiB, warm, p50 at most 5 µs. Each run is\n"
        "appended below, misses included.\n\n"
    )
    body = md.rstrip() + "\n"
    if DOC_HEADING not in text:
        text = text.rstrip() + "\n\n" + intro + body
    else:
        start = text.index(DOC_HEADING)
        nxt = text.find("\n## ", start + len(DOC_HEADING))
        if nxt == -1:
            text = text.rstrip() + "\n\n" + body
        else:
            text = text[:nxt].rstrip() + "\n\n" + body + text[nxt:]
    doc.write_text(text)


def machine_section() -> str:
    def sh(cmd: str) -> str:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.rstrip()

    return "```\n$ nproc\n{}\n$ lscpu | head\n{}\n$ free -h\n{}\n```\n".format(
        sh("nproc"), sh("lscpu | head"), sh("free -h")
    )


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--stage":
        stage_main(sys.argv[2], json.loads(sys.argv[3]) if len(sys.argv) > 3 else {})
    else:
        sys.exit(main())
