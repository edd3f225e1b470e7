"""Item 5 of the remote-archive benchmark (``remote_bench.py``): ``torch.utils.data.DataLoader``
epochs from S3 (s3s-fs behind ``hexz-faultproxy --latency-ms N --stats-every 1``) over
loader_bench.py's data set, put in S3 in each format (Hexz, WebDataset, one object per sample,
MDS, LitData); each configuration runs as the ``loader`` stage in a fresh process, which counts
the proxy's requests and bytes, the order yielded, CPU, PSS and local disk for two epochs.
"""

# Docstrings, section rules and log lines keep their long lines.
# ruff: noqa: E501

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import measure
from remote_config import (
    AWS_ENV,
    BATCH,
    BUCKET,
    EPOCH_S,
    HEXZ_S3_VARIANTS,
    LATENCY_MS,
    ORDERS,
    SAMPLES,
    WORKERS,
    log,
    mib,
)
from remote_data import s3_client, upload
from remote_reads import run_stage
from remote_servers import Server, s3_fs_version

# --- item 5: DataLoader from S3 (s3s-fs behind the latency proxy) ----------------------------


def loader_module():
    os.environ["LOADER_BENCH_SAMPLES"] = str(SAMPLES)
    import loader_bench

    return loader_bench


# The local benchmark's formats, in S3: Hexz (LZ4, Zstd, and the incompressible variant),
# WebDataset shards, one object per sample (plain files), MDS and LitData.
S3_KEYS = {
    "hexz-lz4": "loader/hexz-lz4.hxz",
    "hexz-zstd": "loader/hexz-zstd.hxz",
    "hexz-raw": "loader/hexz-raw.hxz",
    "webdataset": "wds",
    "files": "files",
    "mds": "mds",
    "litdata": "litdata",
}
S3_FORMATS = tuple(
    f.strip()
    for f in os.environ.get("REMOTE_BENCH_FORMATS", ",".join(S3_KEYS)).split(",")
    if f.strip()
)


def loader_data(endpoint: str, s3_root: Path) -> dict:
    """Builds (or reuses) loader_bench's data set in every S3 format and puts it in the S3
    server: the Hexz archives with one PUT each (so s3s-fs stores the ETag that Hexz pins and
    keys its cache by), the peers' files hard-linked into s3s-fs's directory (its objects are
    files there, and their readers need no stored ETag): 200,000 PUTs of plain files would take
    longer than the benchmark, and copies of 8 GB of peer data would fill the page cache and
    the disk with writes while the first rows are timed."""
    lb = loader_module()
    lb.make_data()
    lb.FORMATS = list(S3_FORMATS)
    lb.build_all(lb.versions())
    keys = {fmt: S3_KEYS[fmt] for fmt in S3_FORMATS}
    sizes = {}
    s3_client(endpoint).create_bucket(Bucket=BUCKET)
    for fmt, key in keys.items():
        t0 = time.perf_counter()
        if not fmt.startswith("hexz-"):
            subprocess.run(
                ["cp", "-al", str(lb.fmt_path(fmt)), str(s3_root / BUCKET / key)],
                check=True,
            )
        else:
            upload(endpoint, lb.fmt_path(fmt), key, single_put=True)
        sizes[fmt] = lb.disk_bytes(lb.fmt_path(fmt))
        log(
            f"put {fmt} ({sizes[fmt] / 2**20:,.0f} MiB) in s3://{BUCKET}/{key}"
            f" in {time.perf_counter() - t0:.1f} s"
        )
    return {
        "keys": keys,
        "sizes": sizes,
        "payload": lb.total_bytes(),
        "dir": str(lb.data_dir()),
    }


class S3FilesDataset:
    """One S3 object per sample, one GET each (a boto3 client per process): plain files in a
    bucket, read the way a map-style dataset over them reads."""

    def __init__(self, endpoint: str, prefix: str, n: int) -> None:
        self.endpoint, self.prefix, self.n = endpoint, prefix, n
        self._client = None
        self._pid = None

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> bytes:
        if self._client is None or self._pid != os.getpid():
            self._client, self._pid = s3_client(self.endpoint), os.getpid()
        key = f"{self.prefix}/{i // 1000:04d}/{i:08d}.bin"
        return self._client.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_client": None, "_pid": None}


