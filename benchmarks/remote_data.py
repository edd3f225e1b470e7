"""The data the remote-archive benchmark (``remote_bench.py``) serves: the ~1 GB LZ4 archive of
items 1-4 (packed once from ``make bench``'s ext4 image and file tree, or a raw prefix of the
image with REMOTE_BENCH_MB), and putting files into an S3 server with boto3 (``s3_client``,
``upload``).
"""

# Long f-strings (the archive's cache key and description) keep their lines.
# ruff: noqa: E501

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from remote_config import AWS_ENV, BENCH_DATA, BUCKET, DATA, HEXZ, MB, log

# --- data ----------------------------------------------------------------------------------


def hexz_run(args: list, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(HEXZ), *map(str, args)], check=True, **kw)


def make_archive() -> tuple[Path, dict]:
    """The ~1 GB LZ4 archive (cached), and what it holds."""
    DATA.mkdir(parents=True, exist_ok=True)
    img, tree = BENCH_DATA / "ext4.img", BENCH_DATA / "tree"
    if not img.exists() or (not MB and not tree.is_dir()):
        raise SystemExit(
            f"remote-bench: {img} and {tree} are missing: run `make bench` once (it builds them), "
            "or `benchmarks/pack_read.sh`"
        )
    if MB:
        raw = DATA / f"image-{MB}mb.raw"
        arch = DATA / f"image-{MB}mb.hxz"
        want = int(MB * 2.9 * 2**20)
        key = f"raw prefix {want} of {img} ({img.stat().st_size} bytes, mtime {img.stat().st_mtime_ns})"
        src_desc = f"the first {want / 2**20:,.0f} MiB of the ext4 image (`--raw`)"
    else:
        src = DATA / "src"
        arch = DATA / "x.hxz"
        key = f"dir {img} ({img.stat().st_size}, {img.stat().st_mtime_ns}) + {tree} ({(BENCH_DATA / 'tree.stamp').read_text().strip() if (BENCH_DATA / 'tree.stamp').exists() else '?'})"
        src_desc = (
            "a directory holding the ext4 image of `make bench` and the file tree it was made from"
            " (hard links to `~/.cache/hexz/bench/ext4.img` and `~/.cache/hexz/bench/tree`)"
        )
    stamp = arch.with_suffix(".stamp")
    if not (arch.exists() and stamp.exists() and stamp.read_text() == key):
        log(f"packing {arch} (LZ4) from {src_desc}")
        if MB:
            with open(img, "rb") as fi, open(raw, "wb") as fo:
                left = want
                while left:
                    b = fi.read(min(left, 8 << 20))
                    if not b:
                        break
                    fo.write(b)
                    left -= len(b)
            hexz_run(["pack", "-q", "--raw", raw, arch])
            raw.unlink()
        else:
            if src.exists():
                shutil.rmtree(src)
            src.mkdir()
            os.link(img, src / "ext4.img")
            subprocess.run(["cp", "-al", str(tree), str(src / "tree")], check=True)
            hexz_run(["pack", "-q", src, arch])
        stamp.write_text(key)
    info = hexz_run(["inspect", arch], capture_output=True, text=True).stdout
    logical = int(re.search(r"logical size .*\((\d+) bytes\)", info).group(1))
    meta = {
        "path": str(arch),
        "bytes": arch.stat().st_size,
        "logical": logical,
        "source": src_desc,
        "inspect": info,
    }
    for k in ("blocks", "codecs"):
        m = re.search(rf"^{k}\s+(.*)$", info, re.M)
        if m:
            meta[k] = m.group(1).strip()
    return arch, meta


def s3_client(endpoint: str):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )


def upload(endpoint: str, local: Path, key: str, single_put: bool = False) -> None:
    """Uploads a file, or every file under a directory (keys KEY/relative/path); with
    ``single_put``, one PUT per file (no multipart upload), up to 5 GB."""
    from boto3.s3.transfer import TransferConfig

    conf = TransferConfig(multipart_threshold=5 << 30) if single_put else None
    s3 = s3_client(endpoint)
    with contextlib.suppress(Exception):
        s3.create_bucket(Bucket=BUCKET)
    files = (
        [(local, key)]
        if local.is_file()
        else [
            (f, f"{key}/{f.relative_to(local).as_posix()}")
            for f in sorted(local.rglob("*"))
            if f.is_file()
        ]
    )
    for f, k in files:
        s3.upload_file(str(f), BUCKET, k, Config=conf)