def wds_s3_urls(endpoint: str, prefix: str, local: Path) -> list[str]:
    """WebDataset's usual way to read shards from S3, a pipe per shard (here curl, signing
    with SigV4 as ``aws s3 cp`` would)."""
    user = f"{AWS_ENV['AWS_ACCESS_KEY_ID']}:{AWS_ENV['AWS_SECRET_ACCESS_KEY']}"
    return [
        f"pipe:curl -sSf --aws-sigv4 aws:amz:us-east-1:s3 --user {user}"
        " -H x-amz-content-sha256:UNSIGNED-PAYLOAD"
        f" {endpoint}/{BUCKET}/{prefix}/{shard.name}"
        for shard in sorted(local.glob("shard-*.tar"))
    ]


def du(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.exists() else 0


def proxy_counters(log_path: str) -> dict:
    """The newest ``Stats { requests: .., bytes_down: .. }`` line of ``hexz-faultproxy
    --stats-every 1`` (printed each second: call after a pause of more than a second)."""
    text = Path(log_path).read_text(errors="replace")
    found = re.findall(r"Stats \{([^}]*)\}", text)
    if not found:
        return {"requests": 0, "bytes_down": 0}
    return {k: int(v) for k, v in re.findall(r"(\w+): (\d+)", found[-1])}


def s3_loader(cfg: dict, local: Path):
    """``(DataLoader, Hexz Dataset or None)`` of one configuration reading from S3."""
    lb = loader_module()
    fmt, workers, variant = cfg["fmt"], cfg["workers"], cfg["variant"]
    endpoint, url = cfg["endpoint"], f"s3://{BUCKET}/{cfg['key']}"
    shuffle = cfg["order"] == "shuffle"
    kw = dict(batch_size=BATCH, num_workers=workers, collate_fn=lb.peer_collate(workers))
    if lb.is_hexz(fmt):
        open_kw = {"endpoint": endpoint}
        if variant.endswith("-cache"):
            open_kw["cache_dir"] = str(local)
        return lb.hexz_loader(url, workers, variant.removesuffix("-cache"), **open_kw)
    if fmt == "mds":
        import torch.utils.data as tud

        os.environ["S3_ENDPOINT_URL"] = endpoint
        from streaming import StreamingDataset
        from streaming.base.util import clean_stale_shared_memory

        clean_stale_shared_memory()
        ds = StreamingDataset(
            remote=url,
            local=str(local),
            shuffle=shuffle,
            batch_size=BATCH,
            shuffle_seed=0,
        )
        return tud.DataLoader(ds, **kw), None
    if fmt == "files":
        import torch.utils.data as tud

        return tud.DataLoader(
            S3FilesDataset(endpoint, cfg["key"], SAMPLES), shuffle=shuffle, **kw
        ), None
    if fmt == "webdataset":
        import torch.utils.data as tud
        import webdataset as wds

        urls = wds_s3_urls(endpoint, cfg["key"], lb.fmt_path(fmt))
        ds = wds.WebDataset(
            urls,
            shardshuffle=len(urls) if shuffle else False,
            empty_check=False,
            seed=0,
        )
        if shuffle:
            ds = ds.shuffle(1000)
        return tud.DataLoader(ds.map(lb._wds_bin), **kw), None
    if fmt == "litdata":
        import litdata
        from litdata.streaming import downloader

        # LitData fetches chunks with obstore, whose client refuses plain http:// unless told;
        # its boto3 client (index.json) takes the endpoint from storage_options.
        downloader._OBSTORE_CLIENT_OPTIONS = {
            **downloader._OBSTORE_CLIENT_OPTIONS,
            "allow_http": True,
        }
        ds = litdata.StreamingDataset(
            url,
            cache_dir=str(local),
            storage_options={"endpoint_url": endpoint},
            shuffle=shuffle,
            seed=0,
        )
        return litdata.StreamingDataLoader(ds, **kw), None
    raise ValueError(fmt)


def stage_loader(cfg: dict) -> dict:
    """Two epochs of one DataLoader configuration from S3, in this fresh process."""
    import importlib

    lb = loader_module()
    importlib.import_module(lb.peer_module(cfg["fmt"]))
    import torch.utils.data  # noqa: F401  (imports are not timed)

    local = Path(tempfile.mkdtemp(prefix=f"hexz-remote-{cfg['fmt']}-", dir=cfg["tmp"]))
    time.sleep(1.2)
    c0 = proxy_counters(cfg["proxy_log"])
    mon = measure.TreeMonitor().start()
    t_open = time.perf_counter()
    try:
        loader, _ds = s3_loader(cfg, local)
    except lb.Skip as e:
        mon.stop()
        return {**cfg, "skipped": str(e)}
    open_s = time.perf_counter() - t_open
    epochs = []
    for k in (1, 2):
        if k == 2:
            mon = measure.TreeMonitor().start()
        ep = lb.epoch(loader, EPOCH_S)
        usage = mon.stop()
        time.sleep(1.2)  # the proxy prints its counters each second
        c1 = proxy_counters(cfg["proxy_log"])
        fetched = c1["bytes_down"] - c0["bytes_down"]
        dt = ep["seconds"]
        epochs.append(
            {
                "epoch": k,
                **{key: v for key, v in ep.items() if key != "order"},
                **lb.order_summary(ep["order"], SAMPLES, ep["capped"]),
                **usage,
                "first_batch_total_s": (open_s if k == 1 else 0.0) + (ep["first_batch_s"] or dt),
                "samples_s": ep["samples"] / dt if dt else 0.0,
                "mb_s": ep["bytes"] / dt / 1e6 if dt else 0.0,
                "requests": c1["requests"] - c0["requests"],
                "fetched_bytes": fetched,
                "fetched_ratio": fetched / ep["bytes"] if ep["bytes"] else None,
                "local_bytes": du(local),
            }
        )
        c0 = c1
    del loader
    shutil.rmtree(local, ignore_errors=True)
    return {**cfg, "open_s": open_s, "epochs": epochs}


def s3_configs() -> list[tuple]:
    """(fmt, order, variant) of the S3 rows: Hexz with a block shuffle, without and with a
    local cache (``cache_dir=``), and the peers with their own shuffle (their local cache is how
    they read at all)."""
    out = []
    for order in ORDERS:
        hv = HEXZ_S3_VARIANTS if order == "shuffle" else ["seq-sampler", "seq-sampler-cache"]
        for fmt in S3_FORMATS:
            if fmt.startswith("hexz-"):
                out += [(fmt, order, v) for v in hv]
            else:
                out.append((fmt, order, "peer"))
    return out


def bench_loader(s3: Server, proxy: Server, tmp: Path, s3_root: Path) -> dict:
    data = loader_data(f"http://127.0.0.1:{s3.port}", s3_root)
    results = []
    for fmt, order, variant in s3_configs():
        for w in WORKERS:
            cfg = {
                "fmt": fmt,
                "workers": w,
                "order": order,
                "variant": variant,
                "endpoint": f"http://127.0.0.1:{proxy.port}",
                "key": data["keys"][fmt],
                "proxy_log": str(proxy.log),
                "tmp": str(tmp),
            }
            try:
                res = run_stage("loader", cfg, timeout=2 * EPOCH_S + 900)
            except RuntimeError as e:
                log(str(e))
                res = {**cfg, "error": str(e)}
            results.append(res)
            log_loader(res)
    return {
        "data": data,
        "samples": SAMPLES,
        "latency_ms": LATENCY_MS,
        "server": s3_fs_version(),
        "results": results,
    }


def log_loader(r: dict) -> None:
    cfg = f"{r['fmt']:<8} {r['order']:<7} w={r['workers']} {r['variant']:<18}"
    if "skipped" in r:
        log(f"loader {cfg} skipped: {r['skipped']}")
    elif "epochs" in r:
        log(
            f"loader {cfg} "
            + "; ".join(
                f"epoch {e['epoch']} {e['samples_s']:,.0f}/s,"
                f" first batch {e['first_batch_total_s']:.2f} s, {e['requests']} req,"
                f" fetched {e['fetched_ratio'] or 0:.2f}x, local {mib(e['local_bytes'])} MiB,"
                f" {measure.describe_epoch(e['epoch_check'], e['capped'])}"
                for e in r["epochs"]
            )
        )
